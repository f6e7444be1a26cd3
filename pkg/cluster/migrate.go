package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/serf/serf"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// migrations tracks this node's handover requests (and leave-time pushes) waiting for their answer.
type migrations struct {
	mu      sync.Mutex
	next    uint64
	pending map[uint64]pendingMove
}

type pendingMove struct {
	ch      chan handover
	id      broker.SessionID
	restore bool // a found session is restored here (false: clean start, or a push's acknowledgement)
	since   time.Time
}

// abandonedKeep is how long an unanswered request stays, so a late answer is still restored.
const abandonedKeep = time.Minute

// handover is a session moved from another node.
type handover struct {
	found bool
	broker.Moved
	release func() // on the giving node: broker.HandOver's, called by movedSent
}

func (m *migrations) init() { m.pending = map[uint64]pendingMove{} }

// offlineWait bounds how long the old node waits for its kicked client's connection to end.
const offlineWait = 3 * time.Second

// handoverWait bounds the wait for one node's answer, so a member that does not answer
// (failed, not yet removed) cannot hold a CONNECT for the whole registrar timeout.
const handoverWait = offlineWait + 3*time.Second

// BeforeConnect implements broker.Registrar: with coordinate_registrations it first
// takes the client id's registration lock (see coord.go); then every other node that
// holds a session of id is asked to hand it over (clean start: to drop it). The old
// node kicks its client (0x8E), sends the subscriptions and the pending deliveries in
// order, forgets the session and forwards what still arrives for it; the session is
// restored here, durably, before the answer's frame is done (so forwarded messages
// that follow it on the link find it).
func (c *Cluster) BeforeConnect(ctx context.Context, id broker.SessionID, cleanStart bool) error {
	c.forgetMoved(id)
	owners := c.tab.owners(id)
	var errs []error
	if c.o.Setting("coordinate_registrations") {
		last, err := c.lockRegistration(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("registration of %q not coordinated: %w", id.ClientID, err))
		} else if last != "" && last != c.o.Node && !slices.Contains(owners, last) {
			owners = append(owners, last)
		}
	}
	for _, node := range owners {
		if !c.running(node) || c.peerUnreachable(node) {
			continue // a failed, crashed or departed member cannot answer (AllowedRegister refused this connect unless allow_register_during_netsplit)
		}
		hctx, cancel := context.WithTimeout(ctx, handoverWait)
		_, err := c.requestHandover(hctx, node, id, cleanStart)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("session %q on %s: %w", id.ClientID, node, err))
		}
	}
	if len(owners) > 0 {
		c.tab.markDirty(id)
	}
	return errors.Join(errs...)
}

func (c *Cluster) waitMove(ctx context.Context, id broker.SessionID, restore bool, send func(req uint64)) (handover, error) {
	ch := make(chan handover, 1)
	c.mig.mu.Lock()
	c.mig.next++
	req := c.mig.next
	now := time.Now()
	for r, p := range c.mig.pending {
		if now.Sub(p.since) > abandonedKeep {
			delete(c.mig.pending, r)
		}
	}
	c.mig.pending[req] = pendingMove{ch: ch, id: id, restore: restore, since: now}
	c.mig.mu.Unlock()
	send(req)
	select {
	case h := <-ch:
		return h, nil
	case <-ctx.Done():
		// The entry stays (abandonedKeep): a late answer is still restored, not lost.
		return handover{}, fmt.Errorf("no answer from the node holding the session: %w", ctx.Err())
	}
}

func (c *Cluster) requestHandover(ctx context.Context, node string, id broker.SessionID, cleanStart bool) (handover, error) {
	return c.waitMove(ctx, id, !cleanStart, func(req uint64) {
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
	})
}

func (c *Cluster) handleHandoverReq(peer string, d *dec) error {
	req, id, clean := d.uv(), d.sid(), d.u8() == 1
	if err := d.done(); err != nil {
		return err
	}
	go func() { // waiting for the client to go offline must not stall the link
		c.answerHandover(peer, req, id, c.giveUp(peer, id, clean))
	}()
	return nil
}

// answerHandover sends h, the session id given up, to peer as the answer to its request
// req; what was held for the session follows it (movedSent).
func (c *Cluster) answerHandover(peer string, req uint64, id broker.SessionID, h handover) {
	f, err := appendFrame(nil, fHandoverRes, func(e *enc) error { return encodeHandover(e, req, h) })
	if err != nil {
		c.log.Warn("session handover could not be encoded; the session is lost", "client_id", id.ClientID, "error", err)
		f, _ = appendFrame(nil, fHandoverRes, func(e *enc) error { return encodeHandover(e, req, handover{}) })
	}
	c.sendTo(peer, f)
	c.movedSent(id, h.release)
}

// giveUp hands id's session over to peer: kick, wait until offline, take it out, forget.
func (c *Cluster) giveUp(peer string, id broker.SessionID, clean bool) handover {
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
	c.noteMoved(id, peer, s.Subs()) // before the session goes: what arrives from now on is passed on
	m, release, ok := c.b.HandOver(id)
	if !ok {
		c.forgetMoved(id)
		return handover{}
	}
	return handover{found: true, Moved: m, release: release}
}

func encodeHandover(e *enc, req uint64, h handover) error {
	e.uv(req)
	if !h.found {
		e.u8(0)
		return nil
	}
	e.u8(1)
	e.uv(uint64(h.Expiry))
	e.sv(h.OfflineSince.UnixNano())
	e.subs(h.Subs)
	e.uv(uint64(len(h.Queue)))
	for _, d := range h.Queue {
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
	h.Expiry = uint32(d.uv())
	h.OfflineSince = time.Unix(0, d.sv())
	h.Subs = d.subs()
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return req, h
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		h.Queue = append(h.Queue, d.delivery())
	}
	return req, h
}

// handleHandoverRes restores the moved session on the link's reader, before any later
// frame of that peer (messages it forwards for the session) is handled.
func (c *Cluster) handleHandoverRes(d *dec) error {
	req, h := decodeHandover(d)
	if err := d.done(); err != nil {
		return err
	}
	c.mig.mu.Lock()
	p, ok := c.mig.pending[req]
	delete(c.mig.pending, req)
	c.mig.mu.Unlock()
	if !ok {
		if h.found {
			c.log.Warn("a moved session arrived for an unknown request; its queue is lost", "messages", len(h.Queue))
		}
		return nil
	}
	if h.found && p.restore {
		c.restore(p.id, h.Moved)
	}
	p.ch <- h
	return nil
}

// restore recreates the moved session here (its queue committed to the store), or adds
// its queue to the session already here.
func (c *Cluster) restore(id broker.SessionID, m broker.Moved) {
	if c.b.Session(id) != nil {
		c.log.Warn("moved session merged into a session already on this node", "client_id", id.ClientID)
	}
	c.b.RestoreMoved(id, m)
	c.tab.markDirty(id)
	c.log.Info("session moved to this node", "client_id", id.ClientID, "subscriptions", len(m.Subs), "messages", len(m.Queue))
}

// running reports whether node is an alive member.
func (c *Cluster) running(node string) bool {
	for _, m := range c.serf.Members() {
		if m.Name == node {
			return m.Status == serf.StatusAlive
		}
	}
	return false
}
