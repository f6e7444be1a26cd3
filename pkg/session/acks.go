package session

import "github.com/vernemq-go/vernemq/pkg/packets"

// Puback completes a QoS 1 delivery; false means the id was unknown.
func (s *Session) Puback(from Link, id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isLinkLocked(from) {
		return true // a taken-over connection no longer acknowledges for the session
	}
	o := s.a.infl.get(id)
	if o == nil || o.state != awaitPuback {
		return false
	}
	s.a.infl.remove(id)
	s.ackedLocked(o)
	return true
}

// Pubrec moves a QoS 2 delivery to awaiting PUBCOMP and answers PUBREL; a v5 failure code ends it.
func (s *Session) Pubrec(from Link, id uint16, code packets.ReasonCode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isLinkLocked(from) {
		return true
	}
	o := s.a.infl.get(id)
	if o == nil {
		return false
	}
	if o.state == awaitPubrec {
		if code >= 0x80 {
			s.a.infl.remove(id)
			s.ackedLocked(o)
			return true
		}
		o.state = awaitPubcomp
		s.ackedStoreLocked(o)
	} else if o.state != awaitPubcomp {
		return false
	}
	// A repeated PUBREC is answered again: the PUBREL may have been lost (4.3.3).
	s.a.outbox = append(s.a.outbox, &packets.Ack{Kind: packets.PUBREL, PacketID: id})
	s.kickLocked()
	return true
}

// Pubcomp ends a QoS 2 delivery.
func (s *Session) Pubcomp(from Link, id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isLinkLocked(from) {
		return true
	}
	o := s.a.infl.get(id)
	if o == nil || o.state != awaitPubcomp {
		return false
	}
	s.a.infl.remove(id)
	s.ackedLocked(o)
	return true
}

func (s *Session) ackedLocked(o *outMsg) {
	s.ackedStoreLocked(o)
	s.kickLocked() // the window has room again
}

// ackedStoreLocked forgets the stored copy once the client owns the message (PUBACK or PUBREC).
func (s *Session) ackedStoreLocked(o *outMsg) {
	if o.d.Seq != 0 && s.env.Persist != nil {
		s.env.Persist.Acked(s.ID, o.d.Seq)
		o.d.Seq = 0
	}
}
