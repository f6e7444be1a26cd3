package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// migrations tracks this node's handover requests waiting for their answer.
type migrations struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan handover
}

// handover is a session moved from another node.
type handover struct {
	found        bool
	expiry       uint32
	offlineSince time.Time
	subs         []session.Sub
	queue        []session.Delivery
}

func (m *migrations) init() { m.pending = map[uint64]chan handover{} }

// offlineWait bounds how long the old node waits for its kicked client's connection to end.
const offlineWait = 3 * time.Second

// BeforeConnect implements broker.Registrar: before id registers here, every other
// node that holds a session of id is asked to hand it over (clean start: to drop
// it). The old node kicks its client (0x8E), sends the subscriptions and the
// pending deliveries in order, and forgets the session; we restore it here.
func (c *Cluster) BeforeConnect(ctx context.Context, id broker.SessionID, cleanStart bool) error {
	owners := c.tab.owners(id)
	var errs []error
	for _, node := range owners {
		h, err := c.requestHandover(ctx, node, id, cleanStart)
		if err != nil {
			errs = append(errs, fmt.Errorf("session %q on %s: %w", id.ClientID, node, err))
			continue
		}
		if h.found && !cleanStart {
			c.restore(id, h)
		}
	}
	if len(owners) > 0 {
		c.tab.markDirty(id)
	}
	return errors.Join(errs...)
}

func (c *Cluster) requestHandover(ctx context.Context, node string, id broker.SessionID, cleanStart bool) (handover, error) {
	ch := make(chan handover, 1)
	c.mig.mu.Lock()
	c.mig.next++
	req := c.mig.next
	c.mig.pending[req] = ch
	c.mig.mu.Unlock()
	defer func() {
		c.mig.mu.Lock()
		delete(c.mig.pending, req)
		c.mig.mu.Unlock()
	}()
	f, _ := appendFrame(nil, fHandoverReq, func(e *enc) error {
		e.uv(req)
		e.sid(id)
		if cleanStart {
			e.u8(1)
		} else {
			e.u8(0)
		}
		return nil
	})
	c.sendTo(node, f)
	select {
	case h := <-ch:
		return h, nil
	case <-ctx.Done():
		return handover{}, fmt.Errorf("no answer from the node holding the session: %w", ctx.Err())
	}
}

// restore recreates the moved session here, or adds its queue to the one already here.
func (c *Cluster) restore(id broker.SessionID, h handover) {
	s := c.b.Session(id)
	if s == nil {
		s = c.b.RestoreSession(id, h.expiry, h.offlineSince, h.subs)
	} else {
		c.log.Warn("moved session merged into a session already on this node", "client_id", id.ClientID)
	}
	for _, d := range h.queue {
		d.Seq = 0 // store sequence numbers belong to the old node's store
		s.Enqueue(d)
	}
	c.log.Info("session moved to this node", "client_id", id.ClientID, "subscriptions", len(h.subs), "messages", len(h.queue))
}

func (c *Cluster) handleHandoverReq(peer string, d *dec) error {
	req, id, clean := d.uv(), d.sid(), d.u8() == 1
	if err := d.done(); err != nil {
		return err
	}
	go func() { // waiting for the client to go offline must not stall the link
		h := c.giveUp(id, clean)
		f, err := appendFrame(nil, fHandoverRes, func(e *enc) error { return encodeHandover(e, req, h) })
		if err != nil {
			c.log.Warn("session handover could not be encoded; the session is lost", "client_id", id.ClientID, "error", err)
			f, _ = appendFrame(nil, fHandoverRes, func(e *enc) error { return encodeHandover(e, req, handover{}) })
		}
		c.sendTo(peer, f)
	}()
	return nil
}

// giveUp hands id's session over: kick, wait until offline, snapshot, forget.
func (c *Cluster) giveUp(id broker.SessionID, clean bool) handover {
	s := c.b.Session(id)
	if s == nil {
		return handover{}
	}
	defer c.tab.markDirty(id)
	s.Kick(packets.SessionTakenOver)
	if clean {
		c.b.Forget(id)
		return handover{}
	}
	deadline := time.Now().Add(offlineWait)
	for s.Online() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the connection's goroutine detaches the session
	}
	if c.b.Session(id) != s { // a clean session ended with its connection
		return handover{}
	}
	persistent, expiry := s.Persistent()
	if !persistent {
		c.b.Forget(id)
		return handover{}
	}
	_, offline := s.Info()
	h := handover{found: true, expiry: expiry, offlineSince: offline, subs: s.Subs(), queue: c.b.OfflineQueue(s)}
	c.b.Forget(id)
	return h
}

func encodeHandover(e *enc, req uint64, h handover) error {
	e.uv(req)
	if !h.found {
		e.u8(0)
		return nil
	}
	e.u8(1)
	e.uv(uint64(h.expiry))
	e.sv(h.offlineSince.UnixNano())
	e.subs(h.subs)
	e.uv(uint64(len(h.queue)))
	for _, d := range h.queue {
		if err := e.delivery(d); err != nil {
			return err
		}
	}
	return nil
}

func decodeHandover(d *dec) (uint64, handover) {
	req := d.uv()
	var h handover
	if h.found = d.u8() == 1; !h.found {
		return req, h
	}
	h.expiry = uint32(d.uv())
	h.offlineSince = time.Unix(0, d.sv())
	h.subs = d.subs()
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return req, h
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		h.queue = append(h.queue, d.delivery())
	}
	return req, h
}

func (c *Cluster) handleHandoverRes(d *dec) error {
	req, h := decodeHandover(d)
	if err := d.done(); err != nil {
		return err
	}
	c.mig.mu.Lock()
	ch := c.mig.pending[req]
	c.mig.mu.Unlock()
	if ch == nil {
		if h.found {
			c.log.Warn("a session arrived after its connect gave up waiting; its queue is lost", "messages", len(h.queue))
		}
		return nil
	}
	ch <- h
	return nil
}
