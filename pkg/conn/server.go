// Package conn runs one MQTT client connection: the CONNECT handshake, the reader
// loop that decodes packets and hands them to the session and the router, and
// keepalive and rate limits. Every write to the socket goes through the connection's
// socketWriter (writer.go), which describes who writes when.
package conn

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/poller"
)

// Settings are the per-connection limits; they may change at run time.
type Settings struct {
	MaxClientIDSize                   int
	MaxMessageSize                    int // max_message_size in bytes, 0 = the protocol's maximum
	MaxConnectSize                    int // max_connect_message_size: the packet size limit until CONNECT is accepted (0 = MaxMessageSize)
	TopicMaxDepth                     int
	ReceiveMaxBroker                  uint16
	TopicAliasMaxBroker               uint16
	TopicAliasMaxClient               uint16 // aliases the broker may use towards clients (topic_alias_max_client)
	ReceiveMaxClient                  uint16 // receive_max_client: cap on the inflight window towards a v5 client
	KeepaliveAsWarning                bool   // logging.keepalive_as_warning
	MaxMessageRate                    int    // publishes per second per client, 0 = unlimited
	DisconnectOnUnauthorizedPublishV3 bool
	ConnectTimeout                    time.Duration
	PersistentClientExpiration        uint32        // seconds for 3.1.1 persistent sessions, 0 = never
	MaxLastWillDelay                  int64         // seconds, < 0 = as the client asks
	ParkIdleAfter                     time.Duration // idle time after which a reader parks (0 = never)
	MaxKeepAlive                      uint16        // max_keepalive in seconds: cap on the client keep alive, 0 = none
	SessionBinding                    bool          // session_binding: a session belongs to the user name that created it
	UniformAuthFailure                bool          // uniform_auth_failure: every refused login is "not authorized"
}

// DefaultSettings are VerneMQ's defaults.
func DefaultSettings() Settings {
	return Settings{
		MaxClientIDSize: 100, TopicMaxDepth: 10, ReceiveMaxBroker: 65535, TopicAliasMaxBroker: 0,
		ConnectTimeout: 30 * time.Second, MaxConnectSize: 64 << 10, MaxLastWillDelay: -1,
		ParkIdleAfter: 2 * time.Second,
	}
}

// Peer is what the listener learned about a connection.
type Peer struct {
	Addr                    net.Addr
	Listener                string // "tcp.default"
	Type                    string // tcp, ssl, ws, wss
	Mountpoint              string
	AllowedProtocolVersions []byte // empty = all
	CN                      string
	CNAsUsername            bool
	AllowAnonymousOverride  bool
	ReadBuffer              int           // listener buffer: bytes read per system call (0 = 4 KiB)
	MaxLifetime             time.Duration // listener max_connection_lifetime: disconnect after it (0 = off)
	Detach                  func()        // tells the listener that Serve may return before the connection ends; nil: it may not
}

// Server holds what every connection needs.
type Server struct {
	Broker  *broker.Broker
	Auth    *auth.Chain
	Metrics *metrics.Broker
	Log     *slog.Logger

	// Allowed reports whether an operation ("register", "publish", "subscribe",
	// "unsubscribe") may proceed now; a cluster in a netsplit refuses those whose
	// allow_*_during_netsplit is off. A non-nil override is the client's own allow_<op>
	// (auth_on_register modifier) in place of the setting. Nil allows everything (a single node).
	Allowed func(op string, override *bool) bool
	// AllowRegister decides a CONNECT of a client id during a netsplit (only a client
	// whose session is on an unreachable node is refused); nil: Allowed("register").
	AllowRegister func(mountpoint, clientID string, override *bool) bool

	// Throttle counts failed logins per source and refuses sources over failed_login_limit; nil = none.
	Throttle *auth.Throttle

	settings atomic.Pointer[Settings]
	mu       sync.Mutex
	clients  map[*client]struct{}
	wg       sync.WaitGroup
	closing  atomic.Bool
	poller   *poller.Poller
	parkKeys atomic.Uint64
	parks    atomic.Uint64 // ParkStats
	resumes  atomic.Uint64
	stopped  chan struct{}
	traces   traceSet // vmq-admin trace client (trace.go)

	unapplied sync.Map // auth_on_register modifiers already logged as not applied (modifiers.go)
}

// NewServer returns a server with s as settings.
func NewServer(b *broker.Broker, chain *auth.Chain, m *metrics.Broker, log *slog.Logger, s Settings) *Server {
	srv := &Server{Broker: b, Auth: chain, Metrics: m, Log: log, clients: map[*client]struct{}{}, stopped: make(chan struct{})}
	srv.settings.Store(&s)
	return srv
}

// SetSettings replaces the connection settings; new packets see them at once.
func (s *Server) SetSettings(st Settings) { s.settings.Store(&st) }

// Settings returns the current settings.
func (s *Server) Settings() Settings { return *s.settings.Load() }

// Serve runs one connection. It returns when the connection ends, or earlier when
// the idle connection parked (only if p.Detach is set); c is closed when it ends.
func (s *Server) Serve(ctx context.Context, c net.Conn, p Peer) {
	if s.closing.Load() {
		c.Close()
		return
	}
	cl := newClient(s, c, p)
	s.mu.Lock()
	s.clients[cl] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.Metrics.SocketOpen.Inc()
	s.active(cl).Add(1)
	cl.run(ctx)
}

func (s *Server) active(cl *client) *metrics.Gauge {
	if cl.peer.Type == "ws" || cl.peer.Type == "wss" {
		return s.Metrics.ActiveWSConnections
	}
	return s.Metrics.ActiveConnections
}

// release forgets an ended connection.
func (s *Server) release(cl *client) {
	s.active(cl).Add(-1)
	s.mu.Lock()
	delete(s.clients, cl)
	s.mu.Unlock()
	s.wg.Done()
}

// Shutdown disconnects every client with code (v5 clients get a DISCONNECT) and
// waits for their connections to end or ctx to expire.
func (s *Server) Shutdown(ctx context.Context, code packets.ReasonCode) error {
	if s.closing.CompareAndSwap(false, true) {
		close(s.stopped)
	}
	s.mu.Lock()
	all := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.Kick(code)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) allowed(op string, override *bool) bool {
	return s.Allowed == nil || s.Allowed(op, override)
}

func (s *Server) allowedRegister(mountpoint, clientID string, override *bool) bool {
	if s.AllowRegister != nil {
		return s.AllowRegister(mountpoint, clientID, override)
	}
	return s.allowed("register", override)
}

// Count is the number of open connections.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}
