package broker

import (
	"context"
	"time"

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
func (b *Broker) beforeConnect(id SessionID, cleanStart bool) {
	r, ok := b.remoteNodes().(Registrar)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), registrarTimeout)
	defer cancel()
	if err := r.BeforeConnect(ctx, id, cleanStart); err != nil {
		b.log.Warn("cluster registration incomplete; connecting with this node's state", "client_id", id.ClientID, "error", err)
	}
}

// Hooks returns the current notification hooks, so a component can chain its own
// with those already set (SetHooks replaces the whole set).
func (b *Broker) Hooks() Hooks { return *b.hooks.Load() }

// OfflineQueue returns, in order, every delivery waiting for the session s: those in
// the message store, then those still in memory. Session migration sends them to the
// node the client moved to before calling Forget.
func (b *Broker) OfflineQueue(s *session.Session) []session.Delivery {
	p := b.persist
	if p.st == nil {
		return s.Pending()
	}
	s.LockStore()
	defer s.UnlockStore()
	p.ackGroup(s.ID).Wait() // acknowledged messages must not move
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
	for _, d := range s.Pending() {
		if d.Seq == 0 || !stored[d.Seq] {
			out = append(out, d)
		}
	}
	return out
}
