package node

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP listener timeouts: a request's headers within 10 s, the whole request within
// 30 s, and a keep-alive connection closed after 60 s idle (cowboy's idle_timeout).
// No write timeout: a streamed trace over /api/v1 may run longer.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 30 * time.Second
	httpIdleTimeout       = 60 * time.Second
)

// capListener closes connections beyond max at once (as the MQTT listeners do), so that
// idle or slow HTTP clients cannot take the node's file descriptors; max 0 = no cap.
type capListener struct {
	net.Listener
	max     int64
	active  atomic.Int64
	refused atomic.Uint64
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.max > 0 && l.active.Add(1) > l.max {
			l.active.Add(-1)
			l.refused.Add(1)
			c.Close()
			continue
		}
		if l.max <= 0 {
			l.active.Add(1)
		}
		return &cappedConn{Conn: c, l: l}, nil
	}
}

type cappedConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *cappedConn) Close() error {
	c.once.Do(func() { c.l.active.Add(-1) })
	return c.Conn.Close()
}
