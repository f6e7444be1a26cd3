package conn

import (
	"errors"
	"os"
	"syscall"

	"github.com/vernemq-go/vernemq/pkg/session"
)

// directWriter gives the session a write that never blocks, for the reader to send its
// own answers without waking a flusher goroutine (session.Uncork). Only a plain TCP
// socket, under the listener's tracking and a PROXY header, has one: TLS and WebSocket
// must frame what they write.
func (c *client) directWriter() session.DirectWrite {
	rc, underTLS := socketBeneath(c.nc)
	if rc == nil || underTLS {
		return nil
	}
	c.wraw = rc
	return c.writeDirect
}

// writeDirect writes what the socket's buffer takes now (session.DirectWrite).
func (c *client) writeDirect(b []byte) (n int, err error) {
	werr := c.wraw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true // full: the flusher waits for room
			case e != nil:
				err = e
				return true
			}
		}
		return true
	})
	if n > 0 {
		// Traced whole: the session hands the rest to the flusher, whose Write skips it.
		c.traceOut(b)
		c.tracedAhead = len(b) - n
	}
	// The flusher's last write deadline (write_timeout) may have passed since: the flusher
	// writes instead, setting a new one.
	if werr != nil && !errors.Is(werr, os.ErrDeadlineExceeded) && err == nil {
		err = werr
	}
	return n, err
}
