package admin

import (
	"context"
	"errors"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/logging"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// ErrNoListener is the error StartListener wraps when no listener is on the address and port.
var ErrNoListener = errors.New("no listener")

// Backend is what the commands need of a node; pkg/node fills it (admin cannot
// import node, which imports admin). Nil funcs make their commands say so.
type Backend struct {
	NodeName string
	Version  string
	Config   *config.Config
	Broker   *broker.Broker
	Metrics  *metrics.Registry
	Keys     *KeyStore     // api-key commands; nil when the node has no key store
	Logs     *logging.Logs // log show config and log level; nil when the node's logger was not built from the log.* keys

	Uptime      func() time.Duration
	Connections func() int
	Listeners   func() []ListenerInfo
	// StopListener stops accepting on address:port; kill also closes its connections.
	StopListener  func(address string, port int, kill bool) error
	StartListener func(address string, port int) error
	// DeleteListener removes a stopped listener until the node restarts.
	DeleteListener func(address string, port int) error
	// CreateListener starts a new MQTT listener of a type (tcp, ssl, ws, wss) with listener
	// options named as in vernemq.conf, until the node restarts.
	CreateListener func(typ, address string, port int, opts map[string]string) error
	Plugins        func() []PluginInfo
	// PluginEnable starts a built-in application plugin from vernemq.conf (plugin enable);
	// PluginDisable stops one. Neither is persisted: the next start follows vernemq.conf.
	PluginEnable  func(name string) error
	PluginDisable func(name string) error
	// Cluster lists the members and whether each runs; nil means this node alone.
	Cluster func() []Member
	// ClusterJoin joins the cluster of a node (address or VerneMQ-style node name).
	ClusterJoin func(discoveryNode string) error
	// ClusterLeave makes node leave the cluster gracefully.
	ClusterLeave func(node string, killSessions bool) error
	// NotReady gives why this node refuses clients for cluster reasons now (nil: it does
	// not); /health answers 503 with them. Nil when not clustered.
	NotReady func() []string
	// Nodes lists the running cluster nodes, this one included (for --all).
	Nodes func() []string
	// Remote runs a show command on another node (for --all and --node=); nil when not clustered.
	Remote func(ctx context.Context, node string, argv []string) (Result, error)
	// Reauthorize asks auth_on_subscribe again, as user, for each subscription of the session
	// id on this node and removes those refused; false when no such session is here.
	Reauthorize func(ctx context.Context, id broker.SessionID, user string) (removed []string, found bool)
	// ReloadCerts re-reads the TLS files of every ssl and wss listener (tls clear-pem-cache).
	ReloadCerts func() error
	// TLSCerts reads the certificates in the certfile and cafile of every TLS listener (ssl,
	// wss, https, vmqs) from the files now, and adds the one a listener serves when it is
	// another than its certfile's first (tls show, tls check).
	TLSCerts func() []CertInfo
	// Trace calls fn for each packet of one client until stop (vmq-admin trace client).
	Trace func(mountpoint, clientID string, fn func(dir string, p packets.Packet)) (stop func())

	// WebhooksEnabled reports whether vmq_webhooks runs; the Webhook* funcs are only called when it does.
	WebhooksEnabled   func() bool
	WebhookRegister   func(w Webhook) error
	WebhookDeregister func(hook, endpoint string) bool
	Webhooks          func() []Webhook
	WebhookCacheStats func() []WebhookCacheStat
	WebhookCacheClear func()

	// Bridges lists the bridges; false when plugins.vmq_bridge is off.
	Bridges func() ([]BridgeInfo, bool)
	// BridgeStart restarts the configured bridges (bridge start); false when plugins.vmq_bridge is off.
	BridgeStart func() (bool, error)
}

// ListenerInfo is one row of listener show.
type ListenerInfo struct {
	Type        string `json:"type"` // VerneMQ's names: mqtt, mqtts, mqttws, mqttwss, http, https
	Name        string `json:"name"`
	Status      string `json:"status"` // running or stopped
	Address     string `json:"address"`
	Port        string `json:"port"`
	Mountpoint  string `json:"mountpoint"`
	MaxConns    int    `json:"max_conns"` // 0 = unlimited
	ActiveConns int    `json:"active_conns"`
}

// CertInfo is one certificate of a TLS listener's certfile or cafile, or a file that
// could not be read (Err set, the certificate fields empty).
type CertInfo struct {
	Listener  string // conf name: listener.ssl.default
	Kind      string // certfile (the leaf, first in the file), chain (the rest of certfile), cafile, or served (see Backend.TLSCerts)
	File      string
	CN        string // subject common name
	Issuer    string // issuer common name
	SAN       []string
	Serial    string // hex, as openssl x509 -serial prints it
	NotBefore time.Time
	NotAfter  time.Time
	Err       string
}

// PluginInfo is one row of plugin show.
type PluginInfo struct {
	Name  string
	Hooks []string
}

// Member is one row of cluster show.
type Member struct {
	Node    string
	Running bool
}

// New returns a registry with every built-in command served by b. With b nil the
// registry only describes the commands (vmq-admin builds its help from it).
func New(b *Backend) *Registry {
	r := NewRegistry()
	if b == nil {
		b = &Backend{}
	}
	for _, add := range []func(*Registry, *Backend){
		sessionCommands, configCommands, listenerCommands, tlsCommands, metricsCommands,
		statusCommands, retainCommands, apiKeyCommands, traceCommands, webhookCommands,
		bridgeCommands, logCommands, pluginCommands,
	} {
		add(r, b)
	}
	return r
}

// ready returns an error result when the backend lacks what a command needs.
func ready(ok bool, what string) (Result, bool) {
	if ok {
		return Result{}, true
	}
	return Errorf("this node does not provide %s; run the command against a running node", what), false
}

// ctxDone is a tiny helper for handlers that loop.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
