package session

// SetWill stores the last will of the current connection.
func (s *Session) SetWill(m *Message, delay uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil && s.a == nil {
		return // nothing to clear, and no part to allocate for it
	}
	a := s.activeLocked()
	a.will, a.willDelay = m, delay
	s.releaseActiveLocked() // (none while offline)
}

// TakeWill removes the will; it returns it only when the disconnect was not graceful.
func (s *Session) TakeWill(graceful bool) (*Message, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.a
	if a == nil {
		return nil, 0
	}
	m, d := a.will, a.willDelay
	a.will, a.willDelay = nil, 0
	s.releaseActiveLocked() // kept for the will after Detach (Disconnect takes it after)
	if graceful {
		return nil, 0
	}
	return m, d
}
