package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// DrainWait is how long a leaving node waits for the others to take its sessions
// (`cluster leave`); a graceful stop uses cluster.stop_handover_timeout.
const DrainWait = 20 * time.Second

// drainParallel bounds the sessions pushed at once: each waits for its registration
// lock and for the new node's acknowledgement, which are round trips, not CPU.
const drainParallel = 32

// Drain empties this node before it leaves (`cluster leave`, graceful stop): every
// session must be offline (the caller stopped the listeners and disconnected the
// clients). With kill every session is discarded; otherwise each persistent session,
// with its offline queue in order, is pushed to a remaining node chosen by rendezvous
// hash of its client id, which commits it to its store before acknowledging. Each push
// holds the client id's registration lock (coordinate_registrations) and releases it
// naming the new node, so a client that reconnects meanwhile anywhere is registered
// after the push and takes its session from the new node. Messages that still arrive
// here for a moved session are forwarded to its new node until this node is gone. A
// session whose push is not acknowledged within wait is put back into this node's store
// (it is served again when this node returns; if the other node did take it, the next
// connect merges both: at-least-once). It returns how many sessions moved and how many
// were discarded or could not move.
func (c *Cluster) Drain(kill bool, wait time.Duration) (moved, lost int) {
	var ids []broker.SessionID
	c.b.Sessions(func(s *session.Session) bool {
		ids = append(ids, s.ID)
		return true
	})
	if !kill && len(ids) > 0 && c.rendezvous(broker.SessionID{}, c.o.Node) == "" {
		c.log.Warn("no other running node to take the sessions; they stay on this node's disk", "sessions", len(ids))
		return 0, len(ids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, drainParallel)
	)
	count := func(ok bool) {
		mu.Lock()
		if ok {
			moved++
		} else {
			lost++
		}
		mu.Unlock()
	}
	for _, id := range ids {
		if kill {
			if c.b.Forget(id) {
				lost++
			}
			c.tab.markDirty(id)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if pushed, ok := c.drainOne(ctx, id); pushed {
				count(ok)
			}
		}()
	}
	wg.Wait()
	c.tab.pushDirty()
	c.log.Info("sessions handed to the remaining nodes", "moved", moved, "not_moved", lost)
	return moved, lost
}

// drainOne pushes one session to its new node under the client id's registration lock.
// pushed is false when there was nothing to move (a clean session, or one a reconnecting
// client took over first).
func (c *Cluster) drainOne(ctx context.Context, id broker.SessionID) (pushed, ok bool) {
	target := c.rendezvous(id, c.o.Node)
	if target == "" {
		c.log.Error("no other running node to take the session; it stays here", "client_id", id.ClientID)
		return true, false
	}
	var coord string
	var token uint64
	if c.o.Setting("coordinate_registrations") {
		if _, err := c.lockRegistration(ctx, id); err != nil {
			c.log.Warn("session pushed without its registration lock", "client_id", id.ClientID, "error", err)
		} else {
			c.reg.mu.Lock()
			h := c.reg.held[id]
			delete(c.reg.held, id)
			c.reg.mu.Unlock()
			coord, token = h.coord, h.token
			defer func() {
				owner := target
				if !ok {
					owner = c.o.Node
				}
				c.sendUnlock(coord, id, token, owner)
			}()
		}
	}
	s := c.b.Session(id)
	if s == nil || s.Online() {
		return false, false // taken over by a client that reconnected first
	}
	c.noteMoved(id, target, s.Subs()) // before the session goes: what arrives from now on is passed on
	m, release, found := c.b.HandOver(id)
	c.tab.markDirty(id)
	if !found {
		c.forgetMoved(id)
		return false, false // a clean session: nothing to move
	}
	_, err := c.waitMove(ctx, id, false, func(req uint64) {
		f, err := appendFrame(nil, fMoveIn, func(e *enc) error {
			e.sid(id)
			return encodeHandover(e, req, handover{found: true, Moved: m})
		})
		if err != nil {
			c.log.Error("a session could not be encoded to move; it stays here", "client_id", id.ClientID, "error", err)
			return
		}
		c.sendTo(target, f)
		c.movedSent(id, release)
		release = nil
	})
	if err != nil {
		// Not acknowledged: keep it on this node's disk rather than lose it.
		c.forgetMoved(id)
		c.b.RestoreMoved(id, m)
		if release != nil { // never sent (the frame could not be encoded)
			release()
		}
		c.tab.markDirty(id)
		c.log.Error("a moved session was not acknowledged; kept on this node", "client_id", id.ClientID, "to", target,
			"messages", len(m.Queue), "error", err)
		return true, false
	}
	return true, true
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
