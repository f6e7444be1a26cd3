package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Frame types of remote admin commands (vmq-admin ... --all / --node=); they follow
// the list in frame.go, where a duplicate number would fail to compile in handle.
const (
	fAdminReq byte = 14 // request id + argv: run this vmq-admin command and answer
	fAdminRes byte = 15 // request id + status + the command's result as JSON
)

const (
	adminOK       byte = 0
	adminFailed   byte = 1 // the payload is an error message, not a result
	adminMaxBusy       = 4 // remote commands served at once; more are refused so a peer cannot pile them up
	adminDeadline      = 15 * time.Second
)

// AdminHandler runs one vmq-admin command asked for by another node and returns
// its result as JSON; the node sets it (see SetAdminHandler).
type AdminHandler func(ctx context.Context, argv []string) []byte

// adminCalls holds the handler and the requests waiting for an answer; the zero value is ready.
type adminCalls struct {
	mu      sync.Mutex
	handler AdminHandler
	pending map[uint64]chan adminAnswer
	next    atomic.Uint64
	busy    atomic.Int32
}

type adminAnswer struct {
	status  byte
	payload []byte
}

// SetAdminHandler installs what runs the commands other nodes send here; without
// one, their requests are answered with an error.
func (c *Cluster) SetAdminHandler(h AdminHandler) {
	c.adm.mu.Lock()
	c.adm.handler = h
	c.adm.mu.Unlock()
}

// AdminCall runs argv (a vmq-admin command line) on node over the data link and
// returns the result JSON its handler produced.
func (c *Cluster) AdminCall(ctx context.Context, node string, argv []string) ([]byte, error) {
	if node == c.o.Node {
		return nil, errors.New("AdminCall is for other nodes; run the command locally")
	}
	if !c.LinkUp(node) {
		return nil, fmt.Errorf("no data link to node %q (see vmq-admin cluster show)", node)
	}
	ctx, cancel := context.WithTimeout(ctx, adminDeadline)
	defer cancel()
	id := c.adm.next.Add(1)
	ch := make(chan adminAnswer, 1)
	c.adm.mu.Lock()
	if c.adm.pending == nil {
		c.adm.pending = map[uint64]chan adminAnswer{}
	}
	c.adm.pending[id] = ch
	c.adm.mu.Unlock()
	defer func() {
		c.adm.mu.Lock()
		delete(c.adm.pending, id)
		c.adm.mu.Unlock()
	}()
	f, err := adminReqFrame(id, argv)
	if err != nil {
		return nil, err
	}
	c.sendTo(node, f)
	select {
	case a := <-ch:
		if a.status != adminOK {
			return nil, fmt.Errorf("node %s: %s", node, a.payload)
		}
		return a.payload, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("node %s did not answer in time (%v): is its data link up both ways?", node, ctx.Err())
	}
}

func adminReqFrame(id uint64, argv []string) ([]byte, error) {
	return appendFrame(nil, fAdminReq, func(e *enc) error {
		e.uv(id)
		e.uv(uint64(len(argv)))
		for _, a := range argv {
			e.str(a)
		}
		return nil
	})
}

func adminResFrame(id uint64, status byte, payload []byte) ([]byte, error) {
	return appendFrame(nil, fAdminRes, func(e *enc) error {
		e.uv(id)
		e.u8(status)
		e.bytes(payload)
		return nil
	})
}

// decodeAdminReq reads an fAdminReq body; argv is copied out of the read buffer.
func decodeAdminReq(d *dec) (uint64, []string, error) {
	id, n := d.uv(), d.uv()
	if d.err == nil && n > uint64(len(d.b)) {
		return 0, nil, errShort // each word takes at least one byte: a bigger count is a lie
	}
	argv := make([]string, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		argv = append(argv, d.str())
	}
	return id, argv, d.done()
}

// handleAdmin serves fAdminReq and fAdminRes frames from peer.
func (c *Cluster) handleAdmin(peer string, t byte, d *dec) error {
	if t == fAdminRes {
		id, status, payload := d.uv(), d.u8(), d.raw()
		if err := d.done(); err != nil {
			return err
		}
		c.adm.mu.Lock()
		ch := c.adm.pending[id]
		c.adm.mu.Unlock()
		if ch != nil {
			select {
			case ch <- adminAnswer{status, append([]byte(nil), payload...)}:
			default: // a duplicate answer (a batch sent again after a reconnect)
			}
		}
		return nil
	}
	id, argv, err := decodeAdminReq(d)
	if err != nil {
		return err
	}
	c.adm.mu.Lock()
	h := c.adm.handler
	c.adm.mu.Unlock()
	reply := func(status byte, payload []byte) {
		if f, err := adminResFrame(id, status, payload); err == nil {
			c.sendTo(peer, f)
		}
	}
	if h == nil {
		reply(adminFailed, []byte("node "+c.o.Node+" does not serve admin commands yet (still starting?)"))
		return nil
	}
	if c.adm.busy.Add(1) > adminMaxBusy {
		c.adm.busy.Add(-1)
		reply(adminFailed, []byte("node "+c.o.Node+" is busy with other remote admin commands; try again"))
		return nil
	}
	// Run outside the link's read loop: a slow command must not hold up publishes.
	go func() {
		defer c.adm.busy.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), adminDeadline)
		defer cancel()
		reply(adminOK, h(ctx, argv))
	}()
	return nil
}
