package node

import (
	"context"
	"time"
)

// retainedSweep is how often retained messages whose message expiry interval has passed
// are deleted: they are no longer sent, but would otherwise stay in memory and the store.
const retainedSweep = time.Minute

// sweepRetained deletes expired retained messages every retainedSweep until ctx ends
// (vmq-admin retain delete-expired does the same at once).
func (n *Node) sweepRetained(ctx context.Context) {
	t := time.NewTicker(retainedSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if k := n.Broker.DeleteExpiredRetained(now); k > 0 {
				n.Log.Info("expired retained messages deleted", "count", k)
			}
		}
	}
}
