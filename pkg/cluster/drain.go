package cluster

import (
	"context"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// drainWait bounds how long a leaving node waits for the others to take its sessions.
const drainWait = 20 * time.Second

// Drain empties this node before a graceful `cluster leave`: every session must be
// offline (the caller stopped the listeners and disconnected the clients). With kill
// every session is discarded; otherwise each persistent session, with its offline
// queue in order, is pushed to a remaining node chosen by rendezvous hash of its client
// id, which commits it to its store before acknowledging. Messages that still arrive
// here for a moved session are forwarded to its new node until this node is gone.
// It returns how many sessions moved and how many were discarded or could not move.
func (c *Cluster) Drain(kill bool) (moved, lost int) {
	var ids []broker.SessionID
	c.b.Sessions(func(s *session.Session) bool {
		ids = append(ids, s.ID)
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), drainWait)
	defer cancel()
	type push struct {
		id  broker.SessionID
		err chan error
	}
	var pushes []push
	for _, id := range ids {
		if kill {
			if c.b.Forget(id) {
				lost++
			}
			c.tab.markDirty(id)
			continue
		}
		target := c.rendezvous(id, c.o.Node)
		if target == "" {
			c.log.Error("cluster leave: no other running node to take the session; it stays here", "client_id", id.ClientID)
			lost++
			continue
		}
		if s := c.b.Session(id); s != nil {
			c.noteMoved(id, target, s.Subs()) // before the session goes: what arrives from now on is passed on
		}
		m, ok := c.b.HandOver(id)
		c.tab.markDirty(id)
		if !ok {
			c.forgetMoved(id)
			continue // a clean session: nothing to move
		}
		p := push{id: id, err: make(chan error, 1)}
		pushes = append(pushes, p)
		go func() {
			_, err := c.waitMove(ctx, id, false, func(req uint64) {
				f, err := appendFrame(nil, fMoveIn, func(e *enc) error {
					e.sid(id)
					return encodeHandover(e, req, handover{found: true, Moved: m})
				})
				if err != nil {
					c.log.Error("cluster leave: session could not be encoded; it is lost", "client_id", id.ClientID, "error", err)
					return
				}
				c.sendTo(target, f)
				c.movedSent(id)
			})
			p.err <- err
		}()
	}
	for _, p := range pushes {
		if err := <-p.err; err != nil {
			c.log.Error("cluster leave: a moved session was not acknowledged", "client_id", p.id.ClientID, "error", err)
			lost++
		} else {
			moved++
		}
	}
	c.tab.pushDirty()
	c.log.Info("cluster leave: sessions handed to the remaining nodes", "moved", moved, "not_moved", lost)
	return moved, lost
}

// handleMoveIn takes a session pushed by a leaving node and acknowledges it once durable.
func (c *Cluster) handleMoveIn(peer string, d *dec) error {
	id := d.sid()
	req, h := decodeHandover(d)
	if err := d.done(); err != nil {
		return err
	}
	if h.found {
		c.forgetMoved(id)
		c.restore(id, h.Moved)
	}
	f, _ := appendFrame(nil, fHandoverRes, func(e *enc) error { return encodeHandover(e, req, handover{}) })
	c.sendTo(peer, f)
	return nil
}
