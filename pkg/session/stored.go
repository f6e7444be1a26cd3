package session

// Restore puts deliveries loaded from the message store at the head of an
// offline session's queue; maxSeq is the highest store sequence read, so that a
// write that committed meanwhile is not queued twice (see EnqueueStored).
func (s *Session) Restore(ds []Delivery, maxSeq uint64, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ds) == 0 && !more && s.a == nil {
		return // nothing stored: the session stays small until Attach
	}
	a := s.activeLocked()
	a.backlog = more
	old := a.q
	a.q = queue{}
	for _, d := range ds {
		a.q.push(d)
	}
	old.each(func(d *Delivery) { a.q.push(*d) })
	if maxSeq > a.loadedSeq {
		a.loadedSeq = maxSeq
	}
}

// EnqueueStored is told that a delivery for this session committed to the store
// with sequence d.Seq. While offline it stays in the store only; once the client is
// back (and the store was read up to a lower sequence) it joins the online queue.
func (s *Session) EnqueueStored(d Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.linkLocked() == nil || s.closed || d.Seq <= s.a.loadedSeq || s.a.backlog {
		return false // offline, already read, or to be read in order by the next refill
	}
	return s.enqueueLocked(d)
}

// TakePending empties the queue and the inflight window of an offline session and
// returns them in order (inflight first), for writing to the store.
func (s *Session) TakePending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.a
	if a == nil {
		return []Delivery{}
	}
	if a.link != nil {
		return nil
	}
	out := s.pendingLocked()
	a.infl = inflight{}
	a.q = queue{}
	a.loadedSeq = 0
	a.backlog = false
	s.releaseActiveLocked()
	return out
}

// HandOff marks the offline session as moved to another node and empties it, returning
// what it held in memory as Pending does. In one step under its lock, so no delivery
// lands in between: from then on every delivery is refused (it is offline and no longer
// persistent) and HandedOff tells the router why.
func (s *Session) HandOff() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pendingLocked()
	if a := s.a; a != nil {
		a.infl = inflight{}
		a.q = queue{}
		s.releaseActiveLocked()
	}
	s.persistent, s.expiry = false, 0
	s.handedOff = true
	return out
}

// HandedOff reports whether the session was moved to another node (HandOff).
func (s *Session) HandedOff() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handedOff
}

// Backlogged reports whether part of the queue is still only in the store: new messages
// must then go to the store too, behind it, to keep their order.
func (s *Session) Backlogged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.a != nil && s.a.backlog
}

// RefillWant returns how many stored messages to read next and after which sequence;
// 0 when no refill is due.
func (s *Session) RefillWant() (n int, after uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.a
	if a == nil {
		return 0, 0
	}
	if !a.backlog || a.link == nil || s.closed {
		a.refilling = false
		s.releaseActiveLocked()
		return 0, 0
	}
	return refillStep(s.lim().MaxOnline) - a.q.Len(), a.loadedSeq
}

// AppendRestored adds the next part of the stored queue behind what is queued.
func (s *Session) AppendRestored(ds []Delivery, maxSeq uint64, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.a
	if a == nil {
		return
	}
	a.refilling = false
	if a.link == nil || s.closed {
		s.releaseActiveLocked()
		return
	}
	for _, d := range ds {
		a.q.push(d)
	}
	if maxSeq > a.loadedSeq {
		a.loadedSeq = maxSeq
	}
	a.backlog = more
	s.kickLocked()
}

// refillStep is how many messages of a backlog are held in memory at once.
func refillStep(maxOnline int) int {
	if maxOnline <= 0 || maxOnline > 1000 {
		return 1000
	}
	return maxOnline
}

// RefillStep is refillStep for the store side (the first read on wake-up).
func RefillStep(maxOnline int) int { return refillStep(maxOnline) }

// maybeRefillLocked asks the persister for more once the queue is down to half a step.
func (s *Session) maybeRefillLocked() {
	a := s.a
	if a == nil || !a.backlog || a.refilling || s.env.Persist == nil || a.link == nil {
		return
	}
	if a.q.Len() > refillStep(s.lim().MaxOnline)/2 {
		return
	}
	a.refilling = true
	go s.env.Persist.Refill(s)
}

// RouteState tells the router in one lock whether the client is attached, whether part of
// the queue is still only in the store, and whether the session outlives its connection.
func (s *Session) RouteState() (online, backlog, persistent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.a == nil {
		return false, false, s.persistent
	}
	return s.a.link != nil, s.a.backlog, s.persistent
}
