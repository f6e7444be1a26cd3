package session

import "github.com/vernemq-go/vernemq/pkg/topics"

// DeliverHook is VerneMQ's on_deliver(_m5): it may rewrite a delivery (topic, payload,
// properties) right before it is sent to the client.
//
// Active is asked on every flush and must be cheap (an atomic load): while it is false
// the session sends as if there were no hook, with no extra work or allocation. Deliver
// runs on the session's flusher goroutine without the session lock, so a slow plugin
// (a webhook) delays this subscriber only, never a publisher or another session. It
// returns d unchanged, or d with a new Msg (the message is shared: never modify it).
type DeliverHook interface {
	Active() bool
	Deliver(id topics.SubscriberID, info *Info, d Delivery) Delivery
}

// hookBatch bounds the deliveries handed to the hook per flush round.
const hookBatch = 64

// hookActiveLocked says whether queued deliveries must pass the hook before they are sent.
func (s *Session) hookActiveLocked() bool {
	return s.env.Deliver != nil && s.env.Deliver.Active()
}

// runDeliverHookLocked passes the deliveries at the head of the queue that have not been
// through the hook to it, with the lock released meanwhile, and puts the results in their
// place. fillLocked sends nothing unhooked while the hook is active. A delivery that left
// the queue meanwhile (dropped, taken to the store on disconnect) is not put back.
// Called by the flusher with s.mu held; returns with it held.
func (s *Session) runDeliverHookLocked() {
	if !s.hookActiveLocked() {
		return
	}
	a := s.a // the flusher's: set while a.flushing is
	var in, out [hookBatch]Delivery
	n := 0
	a.q.each(func(d *Delivery) {
		if n < hookBatch && !d.hooked {
			in[n] = *d
			n++
		}
	})
	if n == 0 {
		return
	}
	h, info := s.env.Deliver, a.info
	info.Username = s.username
	s.mu.Unlock()
	for i := range in[:n] {
		out[i] = h.Deliver(s.ID, &info, in[i])
		out[i].hooked = true
	}
	s.mu.Lock()
	i := 0 // the queue keeps its order: later entries match later results
	a.q.each(func(d *Delivery) {
		if d.hooked {
			return
		}
		for j := i; j < n; j++ {
			if d.Msg == in[j].Msg && d.Seq == in[j].Seq {
				*d, i = out[j], j+1
				return
			}
		}
	})
}

// hookPendingLocked says whether the flusher stopped only because the next delivery it may
// send has not been through the hook yet (one arrived at the head while it ran).
func (s *Session) hookPendingLocked() bool {
	return s.windowOpenLocked() && !s.a.q.peek().hooked && s.hookActiveLocked()
}
