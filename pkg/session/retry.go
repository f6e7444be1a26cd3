package session

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// RetryUnacked resends, to a connected MQTT 3.1/3.1.1 client, the QoS 1/2 messages (and
// PUBRELs) it has not acknowledged within interval, with DUP set, as VerneMQ's
// retry_interval does. MQTT 5 forbids resending on a live connection [MQTT-4.4.0-1 v5],
// so v5 sessions resend only on reconnect. It returns how many packets were queued.
func (s *Session) RetryUnacked(interval time.Duration, now time.Time) int {
	if interval <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.a
	if a == nil || a.link == nil || s.version == packets.V5 || a.infl.Len() == 0 {
		return 0
	}
	n := 0
	a.infl.each(func(o *outMsg) {
		if now.Sub(o.sent) < interval {
			return
		}
		o.sent = now
		if o.state == awaitPubcomp {
			a.outbox = append(a.outbox, &packets.Ack{Kind: packets.PUBREL, PacketID: o.id})
		} else {
			a.outbox = append(a.outbox, s.publishPacket(o, true))
		}
		n++
	})
	if n > 0 {
		s.kickLocked()
	}
	return n
}
