package broker

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Restored is an offline persistent session read back from the message store.
type Restored struct {
	ID           SessionID
	Expiry       uint32    // seconds; NeverExpire for never
	OfflineSince time.Time // its expiry counts from here
	Username     string    // its owner (session_binding)
	Subs         []session.Sub
	QoS2         []uint16 // incoming packet ids awaiting PUBREL
}

// RestoreBatch carries restored sessions through the three steps of a node start, so each
// step can run on its own goroutine (issue 19: a million sessions in seconds on two cores):
// BuildRestored makes the sessions and touches nothing shared, RegisterRestored puts them in
// the registry under one lock per batch, RouteRestored adds their subscriptions to the index.
// The three steps of one batch run in that order; batches may be at different steps.
type RestoreBatch struct {
	entries   []*entry
	deadlines []time.Time // per entry: when it expires, zero for never
	routes    []*topics.Entry
	isNew     []bool // SetSubs' scratch
}

// Len is the number of sessions in the batch.
func (rb *RestoreBatch) Len() int { return len(rb.entries) }

// Routes is the number of subscriptions in the batch.
func (rb *RestoreBatch) Routes() int { return len(rb.routes) }

// ReserveSessions sizes an empty registry for n sessions, so a restore does not grow the
// map step by step (a tenth of a million-session restore's CPU went to map growth).
func (b *Broker) ReserveSessions(n int) {
	b.reg.mu.Lock()
	if len(b.reg.sessions) == 0 && n > 0 {
		b.reg.sessions = make(map[SessionID]*entry, n)
	}
	b.reg.mu.Unlock()
}

// BuildRestored makes the sessions of rs into rb (emptied first), not yet registered or
// routed. It copies what it keeps of rs. Safe to call from several goroutines at once.
func (b *Broker) BuildRestored(rs []Restored, rb *RestoreBatch) {
	clear(rb.entries)
	clear(rb.routes)
	rb.entries, rb.deadlines, rb.routes = rb.entries[:0], rb.deadlines[:0], rb.routes[:0]
	for i := range rs {
		r := &rs[i]
		s := b.newRestored(r.ID, r.Expiry)
		if r.Username != "" {
			s.SetUsername(r.Username)
		}
		for _, id := range r.QoS2 {
			s.ReceivedQoS2(id)
		}
		rb.isNew = s.SetSubs(r.Subs, rb.isNew)
		for _, sub := range r.Subs {
			rb.routes = append(rb.routes, route(s, sub))
		}
		rb.entries = append(rb.entries, &entry{s: s})
		rb.deadlines = append(rb.deadlines, expiryDeadline(r.Expiry, r.OfflineSince))
	}
}

// RegisterRestored puts the sessions of rb in the registry (a restored id replaces the
// session registered under it) and starts the expiry timers of those that expire.
func (b *Broker) RegisterRestored(rb *RestoreBatch) {
	b.reg.mu.Lock()
	for _, e := range rb.entries {
		b.register(e)
	}
	b.reg.mu.Unlock()
	b.m.QueueInitializedFromStorage.Add(uint64(len(rb.entries)))
}

// RouteRestored adds the subscriptions of rb to the routing index, then starts the expiry
// timers of its sessions that expire.
func (b *Broker) RouteRestored(rb *RestoreBatch) {
	b.index.AddAll(rb.routes)
	b.reg.mu.Lock()
	for i, e := range rb.entries {
		b.armExpiry(e, rb.deadlines[i])
	}
	b.reg.mu.Unlock()
}

// RestoreSession recreates an offline persistent session (from the store at start,
// or migrated from another node) with its subscriptions.
func (b *Broker) RestoreSession(id SessionID, expiry uint32, offlineSince time.Time, subs []session.Sub) *session.Session {
	s := b.newRestored(id, expiry)
	e := &entry{s: s}
	b.reg.mu.Lock()
	b.register(e)
	b.reg.mu.Unlock()
	s.SetSubs(subs, nil)
	routes := make([]*topics.Entry, len(subs))
	for i, sub := range subs {
		routes[i] = route(s, sub)
	}
	b.index.AddAll(routes)
	b.reg.mu.Lock()
	b.armExpiry(e, expiryDeadline(expiry, offlineSince))
	b.reg.mu.Unlock()
	b.m.QueueInitializedFromStorage.Inc()
	return s
}

// newRestored makes an offline persistent session whose record the store holds.
func (b *Broker) newRestored(id SessionID, expiry uint32) *session.Session {
	s := session.New(id, &b.env)
	s.SetPersistence(true, expiry)
	s.MarkStored(true)
	return s
}

// register puts e in the registry; the caller holds reg.mu. Its expiry timer is armed
// only once its subscriptions route (armExpiry): a timer that fired in between would
// remove the subscriptions before they were added, leaving them to a gone session.
func (b *Broker) register(e *entry) {
	b.reg.gen++
	e.gen = b.reg.gen
	b.reg.sessions[e.s.ID] = e
}

// armExpiry starts e's expiry timer (none for a zero deadline) if e is still the session
// registered under its id, untouched since; the caller holds reg.mu.
func (b *Broker) armExpiry(e *entry, deadline time.Time) {
	if deadline.IsZero() || b.reg.sessions[e.s.ID] != e || e.expiry != nil || e.s.Online() {
		return
	}
	id, gen := e.s.ID, e.gen
	e.expiry = time.AfterFunc(max(time.Until(deadline), 0), func() { b.expire(id, gen) })
}

// expiryDeadline is when a session offline since then expires; zero for never.
func expiryDeadline(expiry uint32, offlineSince time.Time) time.Time {
	if expiry == NeverExpire {
		return time.Time{}
	}
	return offlineSince.Add(time.Duration(expiry) * time.Second)
}
