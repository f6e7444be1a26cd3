package admin

import (
	"fmt"
	"net/http"
	"strings"
)

// isMQTTType tells MQTT listeners (which health checks) from HTTP ones.
func isMQTTType(t string) bool { return strings.HasPrefix(t, "mqtt") }

// HealthHandler serves /health, /health/ping, /health/listeners and
// /health/listeners_full_cluster: 200 {"status":"OK"}, or 503 {"status":"DOWN","reasons":[...]}.
func HealthHandler(b *Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health/ping":
			writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
			return
		case "/health", "/health/listeners", "/health/listeners_full_cluster":
		default:
			http.NotFound(w, r)
			return
		}
		var reasons []string
		if b.Listeners != nil {
			for _, l := range b.Listeners() {
				if isMQTTType(l.Type) && l.Status != "running" {
					reasons = append(reasons, fmt.Sprintf("listener %s %s (%s:%s) is %s", l.Type, l.Name, l.Address, l.Port, l.Status))
				}
			}
		}
		if r.URL.Path != "/health/listeners" && b.NotReady != nil {
			reasons = append(reasons, b.NotReady()...)
		}
		if r.URL.Path == "/health/listeners_full_cluster" && b.Cluster != nil {
			for _, m := range b.Cluster() {
				if !m.Running {
					reasons = append(reasons, "node "+m.Node+" is not running")
				}
			}
		}
		if len(reasons) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "DOWN", "reasons": reasons})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
	})
}
