package broker

import (
	"context"
	"time"
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
