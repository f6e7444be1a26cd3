package conn

import (
	"sync"
	"syscall"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// socketWriter owns every write to one client's socket. The protocol, in one place:
//
//   - Before the session exists (a refusing CONNACK, an AUTH exchange) and for the last packet
//     of a connection (the DISCONNECT of a kick), the connection writes one encoded packet
//     itself (packet, final), with a deadline of packetTimeout. The successful CONNACK is the
//     session's first packet: on plain TCP the session is attached corked and the reader's
//     Uncork right after registration writes it (broker.ConnectRequest.Corked); otherwise the
//     flusher does.
//   - While the client is online, its session decides what is written and when, and only
//     one of two writers runs at a time (the session's flushing flag): the flusher goroutine
//     through Write (session.Link), which may block up to writeTimeout, or the reader at
//     Uncork through WriteDirect, a raw write(2) that stops at EAGAIN and never blocks (plain
//     TCP only: TLS and WebSocket frame their writes). It runs in RawConn.Control, which
//     holds the descriptor open but takes neither the descriptor's write lock nor its write
//     deadline: the writer's own lock orders it against every other write. What a direct write leaves unwritten
//     the session hands to the flusher, which writes it before anything else; owed counts
//     those bytes so that the trace shows them once.
//   - The writer's lock (mu) is held for the length of each write, so the bytes of two
//     packets never interleave. final waits for it at most finalWait: a client that does not
//     read holds a write in progress for up to writeTimeout, and its kick must not wait that
//     long; nor does final write while the session still owes the rest of a partial write.
//     The connection then closes without the DISCONNECT.
type socketWriter struct {
	mu   sync.Mutex      // the lock; lockWithin waits for it with a bound
	raw  syscall.RawConn // the socket when nothing frames writes: direct writes
	owed int             // bytes of the last direct write that the flusher still writes

	// A direct write's argument and results, for the client's onFd (a closure over them
	// per write escaped to the heap, an allocation per answer).
	buf []byte
	n   int
	err error
}

func (w *socketWriter) lock()   { w.mu.Lock() }
func (w *socketWriter) unlock() { w.mu.Unlock() }

// lockWithin takes the lock unless d passes first. The lock is a mutex, not a channel of
// one slot, which every connection paid an allocation and 96 B for (issue 19): only a kick
// that meets a write in progress (rare) waits, through a goroutine that takes the lock and
// hands it over, or gives it back if the wait ended first.
func (w *socketWriter) lockWithin(d time.Duration) bool {
	if w.mu.TryLock() {
		return true
	}
	got, gaveUp := make(chan struct{}), make(chan struct{})
	go func() {
		w.mu.Lock()
		select {
		case got <- struct{}{}: // the waiter holds it now
		case <-gaveUp:
			w.mu.Unlock()
		}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-got:
		return true
	case <-t.C:
		close(gaveUp)
		return false
	}
}

const (
	// writeTimeout bounds a flusher write to a client that stopped reading; the socket
	// buffers and max_online_messages bound what waits behind it meanwhile.
	writeTimeout = 60 * time.Second
	// packetTimeout bounds a packet the connection writes itself (CONNACK, DISCONNECT).
	packetTimeout = 2 * time.Second
	// finalWait bounds how long a kick waits for a write in progress before closing without
	// its DISCONNECT: far above a write to a client that reads, far below writeTimeout.
	finalWait = 250 * time.Millisecond
)

// directWriter finds the socket of a write that never blocks (session.Uncork): none when a
// layer frames what is written (TLS, WebSocket). Only a plain TCP socket, under the
// listener's tracking and a PROXY header, has one; it reports whether c has one.
func (c *client) directWriter() bool {
	rc, underTLS, layered := socketBeneath(c.nc)
	if rc == nil || underTLS {
		return false
	}
	c.out.raw = rc
	c.bare = !layered
	return true
}

// directWrite is what Uncork gets: c, or a nil interface without a direct write.
func (c *client) directWrite() session.DirectWrite {
	if c.out.raw == nil {
		return nil
	}
	return c
}

// Write is the flusher's write (session.Link).
func (c *client) Write(b []byte) (int, error) {
	w := &c.out
	w.lock()
	defer w.unlock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	skip := min(w.owed, len(b)) // the rest of a direct write, traced already
	w.owed -= skip
	c.traceOut(b[skip:])
	return c.nc.Write(b)
}

// WriteDirect writes what the socket's buffer takes now (session.DirectWrite). Only the
// connection's reader calls it (at Uncork).
func (c *client) WriteDirect(b []byte) (n int, err error) {
	w := &c.out
	w.lock()
	defer w.unlock()
	w.buf, w.n, w.err = b, 0, nil
	c.fdOp = fdWrite
	cerr := w.raw.Control(c.fdFunc())
	n, err = w.n, w.err
	w.buf, w.err = nil, nil
	if n > 0 {
		// Traced whole: the session hands the rest to the flusher, whose Write skips it.
		c.traceOut(b)
		w.owed = len(b) - n
	}
	if cerr != nil && err == nil {
		err = cerr // closed under us
	}
	return n, err
}

// writeAll writes w.buf to fd until it is written, the socket is full or an error (w's
// lock held).
func (w *socketWriter) writeAll(fd uintptr) {
	for w.n < len(w.buf) {
		m, e := syscall.Write(int(fd), w.buf[w.n:])
		if m > 0 {
			w.n += m
		}
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return // full: the flusher waits for room
		case e != nil:
			w.err = e
			return
		}
	}
}

// packet writes p before the session exists (CONNACK, a refusal).
func (c *client) packet(p packets.Packet) {
	c.out.lock()
	defer c.out.unlock()
	c.writePacketLocked(p)
}

// final writes p as the connection's last packet, unless a write is in progress or owed
// (see socketWriter): it reports whether p was written.
func (c *client) final(p packets.Packet) bool {
	w := &c.out
	if !w.lockWithin(finalWait) {
		return false
	}
	defer w.unlock()
	return w.owed == 0 && c.writePacketLocked(p)
}

func (c *client) writePacketLocked(p packets.Packet) bool {
	b, err := packets.Encode(nil, p, c.version)
	if err != nil {
		return false
	}
	c.nc.SetWriteDeadline(time.Now().Add(packetTimeout))
	if _, err := c.nc.Write(b); err != nil {
		return false
	}
	c.srv.Metrics.BytesSent.Add(uint64(len(b)))
	switch p := p.(type) {
	case *packets.Disconnect:
		c.pm().DisconnectSent.Inc(p.ReasonCode)
	case *packets.Connack:
		c.pm().ConnackSent.Inc(p.ReasonCode) // a 3.1.1 return code for older clients
	case *packets.Auth:
		c.pm().AuthSent.Inc(p.ReasonCode)
	}
	return true
}
