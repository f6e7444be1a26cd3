package conn

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vernemq-go/vernemq/pkg/growstack"
)

// Reader states. An idle connection parks: its reader goroutine ends and its read
// buffer goes back to the pool, the socket waits in the poller, and the first byte
// that arrives starts a new reader. That is what makes idle connections cheap.
const (
	stBusy    int32 = iota // handshaking, reading a packet or handling one
	stIdle                 // blocked at a packet boundary: the sweeper may ask it to park
	stParking              // the sweeper set a past read deadline so the reader parks
	stParked               // no reader: the poller (data) or unpark (close) resumes it
)

// aLongTimeAgo as a read deadline makes a blocked read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// parking is the parking state of one connection.
type parking struct {
	raw syscall.RawConn // the socket under TLS/PROXY layers; nil: cannot park
	key uint64          // the poller key, unique per connection
	// parkFirst: the first wait parks (firstDeadline); on a layered socket its read deadline
	// is a past one set after CONNACK, and the keepalive one comes back with restoreDeadline.
	parkFirst bool
	bare      bool  // no layer (TLS, PROXY) between the socket and the reader that may hold read bytes
	armed     bool  // the socket is registered in the poller (parked before): re-arm it
	armFailed bool  // onFd's arm failed (read and reset by park, under mu)
	fdOp      uint8 // what onFd does: fdWrite, fdArm, fdArmNew
	resumeFn  func()
	// fdFn is onFd, the function RawConn.Control runs for a direct write and for arming the
	// poller: made once per connection, where a closure per call cost an allocation each.
	fdFn      func(fd uintptr)
	state     atomic.Int32
	idleSince atomic.Int64 // Unix ns when the reader last blocked at a packet boundary
	// mu orders the sweeper's past deadline against the reader leaving stIdle, and is held
	// by park until it has read its arm's result: the resumed reader takes it first.
	mu sync.Mutex
}

// What onFd does with the descriptor.
const (
	fdWrite  uint8 = iota // the direct write of c.out (its lock held)
	fdArm                 // re-arm the poller (parked before)
	fdArmNew              // add the socket to the poller
)

// fdFunc is onFd as a func value, made at the first use. Only the connection's reader
// (one goroutine at a time, ordered by the poller and mu) calls it.
func (c *client) fdFunc() func(fd uintptr) {
	if c.fdFn == nil {
		c.fdFn = c.onFd
	}
	return c.fdFn
}

// onFd runs in RawConn.Control with the socket's descriptor, which stays open meanwhile.
func (c *client) onFd(fd uintptr) {
	switch c.fdOp {
	case fdWrite:
		c.out.writeAll(fd)
	case fdArm:
		if c.srv.poller.Wait(int(fd), c.key, c.resumeFn) != nil {
			c.armFailed = true // not armed: no reader resumes, this one still owns c
		}
	case fdArmNew:
		if c.srv.poller.WaitNew(int(fd), c.key, c.resumeFn) != nil {
			c.armFailed = true
		}
	}
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, defaultReadBuffer) }}

// newReader takes a pooled buffer of the default size.
func newReader(r io.Reader, size int) *bufio.Reader {
	if size != defaultReadBuffer {
		return bufio.NewReaderSize(r, size)
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// releaseReader returns the (empty) read buffer to the pool.
func (c *client) releaseReader() {
	if c.br != nil && c.br.Size() == defaultReadBuffer {
		c.br.Reset(nil)
		readerPool.Put(c.br)
	}
	c.br = nil
}

// parkable finds the socket beneath TLS and PROXY layers; WebSocket connections
// and connections without a listener to detach from keep their reader goroutine.
func (c *client) parkable() syscall.RawConn {
	if c.srv.poller == nil || c.peer.Detach == nil || c.peer.Type == "ws" || c.peer.Type == "wss" {
		return nil
	}
	rc := c.out.raw // the direct write's socket: one RawConn per connection, not two
	if rc == nil {
		rc, _, _ = socketBeneath(c.nc)
	}
	if rc != nil {
		c.key = c.srv.parkKeys.Add(1)
	}
	return rc
}

// socketBeneath finds the socket under the listener's tracking, a PROXY header and TLS;
// underTLS says whether a TLS layer frames what is written to it, layered whether a layer
// (TLS, PROXY) may hold bytes read from the socket.
func socketBeneath(nc net.Conn) (rc syscall.RawConn, underTLS, layered bool) {
	for range 4 {
		switch x := nc.(type) {
		case syscall.Conn:
			rc, err := x.SyscallConn()
			if err != nil {
				return nil, underTLS, layered
			}
			return rc, underTLS, layered
		case *tls.Conn:
			underTLS, layered = true, true
			nc = x.NetConn()
		case interface{ NetConn() net.Conn }: // the listener's tracked socket
			nc = x.NetConn()
		case interface{ Raw() net.Conn }: // go-proxyproto: the header is read, writes pass through
			layered = true
			nc = x.Raw()
		default:
			return nil, underTLS, layered
		}
	}
	return nil, underTLS, layered
}

// packetBuffered reports whether br holds a whole packet, so that reading it needs no socket read.
func packetBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	b, _ := br.Peek(min(n, 5)) // fixed header: type byte and up to 4 bytes of remaining length
	rl, shift := 0, 0
	for i := 1; i < len(b); i++ {
		rl |= int(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return 1+i+rl <= n
		}
		shift += 7
	}
	return false
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// waitReadable blocks until the next packet's first byte is buffered. It returns
// park=true when the connection went to the poller instead; this goroutine must end.
func (c *client) waitReadable(now time.Time) (park bool, err error) {
	if c.raw == nil {
		_, err = c.br.Peek(1)
		return false, err
	}
	for {
		c.idleSince.Store(now.UnixNano())
		c.state.Store(stIdle)
		if c.parkFirst && c.bare {
			// Nothing but the socket can hold the next byte: park without a read (which
			// would only fail on a past deadline, and allocate its error doing so).
			err = os.ErrDeadlineExceeded
		} else {
			_, err = c.br.Peek(1)
		}
		if c.state.CompareAndSwap(stIdle, stBusy) {
			if !c.parkFirst || !isTimeout(err) {
				return false, err
			}
			// The past deadline of a fresh connection: park it.
		} else {
			// The sweeper asked this idle reader to park: holding mu means its past deadline is set.
			c.mu.Lock()
			c.state.Store(stBusy)
			c.mu.Unlock()
		}
		// A read with a past deadline fails at once unless a layer (TLS, PROXY) holds data,
		// so a timeout here proves the socket is the only place the next byte can come from.
		c.parkFirst = false
		now = time.Now()
		expired := c.keepaliveOver(now.UnixNano())
		if isTimeout(err) && !expired && c.park() {
			return true, nil
		}
		c.restoreDeadline()
		if !isTimeout(err) || expired {
			return false, err
		}
	}
}

// park hands the idle socket to the poller; false means it could not (keep reading).
func (c *client) park() bool {
	if c.srv.settings.Load().ParkIdleAfter <= 0 {
		return false
	}
	c.peer.Detach() // the listener must not close the socket when this goroutine ends
	if c.resumeFn == nil {
		c.resumeFn = c.resume
	}
	c.releaseReader()
	if c.sess != nil {
		c.sess.Idle()
	}
	// Held until the arm's result is read: a reader resumed at once waits for it (resume).
	c.mu.Lock()
	c.state.Store(stParked)
	c.fdOp = fdArmNew
	if c.armed {
		c.fdOp = fdArm
	}
	c.armed = true // before arming: from then on the resumed reader owns c (Wait falls back to add)
	err := c.raw.Control(c.fdFunc())
	failed := err != nil || c.armFailed
	c.armFailed = false
	c.mu.Unlock()
	if failed {
		c.state.Store(stBusy)
		c.br = newReader(&c.src, readBufferSize(c.peer.ReadBuffer))
		return false
	}
	c.srv.parks.Add(1)
	// From here another goroutine may already own the connection.
	if c.isClosed() {
		c.unpark() // a close raced the arming: make sure a reader sees it
	}
	return true
}

// resume is a parked connection's new reader goroutine.
func (c *client) resume() {
	defer func() {
		if r := recover(); r != nil {
			c.srv.Log.Error("connection handler panicked; connection closed", "client_id", c.clientID(), "peer", c.peer.Addr, "panic", r)
		}
	}()
	// Taken after park has read its arm's result (it holds mu until then): c is this
	// goroutine's from here.
	c.mu.Lock()
	c.state.Store(stBusy)
	c.mu.Unlock()
	growstack.Grow() // as the listener's goroutine: the resumed reader handles packets
	c.srv.resumes.Add(1)
	c.br = newReader(&c.src, readBufferSize(c.peer.ReadBuffer))
	c.restoreDeadline()
	c.serve()
}

// unpark resumes a parked connection whose socket will not wake the poller (closed).
func (c *client) unpark() {
	if c.srv.poller != nil && c.state.Load() == stParked && c.srv.poller.Cancel(c.key) {
		go c.resume()
	}
}

func (c *client) isClosed() bool {
	return c.life.kicked.Load() || c.ctx != nil && c.ctx.Err() != nil
}

// restoreDeadline puts back the keepalive deadline after a past one.
func (c *client) restoreDeadline() {
	if d := c.deadline.Load(); d != 0 {
		c.nc.SetReadDeadline(time.Unix(0, d))
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
}

func (c *client) keepaliveOver(now int64) bool {
	d := c.deadline.Load()
	return d != 0 && now >= d
}

// sweepOne asks a long-idle reader to park and reports a parked client whose keepalive
// ran out (expired) or whose socket was closed under it (closed: by the listener).
func (c *client) sweepOne(now int64, after time.Duration) (expired, closed bool) {
	switch c.state.Load() {
	case stIdle:
		if after > 0 && now-c.idleSince.Load() >= int64(after) {
			c.mu.Lock()
			if c.state.CompareAndSwap(stIdle, stParking) {
				c.nc.SetReadDeadline(aLongTimeAgo)
			}
			c.mu.Unlock()
		}
	case stParked:
		return c.keepaliveOver(now), c.ctx.Err() != nil
	}
	return false, false
}
