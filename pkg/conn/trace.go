package conn

import (
	"bufio"
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Trace directions: "in" is client → broker, "out" is broker → client.
const (
	TraceIn  = "in"
	TraceOut = "out"
)

// TraceFunc receives each packet of a traced client; it runs on the connection's
// goroutine, so it must not block (vmq-admin trace client hands it to a channel).
type TraceFunc func(dir string, p packets.Packet)

type tracer struct {
	mountpoint, clientID string
	fn                   TraceFunc
}

// traceSet holds the tracers of one Server.
type traceSet struct {
	active atomic.Int32 // tracers: zero keeps the packet path to one load
	mu     sync.Mutex
	byID   map[uint64]tracer
	nextID uint64
}

// Trace calls fn for every packet read from or written to the client mountpoint/clientID
// until the returned stop is called (vmq-admin trace client).
func (s *Server) Trace(mountpoint, clientID string, fn TraceFunc) (stop func()) {
	ts := &s.traces
	ts.mu.Lock()
	if ts.byID == nil {
		ts.byID = map[uint64]tracer{}
	}
	ts.nextID++
	id := ts.nextID
	ts.byID[id] = tracer{mountpoint: mountpoint, clientID: clientID, fn: fn}
	ts.mu.Unlock()
	ts.active.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			ts.mu.Lock()
			delete(ts.byID, id)
			ts.mu.Unlock()
			ts.active.Add(-1)
		})
	}
}

// tracersOf returns the tracers watching c, or nil.
func (c *client) tracersOf() []TraceFunc {
	ts := &c.srv.traces
	if ts.active.Load() == 0 || c.sess == nil {
		return nil
	}
	var out []TraceFunc
	ts.mu.Lock()
	for _, t := range ts.byID {
		if t.clientID == c.sess.ID.ClientID && t.mountpoint == c.sess.ID.Mountpoint {
			out = append(out, t.fn)
		}
	}
	ts.mu.Unlock()
	return out
}

// traceIn reports a packet read from the client.
func (c *client) traceIn(p packets.Packet) {
	fns := c.tracersOf()
	if fns == nil {
		return
	}
	// The reader reuses its PUBLISH, ack, CONNECT and SUBSCRIBE packets (ReadPacketInto);
	// a tracer may keep them.
	switch x := p.(type) {
	case *packets.Publish:
		cp := *x
		p = &cp
	case *packets.Ack:
		cp := *x
		p = &cp
	case *packets.Connect:
		cp := *x
		p = &cp
	case *packets.Subscribe:
		cp := *x
		cp.Subscriptions = slices.Clone(x.Subscriptions) // one filter's array is the scratch's
		p = &cp
	}
	for _, fn := range fns {
		fn(TraceIn, p)
	}
}

// traceOut reports the packets in b, a batch of encoded packets about to be written.
func (c *client) traceOut(b []byte) {
	fns := c.tracersOf()
	if fns == nil {
		return
	}
	r := bufio.NewReader(bytes.NewReader(b))
	for range 10000 { // a batch never holds more packets than this
		p, err := packets.ReadPacket(r, c.version, 0)
		if err != nil {
			return
		}
		for _, fn := range fns {
			fn(TraceOut, p)
		}
	}
}
