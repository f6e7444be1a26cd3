package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/httppub"
	"github.com/vernemq-go/vernemq/pkg/listener"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// httpListener is one listener.http(s).<name>.
type httpListener struct {
	cfg    config.Listener
	addr   net.Addr
	capped *capListener
	kp     *listener.KeyPair // https: its certificate, read again when the files change
}

// httpsListeners are the https listeners (each with its certificate's KeyPair).
func (w *httpListeners) httpsListeners() []httpListener {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []httpListener
	for _, l := range w.list {
		if l.kp != nil {
			out = append(out, l)
		}
	}
	return out
}

// httpListeners are the running HTTP listeners, for listener show.
type httpListeners struct {
	mu   sync.Mutex
	list []httpListener
}

func (w *httpListeners) infos() []admin.ListenerInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []admin.ListenerInfo
	for _, l := range w.list {
		host, port, _ := net.SplitHostPort(l.addr.String())
		out = append(out, admin.ListenerInfo{Type: l.cfg.Type, Name: l.cfg.Name, Status: "running", Address: host, Port: port,
			Mountpoint: l.cfg.Mountpoint, MaxConns: l.cfg.MaxConnections, ActiveConns: int(l.capped.active.Load())})
	}
	return out
}

// startHTTP serves the HTTP modules enabled on each http/https listener.
func (n *Node) startHTTP(ctx context.Context, reg *admin.Registry, b *admin.Backend, keys *admin.KeyStore, web *httpListeners) error {
	n.registerLimitMetrics() // the MQTT listeners run by now; see metrics_extra.go
	for _, lc := range n.Cfg.Listeners() {
		if lc.Type != "http" && lc.Type != "https" {
			continue
		}
		name := "listener." + lc.Type + "." + lc.Name
		network := lc.Network
		if network == "" {
			network = "tcp"
		}
		ln, err := net.Listen(network, lc.Addr)
		if err != nil {
			return fmt.Errorf("%s: cannot bind %s: %w: pick a free port or stop what is using it", name, lc.Addr, err)
		}
		var kp *listener.KeyPair
		if lc.Type == "https" {
			if kp, err = listener.LoadKeyPair(lc.CertFile, lc.KeyFile); err != nil {
				ln.Close()
				return fmt.Errorf("%s: %w (check %s.certfile and .keyfile)", name, err, name)
			}
			ln = tls.NewListener(ln, &tls.Config{GetCertificate: kp.GetCertificate, MinVersion: tls.VersionTLS12})
		}
		capped := &capListener{Listener: ln, max: int64(lc.MaxConnections)}
		ln = capped
		srv := &http.Server{
			Handler:           n.httpMux(lc, reg, b, keys),
			ReadHeaderTimeout: httpReadHeaderTimeout,
			ReadTimeout:       httpReadTimeout,
			IdleTimeout:       httpIdleTimeout,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.Log.Error("http listener failed", "listener", name, "error", err)
			}
		}()
		web.mu.Lock()
		web.list = append(web.list, httpListener{cfg: lc, addr: ln.Addr(), capped: capped, kp: kp})
		n.Reg.Gauge("socket_refused_max_connections", "Connections refused because the listener's max_connections was reached.",
			map[string]string{"listener": lc.Type + "/" + lc.Name}).Func(func() int64 { return int64(capped.refused.Load()) })
		web.mu.Unlock()
		n.addCloser(func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return srv.Close() // a long request (trace) must not hold the stop
			}
			return nil
		})
		n.Log.Info("http listener started", "type", lc.Type, "name", lc.Name, "address", ln.Addr().String(), "modules", n.httpModules(lc))
	}
	return nil
}

func (n *Node) httpModules(lc config.Listener) []string {
	if len(lc.HTTPModules) > 0 {
		return lc.HTTPModules
	}
	return n.Cfg.List("http_modules")
}

// httpAuthMode is listener.<type>.<name>.http_module.<module>.auth.mode, else
// http_module.<module>.auth.mode, else VerneMQ's default: apikey for the management
// API, noauth for metrics, status and health.
func (n *Node) httpAuthMode(lc config.Listener, module string) string {
	if mode, ok := n.Cfg.Raw("listener." + lc.Type + "." + lc.Name + ".http_module." + module + ".auth.mode"); ok && mode != "" {
		return mode
	}
	if mode, ok := n.Cfg.Raw("http_module." + module + ".auth.mode"); ok && mode != "" {
		return mode
	}
	if module == "vmq_http_mgmt_api" {
		return "apikey"
	}
	return "noauth"
}

// httpMux routes the modules of one listener: vmq_metrics_http (/metrics), vmq_http_mgmt_api
// (/api/v1), vmq_health_http (/health...), vmq_status_http (/status page, its assets and /status.json).
func (n *Node) httpMux(lc config.Listener, reg *admin.Registry, b *admin.Backend, keys *admin.KeyStore) http.Handler {
	mods := n.httpModules(lc)
	mux := http.NewServeMux()
	guard := func(module, scope string, h http.Handler) http.Handler {
		return admin.RequireKey(keys, scope, func() bool { return n.httpAuthMode(lc, module) == "apikey" }, h)
	}
	if slices.Contains(mods, "vmq_metrics_http") {
		mux.Handle("GET /metrics", guard("vmq_metrics_http", "metrics", admin.PrometheusHandler(admin.PromCollector{
			Reg: n.Reg, Namespace: n.Cfg.String("prometheus_namespace"), Node: n.Broker.Node()})))
	}
	if slices.Contains(mods, "vmq_http_mgmt_api") {
		needKey := func() bool { return n.httpAuthMode(lc, "vmq_http_mgmt_api") == "apikey" }
		mux.Handle(admin.APIPrefix, reg.APIHandler(keys, needKey))
	}
	if slices.Contains(mods, "vmq_health_http") {
		h := guard("vmq_health_http", "health", admin.HealthHandler(b))
		mux.Handle("GET /health", h)
		mux.Handle("GET /health/", h)
	}
	if slices.Contains(mods, "vmq_http_pub") {
		if n.Cfg.Bool("plugins.vmq_http_pub") {
			mux.Handle(httppub.Path, n.httpPub(lc, keys))
		} else {
			n.Log.Warn("http_modules lists vmq_http_pub but plugins.vmq_http_pub = off; not serving "+httppub.Path,
				"listener", lc.Type+"."+lc.Name)
		}
	}
	if slices.Contains(mods, "vmq_status_http") {
		mux.Handle("GET /status.json", guard("vmq_status_http", "status", admin.StatusJSONHandler(b)))
		page := guard("vmq_status_http", "status", admin.StatusPageHandler())
		mux.Handle("GET /status", page)
		mux.Handle("GET /status/", page)
	}
	return mux
}

// doneAcker tells a REST publish when its QoS 1/2 message is safe (broker.Acker).
type doneAcker func(error)

func (f doneAcker) PublishDone(_ uint16, _ byte, err error) { f(err) }

// httpPub is vmq_http_pub on one listener: its listener.<type>.<name>.http_modules.vmq_http_pub.*
// keys override the global vmq_http_pub.* ones.
func (n *Node) httpPub(lc config.Listener, keys *admin.KeyStore) http.Handler {
	opt := func(k string) string {
		if v, ok := n.Cfg.Raw("listener." + lc.Type + "." + lc.Name + ".http_modules.vmq_http_pub." + k); ok {
			return v
		}
		return n.Cfg.String("vmq_http_pub." + k)
	}
	cfg := httppub.Config{
		Mode: opt("mqtt_auth.mode"), User: opt("mqtt_auth.user"), Password: opt("mqtt_auth.password"),
		ClientID: opt("mqtt_auth.client_id"), Mountpoint: opt("mountpoint"),
		AllowAnonymous: func() bool { return n.Cfg.Bool("allow_anonymous") },
		MaxMessageSize: func() int { return int(n.Cfg.Bytes("max_message_size")) },
		Chain:          n.Auth,
		Publish: func(m *session.Message, done func(error)) {
			if m.QoS == 0 {
				n.Broker.Publish(m)
				done(nil)
				return
			}
			n.Broker.PublishFlow(m, broker.Ack{To: doneAcker(done), QoS: m.QoS})
		},
		HasSession: func(mp, id string) bool {
			return n.Broker.Session(topics.SubscriberID{Mountpoint: mp, ClientID: id}) != nil
		},
		Metrics: httppub.NewMetrics(n.Reg),
		Log:     n.Log.With("plugin", "vmq_http_pub", "listener", lc.Type+"."+lc.Name),
	}
	if mode, ok := n.Cfg.Raw("http_module.vmq_http_pub.auth.mode"); !ok || mode != "noauth" {
		cfg.KeyOK = func(key string) bool { return keys != nil && keys.Valid(key, "httppub", time.Now()) }
	}
	return httppub.Handler(cfg)
}
