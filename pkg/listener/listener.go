package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is one named MQTT listener (tcp, ssl, ws or wss). It can be started
// and stopped repeatedly; open connections survive Stop unless closed with
// CloseConnections (or StopAll).
type Listener struct {
	opts    Options
	handler Handler
	log     *slog.Logger
	tlsCfg  atomic.Pointer[tls.Config]
	// certStamp is the modification time and size of the TLS files as they were when the
	// current config was read (certsMu): CertsChanged compares it with the files now.
	certsMu   sync.Mutex
	certStamp string

	mu         sync.Mutex
	ln         net.Listener
	running    bool
	stopWatch  func() bool // unregisters the Start ctx watcher
	acceptorWG sync.WaitGroup
	ws         *wsServer
	conns      map[*trackedConn]struct{}
	peer       Peer // what every connection's Peer starts from (basePeer)

	active    atomic.Int64
	accepted  atomic.Uint64
	refused   atomic.Uint64
	proxyErrs atomic.Uint64
	tlsErrs   atomic.Uint64
}

// New validates opts, fills defaults and, for ssl/wss, loads certificates, CA
// and CRL. It does not bind; see Start.
func New(opts Options, h Handler, log *slog.Logger) (*Listener, error) {
	if h == nil {
		return nil, errors.New("listener: nil handler: pass the MQTT session handler")
	}
	if log == nil {
		log = slog.Default()
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		opts:    o,
		handler: h,
		log:     log.With("listener", o.Type+"/"+o.Name, "addr", o.Addr),
		conns:   map[*trackedConn]struct{}{},
	}
	l.peer = basePeer(&l.opts)
	if o.isTLS() {
		if err := l.ReloadCerts(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ReloadCerts re-reads certfile, keyfile, cafile and crlfile; new connections
// use them, established ones keep theirs. On error the old config stays.
func (l *Listener) ReloadCerts() error {
	if !l.opts.isTLS() {
		return nil
	}
	l.certsMu.Lock()
	defer l.certsMu.Unlock()
	stamp := l.filesStamp() // before reading: a file replaced meanwhile is read again next time
	cfg, err := buildTLSConfig(&l.opts, l.log)
	if err != nil {
		return fmt.Errorf("listener %s/%s: %w", l.opts.Type, l.opts.Name, err)
	}
	l.tlsCfg.Store(cfg)
	l.certStamp = stamp
	return nil
}

// ServedCert is the certificate (and chain) new handshakes present: the one last loaded,
// which a failed reload keeps. Nil for tcp and ws.
func (l *Listener) ServedCert() *tls.Certificate {
	cfg := l.tlsCfg.Load()
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	return &cfg.Certificates[0]
}

// CertsChanged reports whether a TLS file was replaced or changed since it was last read
// (as Erlang's PEM cache, which VerneMQ listeners read through, notices on its sweep).
func (l *Listener) CertsChanged() bool {
	if !l.opts.isTLS() {
		return false
	}
	l.certsMu.Lock()
	defer l.certsMu.Unlock()
	return l.filesStamp() != l.certStamp
}

// filesStamp is the modification time and size of each TLS file of the listener.
func (l *Listener) filesStamp() string {
	return filesStamp(l.opts.CertFile, l.opts.KeyFile, l.opts.CAFile, l.opts.CRLFile)
}

// filesStamp is the modification time and size of each file ("-" for one that cannot be
// read now): a different stamp means a file changed since.
func filesStamp(files ...string) string {
	var b strings.Builder
	for _, f := range files {
		if f == "" {
			continue
		}
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%s %d %d;", f, fi.ModTime().UnixNano(), fi.Size())
		} else {
			fmt.Fprintf(&b, "%s -;", f)
		}
	}
	return b.String()
}

// Start binds the address and starts the acceptors. Cancelling ctx stops the
// listener and closes its connections (like StopAll), so pass a long-lived one.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		return fmt.Errorf("listener %s/%s on %s is already running: stop it first", l.opts.Type, l.opts.Name, l.opts.Addr)
	}
	ln, err := l.listen(ctx)
	if err != nil {
		return err
	}
	l.ln = ln
	l.running = true
	if l.opts.isWS() {
		l.ws = newWSServer(l)
		l.ws.start()
	}
	for i := 0; i < l.opts.NrOfAcceptors; i++ {
		l.acceptorWG.Add(1)
		go l.acceptLoop(ctx, ln)
	}
	l.stopWatch = context.AfterFunc(ctx, func() { _ = l.StopAll() })
	l.log.Info("listener started", "bound", ln.Addr().String())
	return nil
}

// listen binds TCP (with socket buffers) or a unix socket.
func (l *Listener) listen(ctx context.Context) (net.Listener, error) {
	// No OS keepalive on accepted sockets (Go enables it by default: 4 setsockopt calls per
	// accept): MQTT's keep alive detects dead clients, and VerneMQ's tcp_listen_options
	// (nodelay, linger, send_timeout) do not turn it on either. TCP_NODELAY stays (Go's default).
	lc := net.ListenConfig{Control: socketControl(l.opts.SndBuf, l.opts.RecBuf), KeepAlive: -1}
	if isUnixAddr(l.opts.Addr) {
		path := unixPath(l.opts.Addr)
		// A stale socket file from a crashed run blocks bind; remove only sockets.
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
		ln, err := lc.Listen(ctx, "unix", path)
		if err != nil {
			return nil, fmt.Errorf("listener %s/%s: cannot bind unix socket %s: %w: check the directory exists and is writable", l.opts.Type, l.opts.Name, path, err)
		}
		return ln, nil
	}
	ln, err := lc.Listen(ctx, "tcp", l.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listener %s/%s: cannot bind %s: %w: pick a free port or stop what is using it", l.opts.Type, l.opts.Name, l.opts.Addr, err)
	}
	return ln, nil
}

// Stop stops accepting. Existing connections stay open.
func (l *Listener) Stop() error {
	l.mu.Lock()
	if !l.running {
		l.mu.Unlock()
		return nil
	}
	l.running = false
	ln, ws, stopWatch := l.ln, l.ws, l.stopWatch
	l.ws = nil
	l.mu.Unlock()

	if stopWatch != nil {
		stopWatch()
	}
	err := ln.Close()
	l.acceptorWG.Wait()
	if ws != nil {
		ws.stop()
	}
	l.log.Info("listener stopped")
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("listener %s/%s: closing %s: %w", l.opts.Type, l.opts.Name, l.opts.Addr, err)
	}
	return nil
}

// StopAll stops accepting and closes every open connection.
func (l *Listener) StopAll() error {
	err := l.Stop()
	l.CloseConnections()
	return err
}

// CloseConnections closes every open connection of this listener.
func (l *Listener) CloseConnections() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Addr is the bound address while running (useful with port 0), else nil.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil || !l.running {
		return nil
	}
	return l.ln.Addr()
}

// Running reports whether the listener is accepting.
func (l *Listener) Running() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// Options returns the effective options (defaults filled in).
func (l *Listener) Options() Options { return l.opts }

// Stats returns a snapshot of the counters.
func (l *Listener) Stats() Stats {
	return Stats{
		Active:          uint64(max(l.active.Load(), 0)),
		Accepted:        l.accepted.Load(),
		RefusedMaxConns: l.refused.Load(),
		ProxyErrors:     l.proxyErrs.Load(),
		TLSErrors:       l.tlsErrs.Load(),
	}
}

// acceptLoop is one acceptor; it only admits and spawns, never does I/O with
// the client, so a slow client cannot stall accepting.
func (l *Listener) acceptLoop(ctx context.Context, ln net.Listener) {
	defer l.acceptorWG.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			// EMFILE and similar: back off like net/http instead of spinning.
			l.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !l.admit() {
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		l.accepted.Add(1)
		l.setConnBuffers(c)
		tc := l.track(ctx, c)
		if l.opts.Go != nil {
			l.opts.Go(func() { l.serve(tc) })
		} else {
			go l.serve(tc)
		}
	}
}

// admit reserves an Active slot, refusing beyond MaxConnections.
func (l *Listener) admit() bool {
	n := l.active.Add(1)
	if l.opts.MaxConnections > 0 && n > int64(l.opts.MaxConnections) {
		l.active.Add(-1)
		return false
	}
	return true
}

// setConnBuffers applies SndBuf/RecBuf to the accepted socket as well, since
// not every OS inherits them from the listening socket.
func (l *Listener) setConnBuffers(c net.Conn) {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if l.opts.SndBuf > 0 {
		_ = tcp.SetWriteBuffer(l.opts.SndBuf)
	}
	if l.opts.RecBuf > 0 {
		_ = tcp.SetReadBuffer(l.opts.RecBuf)
	}
}

// basePeer is the part of a Peer that is the listener's. Made once: a name concatenated
// and the versions copied per connection were two allocations per accept (issue 19). The
// versions are a copy of the options' own, so a caller changing the slice that Options
// returns does not change what connections see.
func basePeer(o *Options) Peer {
	return Peer{
		Listener:                o.Type + "/" + o.Name,
		Type:                    o.Type,
		Mountpoint:              o.Mountpoint,
		AllowedProtocolVersions: append([]byte(nil), o.AllowedProtocolVersions...),
		AllowAnonymousOverride:  o.AllowAnonymousOverride,
	}
}
