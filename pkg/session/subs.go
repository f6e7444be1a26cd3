package session

// SetSub records a subscription; it reports whether the filter was new.
func (s *Session) SetSub(sub Sub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.subs[sub.Filter]
	if s.subs == nil {
		s.subs = map[string]Sub{} // sessions without subscriptions (publishers) keep none
	}
	s.subs[sub.Filter] = sub
	return !had
}

// RemoveSub forgets a subscription; it reports whether it existed.
func (s *Session) RemoveSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.subs[filter]
	delete(s.subs, filter)
	return had
}

// Subs returns a copy of the subscriptions.
func (s *Session) Subs() []Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sub, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, sub)
	}
	return out
}

// SubCount is the number of subscriptions.
func (s *Session) SubCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// ReceivedQoS2 records an incoming QoS 2 packet id; it reports false when the id is
// already awaiting PUBREL, i.e. the PUBLISH is a resend that must not be delivered again.
func (s *Session) ReceivedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.qos2In == nil {
		s.qos2In = map[uint16]struct{}{}
	}
	if _, dup := s.qos2In[id]; dup {
		return false
	}
	s.qos2In[id] = struct{}{}
	return true
}

// ReleasedQoS2 handles PUBREL: it reports whether id was awaiting release.
func (s *Session) ReleasedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.qos2In[id]
	delete(s.qos2In, id)
	return ok
}

// QoS2InLen is the number of incoming QoS 2 messages awaiting PUBREL.
func (s *Session) QoS2InLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.qos2In)
}

// HasSub reports whether the session is subscribed to filter (as the client sent it).
func (s *Session) HasSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[filter]
	return ok
}
