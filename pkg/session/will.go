package session

// SetWill stores the last will of the current connection.
func (s *Session) SetWill(m *Message, delay uint32) {
	s.mu.Lock()
	s.will, s.willDelay = m, delay
	s.mu.Unlock()
}

// TakeWill removes the will; it returns it only when the disconnect was not graceful.
func (s *Session) TakeWill(graceful bool) (*Message, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, d := s.will, s.willDelay
	s.will, s.willDelay = nil, 0
	if graceful {
		return nil, 0
	}
	return m, d
}
