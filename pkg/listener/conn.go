package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
	"github.com/vernemq-go/vernemq/pkg/growstack"
)

// trackedConn is the raw accepted socket. Closing it (from any layer above)
// frees the Active slot, forgets it and ends the connection's context.
//
// It is also that context (the handler's ctx): done when the socket is closed or the
// listener's context ends. A context.WithCancel per connection cost two allocations and
// a registration in the listener context's children under its lock on every accept
// (issue 19); here that child is made only when someone waits on it (a TLS handshake, a
// WebSocket, a plugin call that waits), which most connections never do.
type trackedConn struct {
	net.Conn
	l        *Listener
	parent   context.Context // the listener's (Start's)
	once     sync.Once
	closed   atomic.Bool // Close ran: the context is cancelled
	detached atomic.Bool // the handler owns the connection past its return

	mu     sync.Mutex
	waited context.Context    // the child of parent made by the first Done or AfterFunc
	stop   context.CancelFunc // waited's
}

// NetConn is the accepted socket (lets a handler reach its descriptor).
func (tc *trackedConn) NetConn() net.Conn { return tc.Conn }

func (l *Listener) track(parent context.Context, c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, l: l, parent: parent}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc
}

func (tc *trackedConn) Close() error {
	err := net.ErrClosed
	tc.once.Do(func() {
		err = tc.Conn.Close()
		tc.cancel()
		tc.l.mu.Lock()
		delete(tc.l.conns, tc)
		tc.l.mu.Unlock()
		tc.l.active.Add(-1)
	})
	return err
}

// cancel ends the context: Err reports Canceled, a child made so far is cancelled.
func (tc *trackedConn) cancel() {
	tc.closed.Store(true)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.stop != nil {
		tc.stop()
	}
}

// child is the context.WithCancel(parent) that Done and AfterFunc need, made once; one
// made after Close is cancelled at once.
func (tc *trackedConn) child() context.Context {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.waited == nil {
		tc.waited, tc.stop = context.WithCancel(tc.parent)
		if tc.closed.Load() {
			tc.stop()
		}
	}
	return tc.waited
}

// Deadline is the listener context's (none in practice).
func (tc *trackedConn) Deadline() (time.Time, bool) { return tc.parent.Deadline() }

// Done closes when the connection is closed or the listener's context ends.
func (tc *trackedConn) Done() <-chan struct{} { return tc.child().Done() }

// AfterFunc lets context.WithCancel/WithDeadline(tc) (the TLS handshake's) register on
// the child as they would on a standard context; without it each started a goroutine
// that waits on Done.
func (tc *trackedConn) AfterFunc(f func()) func() bool { return context.AfterFunc(tc.child(), f) }

// Err is the child's once it is made (so that Err and Done agree), else Canceled once
// the connection is closed, else the listener context's error. The sweeper asks it of
// every parked connection: an open one answers without the lock.
func (tc *trackedConn) Err() error {
	if !tc.closed.Load() && tc.parent.Err() == nil {
		return nil // nothing has cancelled the child either
	}
	tc.mu.Lock()
	w := tc.waited
	tc.mu.Unlock()
	if w != nil {
		return w.Err()
	}
	if tc.closed.Load() {
		return context.Canceled
	}
	return tc.parent.Err()
}

// Value is the listener context's.
func (tc *trackedConn) Value(key any) any { return tc.parent.Value(key) }

// serve runs in the connection's own goroutine: PROXY header, TLS handshake,
// then the handler (or the WebSocket upgrade).
func (l *Listener) serve(tc *trackedConn) {
	growstack.Grow() // the handshake needs it; growing it later copies deeper stacks
	handedOff := false
	defer func() {
		if !handedOff && !tc.detached.Load() {
			_ = tc.Close()
		}
	}()
	peer := l.peer // its strings and versions are shared by every connection: read only
	if !l.opts.isWS() {
		peer.Detach = func() { tc.detached.Store(true) }
	}
	var c net.Conn = tc
	peer.Addr, peer.Local = tc.RemoteAddr(), tc.LocalAddr()

	if l.opts.ProxyProtocol {
		pc, cn, err := l.readProxyHeader(tc)
		if err != nil {
			l.proxyErrs.Add(1)
			l.log.Debug("PROXY header rejected", "remote", tc.RemoteAddr().String(), "err", err)
			return
		}
		c = pc
		peer.Addr, peer.Local = pc.RemoteAddr(), pc.LocalAddr()
		if cn != "" {
			peer.CN = cn
			peer.CNAsUsername = l.opts.ProxyProtocolUseCNAsUsername
		}
	}

	if l.opts.isTLS() {
		tlsConn, err := l.handshake(tc, c)
		if err != nil {
			l.tlsErrs.Add(1)
			l.log.Debug("TLS handshake failed", "remote", peer.Addr.String(), "err", err)
			return
		}
		c = tlsConn
		if certs := tlsConn.ConnectionState().PeerCertificates; len(certs) > 0 {
			if err := checkCN(certs[0].Subject.CommonName); err != nil {
				l.tlsErrs.Add(1)
				l.log.Debug("TLS client refused", "remote", peer.Addr.String(), "err", err)
				return
			}
			peer.CN = certs[0].Subject.CommonName
			peer.CNAsUsername = l.opts.UseIdentityAsUsername
		}
	}

	if l.opts.isWS() {
		handedOff = l.handOffWS(c, tc, peer)
		return
	}
	l.runHandler(tc, c, peer)
}

// runHandler calls the user handler, containing its panics to this connection.
func (l *Listener) runHandler(ctx context.Context, c net.Conn, peer Peer) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("connection handler panicked; connection closed", "remote", peer.Addr.String(), "panic", r)
		}
	}()
	l.handler(ctx, c, peer)
}

// errNoHeader is returned when the PROXY header is missing or malformed.
var errNoHeader = errors.New("no valid PROXY protocol header")

// readProxyHeader requires a v1/v2 header within ProxyHeaderTimeout and
// extracts the client certificate CN from a v2 PP2_TYPE_SSL TLV.
func (l *Listener) readProxyHeader(c net.Conn) (*proxyproto.Conn, string, error) {
	pc := proxyproto.NewConn(c,
		proxyproto.WithPolicy(proxyproto.REQUIRE),
		proxyproto.SetReadHeaderTimeout(l.opts.ProxyHeaderTimeout))
	h := pc.ProxyHeader()
	if h == nil {
		// A zero-length Read returns the stored header error without consuming data.
		if _, err := pc.Read(nil); err != nil {
			return nil, "", err
		}
		return nil, "", errNoHeader
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return nil, "", err
	}
	ssl, ok := tlvparse.FindSSL(tlvs)
	// HAProxy reports verify 0 also when no certificate was presented: the CN is an
	// identity only for a certificate presented (on this connection or its TLS session) and verified.
	if !ok || !ssl.ClientSSL() || !(ssl.ClientCertConn() || ssl.ClientCertSess()) || !ssl.Verified() {
		return pc, "", nil
	}
	cn, _ := ssl.ClientCN()
	if err := checkCN(cn); err != nil {
		return nil, "", err
	}
	return pc, cn, nil
}

// checkCN refuses a CN that cannot be a user name: a NUL byte (as a CONNECT user name
// with U+0000 is refused [MQTT-1.5.4-2]) or invalid UTF-8.
func checkCN(cn string) error {
	if strings.IndexByte(cn, 0) >= 0 || !utf8.ValidString(cn) {
		return fmt.Errorf("client certificate CN %q has a NUL byte or is not UTF-8", cn)
	}
	return nil
}

// handshake runs the TLS server handshake bounded by TLSHandshakeTimeout.
func (l *Listener) handshake(ctx context.Context, c net.Conn) (*tls.Conn, error) {
	cfg := l.tlsCfg.Load()
	tlsConn := tls.Server(c, cfg)
	deadline := time.Now().Add(l.opts.TLSHandshakeTimeout)
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := tlsConn.HandshakeContext(hctx); err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return tlsConn, nil
}
