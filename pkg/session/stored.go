package session

// Restore puts deliveries loaded from the message store at the head of an
// offline session's queue; maxSeq is the highest store sequence read, so that a
// write that committed meanwhile is not queued twice (see EnqueueStored).
func (s *Session) Restore(ds []Delivery, maxSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.q
	s.q = queue{}
	for _, d := range ds {
		s.q.push(d)
	}
	old.each(func(d *Delivery) { s.q.push(*d) })
	if maxSeq > s.loadedSeq {
		s.loadedSeq = maxSeq
	}
}

// EnqueueStored is told that a delivery for this session committed to the store
// with sequence d.Seq. While offline it stays in the store only; once the client is
// back (and the store was read up to a lower sequence) it joins the online queue.
func (s *Session) EnqueueStored(d Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link == nil || s.closed || d.Seq <= s.loadedSeq {
		return false
	}
	return s.enqueueLocked(d)
}

// TakePending empties the queue and the inflight window of an offline session and
// returns them in order (inflight first), for writing to the store.
func (s *Session) TakePending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link != nil {
		return nil
	}
	out := make([]Delivery, 0, s.infl.Len()+s.q.Len())
	s.infl.each(func(o *outMsg) {
		if o.state != awaitPubcomp {
			out = append(out, o.d)
		}
	})
	s.q.each(func(d *Delivery) { out = append(out, *d) })
	s.infl = inflight{}
	s.q = queue{}
	s.loadedSeq = 0
	return out
}
