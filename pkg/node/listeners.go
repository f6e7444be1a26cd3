package node

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/conn"
	"github.com/vernemq-go/vernemq/pkg/listener"
)

// mqttListener is one configured MQTT listener (tcp, ssl, ws, wss).
type mqttListener struct {
	cfg config.Listener
	l   *listener.Listener
	// lastBound is the address it last had bound, so one configured on port 0 is shown,
	// found and started again with that port after listener stop.
	lastBound atomic.Pointer[string]
}

func isMQTT(typ string) bool {
	return typ == listener.TypeTCP || typ == listener.TypeSSL || typ == listener.TypeWS || typ == listener.TypeWSS
}

// handler hands a listener's connections to the MQTT server with the listener's own
// read buffer size and connection lifetime, once the node's start is complete (the
// listeners bind before the cluster is joined; a client accepted meanwhile waits).
func (n *Node) handler(lc config.Listener) listener.Handler {
	return func(ctx context.Context, c net.Conn, p listener.Peer) {
		select {
		case <-n.ready: // the usual case, without making the connection's ctx.Done channel
		default:
			select {
			case <-n.ready:
			case <-ctx.Done():
				c.Close()
				return
			}
		}
		n.Server.Serve(ctx, c, conn.Peer{
			Addr: p.Addr, Listener: p.Listener, Type: p.Type, Mountpoint: p.Mountpoint,
			AllowedProtocolVersions: p.AllowedProtocolVersions, CN: p.CN, CNAsUsername: p.CNAsUsername,
			AllowAnonymousOverride: p.AllowAnonymousOverride,
			ReadBuffer:             lc.Buffer, MaxLifetime: lc.MaxConnectionLifetime, Detach: p.Detach,
		})
	}
}

func listenerOptions(lc config.Listener, maxWSFrame int64) listener.Options {
	return listener.Options{
		Type: lc.Type, Name: lc.Name, Addr: lc.Addr, MaxConnections: lc.MaxConnections,
		Mountpoint: lc.Mountpoint, AllowedProtocolVersions: lc.AllowedProtocolVersions,
		AllowAnonymousOverride: lc.AllowAnonymousOverride, ProxyProtocol: lc.ProxyProtocol,
		ProxyProtocolUseCNAsUsername: lc.ProxyProtocolUseCNAsUsername, ProxyHeaderTimeout: lc.ProxyProtocolTimeout,
		CAFile: lc.CAFile, CertFile: lc.CertFile, KeyFile: lc.KeyFile, KeyPasswd: lc.KeyPasswd, CRLFile: lc.CRLFile,
		TLSVersion: lc.TLSVersion, Ciphers: lc.Ciphers, RequireCertificate: lc.RequireCertificate,
		UseIdentityAsUsername: lc.UseIdentityAsUsername, Depth: lc.Depth, TLSHandshakeTimeout: lc.TLSHandshakeTimeout,
		SndBuf: lc.SndBuf, RecBuf: lc.RecBuf, WSPath: lc.WSPath, NrOfAcceptors: lc.NrOfAcceptors,
		MaxWSFrameSize: maxWSFrame,
	}
}

// startListeners starts every MQTT listener of the conf; the first failure stops the start.
func (n *Node) startListeners(ctx context.Context) error {
	for _, lc := range n.Cfg.Listeners() {
		if !isMQTT(lc.Type) {
			continue
		}
		if err := n.openListener(ctx, lc); err != nil {
			return fmt.Errorf("listener.%s.%s: %w", lc.Type, lc.Name, err)
		}
	}
	if len(n.listeners) == 0 {
		return errNoListener
	}
	return nil
}

// openListener starts the MQTT listener lc and adds it to the node's.
func (n *Node) openListener(ctx context.Context, lc config.Listener) error {
	opts := listenerOptions(lc, n.Cfg.Bytes("max_ws_frame_size"))
	opts.Go = n.workers.Go
	l, err := listener.New(opts, n.handler(lc), n.Log)
	if err != nil {
		return err
	}
	if err := l.Start(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	n.listeners = append(n.listeners, &mqttListener{cfg: lc, l: l})
	n.mu.Unlock()
	n.Log.Info("listener started", "type", lc.Type, "name", lc.Name, "address", l.Addr().String())
	return nil
}

// CreateListener starts a new MQTT listener of typ on address:port with VerneMQ's listener
// options (vmq-admin listener start for an address:port without one). It lasts until the
// node restarts; vernemq.conf is not changed.
func (n *Node) CreateListener(ctx context.Context, typ, address string, port int, opts map[string]string) error {
	if ml, _ := n.findListener(address, port); ml != nil {
		return fmt.Errorf("listener.%s.%s is on %s:%d already: to change its options, listener stop, listener delete, then listener start with them", ml.cfg.Type, ml.cfg.Name, address, port)
	}
	name := "cli_" + strconv.Itoa(port)
	lc, err := n.Cfg.AddListener(typ, name, net.JoinHostPort(address, strconv.Itoa(port)), opts)
	if err != nil {
		return err
	}
	if err := n.openListener(ctx, lc); err != nil {
		n.Cfg.RemoveListener(typ, name)
		return fmt.Errorf("listener.%s.%s: %w", typ, name, err)
	}
	return nil
}

func (n *Node) stopListeners() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ml := range n.listeners {
		if ml.l.Running() {
			ml.l.Stop()
		}
	}
}

// ListenerInfo is one row of `vmq-admin listener show`.
type ListenerInfo struct {
	Type, Name, Status, Address, Port, Mountpoint string
	MaxConns, ActiveConns                         int
}

// Listeners describes the MQTT listeners.
func (n *Node) Listeners() []ListenerInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []ListenerInfo
	for _, ml := range n.listeners {
		host, port, _ := net.SplitHostPort(ml.boundAddr())
		status := "stopped"
		if ml.l.Running() {
			status = "running"
		}
		out = append(out, ListenerInfo{
			Type: ml.cfg.Type, Name: ml.cfg.Name, Status: status, Address: host, Port: port,
			Mountpoint: ml.cfg.Mountpoint, MaxConns: ml.cfg.MaxConnections, ActiveConns: int(ml.l.Stats().Active),
		})
	}
	return out
}

// ListenerAddr returns the bound address of the first listener of typ (tests use port 0).
func (n *Node) ListenerAddr(typ string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ml := range n.listeners {
		if ml.cfg.Type == typ && ml.l.Addr() != nil {
			return ml.l.Addr().String()
		}
	}
	return ""
}

// StopListener stops accepting on address:port (vmq-admin listener stop); kill also closes its connections.
func (n *Node) StopListener(address string, port int, kill bool) error {
	ml, err := n.findListener(address, port)
	if err != nil {
		return err
	}
	if err := ml.l.Stop(); err != nil {
		return err
	}
	if kill {
		ml.l.CloseConnections()
	}
	return nil
}

// StartListener starts a stopped listener again (vmq-admin listener start).
func (n *Node) StartListener(ctx context.Context, address string, port int) error {
	ml, err := n.findListener(address, port)
	if err != nil {
		return err
	}
	if ml.l.Running() {
		return nil
	}
	// Configured on port 0: bind the port asked for (the one listener show prints, or 0 for
	// a new free one), which takes a new listener.Listener since its address is fixed at New.
	want := net.JoinHostPort(address, strconv.Itoa(port))
	if _, cfgPort, err := net.SplitHostPort(ml.cfg.Addr); err == nil && cfgPort == "0" && ml.l.Options().Addr != want {
		opts := ml.l.Options()
		opts.Addr = want
		l, err := listener.New(opts, n.handler(ml.cfg), n.Log)
		if err != nil {
			return err
		}
		if err := l.Start(ctx); err != nil {
			return fmt.Errorf("%w (listener start port=0 binds a new free port)", err)
		}
		n.mu.Lock()
		ml.l = l
		n.mu.Unlock()
		ml.boundAddr()
		return nil
	}
	return ml.l.Start(ctx)
}

// DeleteListener removes a stopped listener (vmq-admin listener delete) until the next start
// of the node, which reads the conf again. Connections it accepted stay open.
func (n *Node) DeleteListener(address string, port int) error {
	ml, err := n.findListener(address, port)
	if err != nil {
		return err
	}
	if ml.l.Running() {
		return fmt.Errorf("listener.%s.%s is running: stop it first (vmq-admin listener stop address=%s port=%d)", ml.cfg.Type, ml.cfg.Name, address, port)
	}
	n.mu.Lock()
	n.listeners = slices.DeleteFunc(n.listeners, func(x *mqttListener) bool { return x == ml })
	n.mu.Unlock()
	n.Cfg.RemoveListener(ml.cfg.Type, ml.cfg.Name)
	n.Log.Info("listener deleted", "type", ml.cfg.Type, "name", ml.cfg.Name, "address", net.JoinHostPort(address, strconv.Itoa(port)))
	return nil
}

func (n *Node) findListener(address string, port int) (*mqttListener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	want := strconv.Itoa(port)
	for _, ml := range n.listeners {
		// The address listener show prints, or (for a stopped one) the configured one.
		host, p, _ := net.SplitHostPort(ml.boundAddr())
		if host == address && p == want {
			return ml, nil
		}
	}
	for _, ml := range n.listeners {
		host, p, _ := net.SplitHostPort(ml.cfg.Addr)
		if host == address && p == want && !ml.l.Running() {
			return ml, nil
		}
	}
	return nil, fmt.Errorf("%w on %s:%d (see vmq-admin listener show)", admin.ErrNoListener, address, port)
}

// boundAddr is the bound address while running, else the last one seen bound, else the configured one.
func (ml *mqttListener) boundAddr() string {
	if a := ml.l.Addr(); a != nil {
		s := a.String()
		ml.lastBound.Store(&s)
		return s
	}
	if s := ml.lastBound.Load(); s != nil {
		return *s
	}
	return ml.cfg.Addr
}
