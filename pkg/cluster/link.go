package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/metrics"
)

// link is the outgoing half of the data link to one peer: frames wait in a bounded
// buffer (outgoing_clustering_buffer_size) and one writer goroutine sends them, all
// frames queued so far in one write, reconnecting while the peer is unreachable.
type link struct {
	peer   string // node name
	self   string
	key    []byte
	max    int64
	log    *slog.Logger
	sent   *metrics.Counter
	drop   *metrics.Counter
	upG    *metrics.Gauge // cluster_link_up{peer}
	wake   chan struct{}
	redial chan struct{} // ends a redial backoff early (the peer was seen joining again)
	tls    *tls.Config   // listener.vmqs: mutual TLS under the cookie handshake; nil = plain TCP
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	addr   string // listener.vmq.clustering of the peer, from its serf tags
	queue  [][]byte
	queued int64
	up     bool
	// unreachable: the last dial failed (the peer's port refuses or times out), so the
	// peer is most likely down; a crashed peer is known so within milliseconds, long
	// before serf's failure detector says it (seconds).
	unreachable bool
}

const (
	maxBatch     = 1 << 20 // bytes written per batch; bigger backlogs go in several writes
	redialMin    = 100 * time.Millisecond
	redialMax    = 2 * time.Second
	writeTimeout = 10 * time.Second
)

// newLink starts the link to peer; tlsConf (listener.vmqs) is nil for plain TCP. Everything
// the link's goroutine reads unlocked is set before it starts.
func newLink(peer, self, addr string, key []byte, max int64, log *slog.Logger, sent, drop *metrics.Counter, upG *metrics.Gauge, tlsConf *tls.Config) *link {
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{peer: peer, self: self, addr: addr, key: key, max: max, log: log, sent: sent, drop: drop, upG: upG,
		tls: tlsConf, wake: make(chan struct{}, 1), redial: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go l.run(ctx)
	return l
}

// send queues one frame; it is dropped (and counted) when the buffer is full.
func (l *link) send(frame []byte) bool {
	l.mu.Lock()
	if l.queued+int64(len(frame)) > l.max {
		l.mu.Unlock()
		l.drop.Add(uint64(len(frame)))
		return false
	}
	l.queue = append(l.queue, frame)
	l.queued += int64(len(frame))
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// redialNow ends a running redial backoff: the peer has just (re)joined.
func (l *link) redialNow() {
	select {
	case l.redial <- struct{}{}:
	default:
	}
}

func (l *link) setAddr(addr string) {
	l.mu.Lock()
	l.addr = addr
	l.mu.Unlock()
}

// Unreachable reports whether the last attempt to connect to the peer failed.
func (l *link) Unreachable() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unreachable
}

// Up reports whether the link is connected and authenticated.
func (l *link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}

// flush waits, at most until deadline, for the frames queued so far to be written, while
// the link is connected: a stopping node's last frames (messages it forwards for the
// sessions it handed over) must not die in its buffer.
func (l *link) flush(deadline time.Time) {
	for time.Now().Before(deadline) {
		l.mu.Lock()
		empty, up := len(l.queue) == 0, l.up
		l.mu.Unlock()
		if empty || !up {
			return
		}
		time.Sleep(5 * time.Millisecond) // bounded by deadline
	}
}

func (l *link) close() {
	l.cancel()
	<-l.done
}

// take removes up to maxBatch bytes of frames from the head of the queue.
func (l *link) take(dst []byte) ([]byte, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for n < len(l.queue) && (len(dst) == 0 || len(dst)+len(l.queue[n]) <= maxBatch) {
		dst = append(dst, l.queue[n]...)
		n++
	}
	return dst, n
}

// commit forgets the first n frames (written) of the queue.
func (l *link) commit(n int) {
	l.mu.Lock()
	for _, f := range l.queue[:n] {
		l.queued -= int64(len(f))
	}
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil // let the backing array go after a backlog
	}
	l.mu.Unlock()
}

func (l *link) run(ctx context.Context) {
	defer close(l.done)
	backoff := redialMin
	var batch []byte
	for ctx.Err() == nil {
		c, err := l.dial(ctx)
		l.mu.Lock()
		l.unreachable = err != nil
		l.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				l.log.Debug("cluster link down", "peer", l.peer, "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			case <-l.redial:
				backoff = redialMin
				continue
			}
			backoff = min(backoff*2, redialMax)
			continue
		}
		backoff = redialMin
		l.setUp(true)
		l.log.Info("cluster link up", "peer", l.peer)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		// A peer never writes on our outgoing link: a read returning means it closed, and
		// the link redials at once (so a crashed peer is seen as unreachable at once).
		gone := make(chan struct{})
		go func() { var b [1]byte; c.Read(b[:]); c.Close(); close(gone) }()
	writing:
		for ctx.Err() == nil {
			var n int
			batch, n = l.take(batch[:0])
			if n == 0 {
				select {
				case <-ctx.Done():
				case <-l.wake:
				case <-gone:
					break writing
				}
				continue
			}
			c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := c.Write(batch); err != nil {
				// The batch stays queued and is sent again on the next connection (at least once).
				l.log.Warn("cluster link write failed; reconnecting", "peer", l.peer, "error", err)
				break
			}
			l.commit(n)
			l.sent.Add(uint64(len(batch)))
		}
		stop()
		c.Close()
		l.setUp(false)
	}
}

func (l *link) setUp(up bool) {
	l.mu.Lock()
	l.up = up
	l.mu.Unlock()
	if up {
		l.upG.Set(1)
	} else {
		l.upG.Set(0)
	}
}

func (l *link) dial(ctx context.Context) (net.Conn, error) {
	l.mu.Lock()
	addr := l.addr
	l.mu.Unlock()
	d := net.Dialer{Timeout: 3 * time.Second, KeepAlive: 15 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if l.tls != nil {
		tc := tls.Client(c, l.tls)
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		c = tc
	}
	if err := clientHandshake(c, l.key, l.self); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
