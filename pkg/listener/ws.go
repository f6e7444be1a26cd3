package listener

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsServer serves the HTTP upgrade for ws/wss. Connections reach it already
// admitted, PROXY-parsed and TLS-terminated, through connQueue.
type wsServer struct {
	l     *Listener
	queue *connQueue
	srv   *http.Server
	done  chan struct{}
}

// wsConn carries the Peer and tracked socket of a connection into the HTTP
// server, which sees it through ConnContext.
type wsConn struct {
	net.Conn
	tc   *trackedConn
	peer Peer
}

type wsConnKey struct{}

func newWSServer(l *Listener) *wsServer {
	s := &wsServer{l: l, queue: newConnQueue(l.ln.Addr()), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.upgrade),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, wsConnKey{}, c)
		},
	}
	return s
}

func (s *wsServer) start() {
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.queue)
	}()
}

// stop closes the HTTP server: pending upgrades and idle HTTP connections go,
// upgraded (hijacked) MQTT connections stay.
func (s *wsServer) stop() {
	_ = s.srv.Close()
	<-s.done
}

// handOffWS passes a prepared connection to the HTTP server; false when the
// server is already stopped (the caller then closes it).
func (l *Listener) handOffWS(c net.Conn, tc *trackedConn, peer Peer) bool {
	l.mu.Lock()
	ws := l.ws
	l.mu.Unlock()
	if ws == nil {
		return false
	}
	return ws.queue.push(&wsConn{Conn: c, tc: tc, peer: peer})
}

// upgrade accepts the WebSocket with subprotocol mqtt (or mqttv3.1) and runs
// the handler on a binary-message net.Conn.
func (s *wsServer) upgrade(w http.ResponseWriter, r *http.Request) {
	wc, _ := r.Context().Value(wsConnKey{}).(*wsConn)
	if wc == nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Only upgrades are served: a failed request ends the connection instead of
	// idling as HTTP keep-alive and holding an MQTT connection slot.
	w.Header().Set("Connection", "close")
	if r.URL.Path != s.l.opts.WSPath {
		http.NotFound(w, r)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: WSSubprotocols,
		// MQTT clients (browsers included) connect from any origin; VerneMQ does not check it.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.l.log.Debug("websocket upgrade failed", "remote", wc.peer.Addr.String(), "err", err)
		return
	}
	if c.Subprotocol() == "" {
		_ = c.Close(websocket.StatusPolicyViolation, `subprotocol "mqtt" required`)
		_ = wc.tc.Close()
		return
	}
	c.SetReadLimit(s.l.opts.MaxWSFrameSize)
	ctx := context.Context(wc.tc)
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer func() {
		_ = nc.Close()
		_ = wc.tc.Close()
	}()
	s.l.runHandler(ctx, &addrConn{Conn: nc, remote: wc.peer.Addr, local: wc.peer.Local}, wc.peer)
}

// addrConn reports the TCP (or PROXY) addresses instead of websocket's
// placeholder ones.
type addrConn struct {
	net.Conn
	remote, local net.Addr
}

func (a *addrConn) RemoteAddr() net.Addr { return a.remote }
func (a *addrConn) LocalAddr() net.Addr  { return a.local }

// connQueue is a net.Listener fed by the acceptors, so the HTTP server only
// sees admitted, prepared connections.
type connQueue struct {
	addr   net.Addr
	ch     chan net.Conn
	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
