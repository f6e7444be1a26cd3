package broker

import (
	"context"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
)

// Registrar is implemented by a Remote that coordinates client-id registrations
// across the cluster (coordinate_registrations, session migration).
type Registrar interface {
	// BeforeConnect runs before a CONNECT registers id on this node: with cleanStart the
	// session is dropped wherever it lives; without, it is moved here (restored with
	// RestoreSession) so that Connect resumes it. An error means the previous session
	// could not be reached; the connect then proceeds with what this node has.
	BeforeConnect(ctx context.Context, id SessionID, cleanStart bool) error
}

// registrarTimeout bounds how long a CONNECT waits for another node to hand its session over.
const registrarTimeout = 10 * time.Second

// beforeConnect asks the cluster (when the Remote is a Registrar) to move or drop id's session.
func (b *Broker) beforeConnect(ctx context.Context, id SessionID, cleanStart bool) {
	r, ok := b.remoteNodes().(Registrar)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, registrarTimeout)
	defer cancel()
	if err := r.BeforeConnect(ctx, id, cleanStart); err != nil {
		b.log.Warn("cluster registration incomplete; connecting with this node's state", "client_id", id.ClientID, "error", err)
	}
}

// Hooks returns the current notification hooks, so a component can chain its own
// with those already set (SetHooks replaces the whole set).
func (b *Broker) Hooks() Hooks { return *b.hooks.Load() }

// Mover is implemented by a Remote that moves sessions between nodes: a delivery routed
// to a session after HandOver took it out of this node goes to its new node.
type Mover interface {
	// PassOn hands d, for the session id moved away from this node, to the node that now
	// has it, after the session itself (its hand-over is on the link first); false when
	// no move of id is known (d is then dropped).
	PassOn(id SessionID, d session.Delivery) bool
}

// passOn gives d, routed to the handed-off session id, to the cluster (see Mover).
func (b *Broker) passOn(id SessionID, d session.Delivery) bool {
	if m, ok := b.remoteNodes().(Mover); ok {
		return m.PassOn(id, d)
	}
	return false
}

// OfflineQueue returns, in order, every delivery waiting for the session s: those in
// the message store, then those still in memory. It reads after every store write
// already submitted for s has committed, so nothing acknowledged is missed.
func (b *Broker) OfflineQueue(s *session.Session) []session.Delivery {
	s.LockStore()
	defer s.UnlockStore()
	rec, persistent := record(s)
	return b.queueOf(s, rec, persistent, s.Pending())
}

// queueOf returns s's stored queue followed by the deliveries of memory that are not in
// it. With barrier it first waits for s's store acks in flight and commits rec: the
// writer commits in submission order, so every write submitted for s before is then
// durable and readable.
func (b *Broker) queueOf(s *session.Session, rec store.Session, barrier bool, memory []session.Delivery) []session.Delivery {
	p := b.persist
	if p.st == nil {
		return memory
	}
	if barrier {
		p.waitAcks(s.ID) // acknowledged messages must not move
		p.putSession(s, rec)
	}
	var out []session.Delivery
	stored := map[uint64]bool{}
	err := p.st.Queue(key(s.ID), func(q store.Queued) error {
		out = append(out, session.Delivery{Msg: fromStored(s.ID.Mountpoint, q.Msg), QoS: q.Msg.QoS, Retain: q.Msg.Retain, Seq: q.Seq})
		stored[q.Seq] = true
		return nil
	})
	if err != nil {
		b.log.Error("message store: reading the queue of a migrating session failed", "client_id", s.ID.ClientID, "error", err)
	}
	for _, d := range memory {
		if d.Seq == 0 || !stored[d.Seq] {
			out = append(out, d)
		}
	}
	return out
}

// Moved is an offline persistent session taken out of this node to move to another.
type Moved struct {
	Expiry       uint32
	OfflineSince time.Time
	Subs         []session.Sub
	Queue        []session.Delivery
}

// HandOver takes the offline session id out of this node for migration. Under its store
// lock it hands the session off (session.HandOff, which empties its memory): every
// delivery routed to it afterwards is passed on to its new node (Mover) instead of being
// refused, and none is stored for it any more. Then, with no lock held (a store commit
// under the session's store lock would stall the store's callbacks), it reads the stored
// queue once every write submitted before has committed. The session leaves the registry
// and the store at once, but its subscriptions stay in the index, still routing this
// node's publishes to it (and so on to the new node), until release is called: call it
// once the new node is routed to (its entries are in the index) or the session was
// restored here. ok is false when there is no persistent session of id (a non-persistent
// one is forgotten).
func (b *Broker) HandOver(id SessionID) (m Moved, release func(), ok bool) {
	s := b.Session(id)
	if s == nil {
		return m, nil, false
	}
	persistent, expiry := s.Persistent()
	if !persistent {
		b.Forget(id)
		return m, nil, false
	}
	_, offline := s.Info()
	m = Moved{Expiry: expiry, OfflineSince: offline, Subs: s.Subs()}
	s.LockStore()
	rec, _ := record(s) // before the hand-off makes it non-persistent
	memory := s.HandOff()
	s.UnlockStore()
	m.Queue = b.queueOf(s, rec, true, memory)
	b.reg.mu.Lock()
	if e := b.reg.sessions[id]; e != nil && e.s == s {
		delete(b.reg.sessions, id)
		if e.expiry != nil {
			e.expiry.Stop()
		}
		if e.will != nil {
			e.will.timer.Stop()
		}
	}
	b.reg.mu.Unlock()
	s.Kick(packets.AdministrativeAction) // offline already, unless its client outlived the wait for it
	b.persist.deleteSession(s)
	b.m.QueueTeardown.Inc()
	release = func() {
		if b.Session(id) == nil { // a session of id registered here since owns the entries now
			b.dropSubscriptions(s)
		}
		s.Close()
	}
	return m, release, true
}

// movedCommitWait bounds how long a moved-in queue waits for its store commits.
const movedCommitWait = 10 * time.Second

// RestoreMoved recreates a session moved from another node, or adds the moved queue
// to the session of id already here. The queue goes through the persistence path: an
// offline session's messages are committed to this node's store before it returns.
func (b *Broker) RestoreMoved(id SessionID, m Moved) *session.Session {
	s := b.Session(id)
	if s == nil {
		s = b.RestoreSession(id, m.Expiry, m.OfflineSince, m.Subs)
		b.persist.saveSession(s)
	}
	done := make(chan error, 1)
	w := b.persist.newWait(func(err error) { done <- err })
	for _, d := range m.Queue {
		d.Seq = 0 // store sequence numbers belong to the old node's store
		b.persist.deliver(s, d, w)
	}
	w.release()
	select {
	case err := <-done:
		if err != nil {
			b.log.Error("message store: storing a moved queue failed", "client_id", id.ClientID, "error", err)
		}
	case <-time.After(movedCommitWait):
		b.log.Warn("message store: a moved queue is not committed yet", "client_id", id.ClientID)
	}
	return s
}
