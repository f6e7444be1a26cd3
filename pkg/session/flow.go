package session

// Flow control: when a delivery leaves an online session's queue at three quarters of
// max_online_messages, the router hands the publisher's reader a channel that closes
// once the queue is down to half. The reader waits on it (bounded: long for QoS 1/2,
// a few milliseconds for QoS 0) before reading more, so a slow subscriber slows its
// QoS 1/2 publishers instead of having their acknowledged messages dropped, and a burst
// of QoS 0 gives the subscriber's flusher the CPU before the queue overflows.

// congestedLocked returns the channel to wait on, or nil when the queue has room.
func (s *Session) congestedLocked() <-chan struct{} {
	a := s.a
	if a == nil || a.link == nil {
		return nil
	}
	limit := s.lim().MaxOnline
	if limit <= 0 || a.q.Len() < limit*3/4 {
		return nil
	}
	if a.drained == nil {
		a.drained = make(chan struct{})
	}
	return a.drained
}

// releaseLocked wakes waiting publishers once the queue is at half or less (or gone).
func (s *Session) releaseLocked() {
	a := s.a
	if a == nil || a.drained == nil {
		return
	}
	limit := s.lim().MaxOnline
	if a.link == nil || s.closed || limit <= 0 || a.q.Len() <= limit/2 {
		close(a.drained)
		a.drained = nil
	}
}

// EnqueueFlow is Enqueue that also returns a channel to wait on when the queue is congested.
func (s *Session) EnqueueFlow(d Delivery) (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.enqueueLocked(d)
	return kept, s.congestedLocked()
}
