package node

import (
	"github.com/vernemq-go/vernemq/pkg/listener"
)

// Limit metrics of the MQTT listeners, labelled listener="<type>/<name>" (e.g. "tcp/default"):
//
//	socket_refused_max_connections  connections closed at accept because max_connections was reached
//	socket_proxy_header_error       connections closed because their PROXY protocol header was bad or late
//	socket_tls_handshake_error      TLS handshakes that failed or timed out (ssl, wss)
//
// They read the listener's own monotonic counters when exported, so they are registry gauges
// (the registry computes only gauges on read); they only grow while the listener lives.
var listenerLimitMetrics = []struct {
	name, help string
	read       func(listener.Stats) uint64
}{
	{"socket_refused_max_connections", "Connections refused because the listener's max_connections was reached.",
		func(s listener.Stats) uint64 { return s.RefusedMaxConns }},
	{"socket_proxy_header_error", "Connections closed because of a missing, malformed or late PROXY protocol header.",
		func(s listener.Stats) uint64 { return s.ProxyErrors }},
	{"socket_tls_handshake_error", "TLS handshakes that failed or timed out.",
		func(s listener.Stats) uint64 { return s.TLSErrors }},
}

// registerLimitMetrics exports the per-listener limit counters through the registry, so
// /metrics, vmq-admin metrics show and $SYS have them; call once after the listeners started.
func (n *Node) registerLimitMetrics() {
	n.mu.Lock()
	mls := append([]*mqttListener(nil), n.listeners...)
	n.mu.Unlock()
	for _, ml := range mls {
		labels := map[string]string{"listener": ml.cfg.Type + "/" + ml.cfg.Name}
		for _, m := range listenerLimitMetrics {
			read := m.read
			n.Reg.Gauge(m.name, m.help, labels).Func(func() int64 {
				n.mu.Lock()
				l := ml.l // listener start may replace it
				n.mu.Unlock()
				return int64(read(l.Stats()))
			})
		}
	}
}
