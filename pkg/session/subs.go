package session

// subSet holds a session's subscriptions: a slice while there are few (a device has one or
// two; a map of one costs ~400 bytes against 24 for the slice, issue 19), a map from
// subsFew on. Either is nil while there are none.
type subSet struct {
	few  []Sub
	many map[string]Sub
}

const subsFew = 8

func (ss *subSet) len() int { return len(ss.few) + len(ss.many) }

func (ss *subSet) find(filter string) (int, bool) {
	for i := range ss.few {
		if ss.few[i].Filter == filter {
			return i, true
		}
	}
	return -1, false
}

func (ss *subSet) has(filter string) bool {
	if ss.many != nil {
		_, ok := ss.many[filter]
		return ok
	}
	_, ok := ss.find(filter)
	return ok
}

// set records sub; it reports whether the filter was new.
func (ss *subSet) set(sub Sub) bool {
	if ss.many != nil {
		_, had := ss.many[sub.Filter]
		ss.many[sub.Filter] = sub
		return !had
	}
	if i, ok := ss.find(sub.Filter); ok {
		ss.few[i] = sub
		return false
	}
	if len(ss.few) < subsFew {
		if ss.few == nil {
			ss.few = make([]Sub, 0, 1) // exactly one: the common case
		}
		ss.few = append(ss.few, sub)
		return true
	}
	ss.many = make(map[string]Sub, 2*subsFew)
	for _, o := range ss.few {
		ss.many[o.Filter] = o
	}
	ss.few = nil
	ss.many[sub.Filter] = sub
	return true
}

// remove forgets filter; it reports whether it was there.
func (ss *subSet) remove(filter string) bool {
	if ss.many != nil {
		_, had := ss.many[filter]
		delete(ss.many, filter)
		return had
	}
	i, ok := ss.find(filter)
	if !ok {
		return false
	}
	ss.few = append(ss.few[:i], ss.few[i+1:]...)
	ss.few[:len(ss.few)+1][len(ss.few)] = Sub{} // no stale filter string behind len
	if len(ss.few) == 0 {
		ss.few = nil
	}
	return true
}

func (ss *subSet) appendTo(out []Sub) []Sub {
	out = append(out, ss.few...)
	for _, sub := range ss.many {
		out = append(out, sub)
	}
	return out
}

// SetSub records a subscription; it reports whether the filter was new.
func (s *Session) SetSub(sub Sub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.set(sub)
}

// RemoveSub forgets a subscription; it reports whether it existed.
func (s *Session) RemoveSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.remove(filter)
}

// Subs returns a copy of the subscriptions.
func (s *Session) Subs() []Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.appendTo(make([]Sub, 0, s.subs.len()))
}

// SubCount is the number of subscriptions.
func (s *Session) SubCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.len()
}

// ReceivedQoS2 records an incoming QoS 2 packet id; it reports false when the id is
// already awaiting PUBREL, i.e. the PUBLISH is a resend that must not be delivered again.
func (s *Session) ReceivedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.activeLocked() // the reader's client is attached: a exists
	if a.qos2In == nil {
		a.qos2In = map[uint16]struct{}{}
	}
	if _, dup := a.qos2In[id]; dup {
		return false
	}
	a.qos2In[id] = struct{}{}
	return true
}

// ReleasedQoS2 handles PUBREL: it reports whether id was awaiting release.
func (s *Session) ReleasedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.a == nil {
		return false
	}
	_, ok := s.a.qos2In[id]
	delete(s.a.qos2In, id)
	return ok
}

// QoS2InLen is the number of incoming QoS 2 messages awaiting PUBREL.
func (s *Session) QoS2InLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.a == nil {
		return 0
	}
	return len(s.a.qos2In)
}

// HasSub reports whether the session is subscribed to filter (as the client sent it).
func (s *Session) HasSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.has(filter)
}
