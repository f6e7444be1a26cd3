package admin

import (
	"embed"
	"io/fs"
	"net/http"
	"time"
)

// staticFS holds the status page; everything is embedded so the page works without internet.
//
//go:embed static
var staticFS embed.FS

// LimitMetrics are the counters of limits that bite, summed over their labels on the status page.
var LimitMetrics = []string{
	"socket_refused_max_connections", "socket_proxy_header_error", "socket_tls_handshake_error",
	"mqtt_publish_throttled", "queue_message_drop", "queue_message_unhandled", "mqtt_invalid_msg_size_error",
	"mqtt_connack_sent_reason", "mqtt_puback_sent_reason", "mqtt_pubrec_sent_reason", "mqtt_disconnect_sent_reason",
	"mqtt_publish_auth_error", "mqtt_subscribe_auth_error", "client_keepalive_expired",
}

// StatusPageHandler serves GET /status (the page) and /status/<asset> (its script and style).
func StatusPageHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only our own embedded script and style run on the page.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		w.Header().Set("Cache-Control", "no-cache")
		switch r.URL.Path {
		case "/status":
			http.ServeFileFS(w, r, sub, "status.html")
		case "/status/":
			http.Redirect(w, r, "../status", http.StatusMovedPermanently) // keeps the page's relative links right
		default:
			r2 := r.Clone(r.Context())
			r2.URL.Path = r.URL.Path[len("/status"):]
			files.ServeHTTP(w, r2)
		}
	})
}

// nodeStatusJSON is one node's object of /status.json; status and listeners are the original
// fields, the rest was added for the status page (clients reading the old fields are unaffected).
type nodeStatusJSON struct {
	Status        NodeStatus         `json:"status"`
	Listeners     []ListenerInfo     `json:"listeners"`
	Cluster       []Member           `json:"cluster"`
	Limits        map[string]float64 `json:"limits"`
	UptimeSeconds float64            `json:"uptime_seconds"`
	TimestampMS   int64              `json:"timestamp_ms"` // when the figures were read, for rates
}

// StatusJSONHandler serves /status.json: a list with one object per node (this node), keyed by node name.
func StatusJSONHandler(b *Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []map[string]nodeStatusJSON{{b.NodeName: b.statusJSON()}})
	})
}

func (b *Backend) statusJSON() nodeStatusJSON {
	out := nodeStatusJSON{Status: b.Status(), Limits: map[string]float64{}, TimestampMS: time.Now().UnixMilli()}
	if b.Listeners != nil {
		out.Listeners = b.Listeners()
	}
	if out.Listeners == nil {
		out.Listeners = []ListenerInfo{}
	}
	out.Cluster = []Member{{Node: b.NodeName, Running: true}}
	if b.Cluster != nil {
		if ms := b.Cluster(); len(ms) > 0 {
			out.Cluster = ms
		}
	}
	if b.Uptime != nil {
		out.UptimeSeconds = b.Uptime().Seconds()
	}
	for _, name := range LimitMetrics {
		out.Limits[name] = 0
	}
	if b.Metrics != nil {
		for _, s := range b.Metrics.Snapshot() {
			if _, ok := out.Limits[s.Name]; ok {
				out.Limits[s.Name] += s.Value
			}
		}
	}
	return out
}
