package session

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// maxBatch bounds one write so a busy session cannot hold its lock for long.
const maxBatch = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// kickLocked starts the flusher when there is a link and it is not running.
// The flusher is spawned on demand so that an idle connection costs no goroutine.
func (s *Session) kickLocked() {
	if s.flushing || s.link == nil || s.corked || !s.readyLocked() {
		return
	}
	s.flushing = true
	s.spawnFlusherLocked()
}

// spawnFlusherLocked starts the flusher goroutine through a method value made once per
// session: `go s.flush()` would allocate its wrapper on every start.
func (s *Session) spawnFlusherLocked() {
	if s.flushFn == nil {
		s.flushFn = s.flush
	}
	go s.flushFn()
}

// readyLocked says whether there is something the flusher could send now.
func (s *Session) readyLocked() bool {
	return len(s.outbox) > 0 || s.windowOpenLocked()
}

// Cork holds the flusher back while the connection's reader handles packets, so the
// answers to a burst (PUBACKs, PUBRECs, freed window slots) go out in one write; Uncork
// lets it run.
func (s *Session) Cork() {
	s.mu.Lock()
	s.corked = true
	s.mu.Unlock()
}

// DirectWrite writes what the socket takes at once and never blocks (a plain TCP socket);
// a connection that has none (TLS, WebSocket) passes nil to Uncork.
type DirectWrite func(b []byte) (int, error)

// Uncork ends Cork. Its caller is from's reader: with w it writes one batch of what is
// ready itself, and starts the flusher only for what w did not take or what is left.
// That saves waking a flusher goroutine (and often an OS thread) for every small answer,
// which at modest rates costs more CPU than the write itself.
func (s *Session) Uncork(from Link, w DirectWrite) {
	s.mu.Lock()
	s.corked = false
	// An on_deliver hook runs on the flusher, never on the reader (deliver.go).
	if w == nil || s.flushing || s.link != from || !s.readyLocked() || s.hookActiveLocked() {
		s.kickLocked()
		s.mu.Unlock()
		return
	}
	s.flushing = true
	bp := bufPool.Get().(*[]byte)
	buf := s.nextBatchLocked((*bp)[:0])
	s.mu.Unlock()
	n, err := w(buf)
	s.metrics.BytesSent.Add(uint64(n))
	s.mu.Lock()
	switch {
	case err != nil:
		// As in flush: the reader sees the closed socket; what is in flight is resent on reconnect.
		s.flushing = false
		if s.link != from {
			s.kickLocked() // a new connection took over meanwhile: its packets go out
		}
		s.mu.Unlock()
		from.Kick(0)
	case n < len(buf) && s.link == from:
		s.pending = append(s.pending[:0], buf[n:]...)
		s.spawnFlusherLocked() // still flushing: it writes the rest before anything else
		s.mu.Unlock()
	default:
		// All written, or the connection went away meanwhile and the rest dies with it.
		s.flushing = false
		s.kickLocked() // more than one batch was ready, or a new connection's packets
		s.mu.Unlock()
	}
	*bp = buf[:0]
	bufPool.Put(bp)
}

func (s *Session) windowOpenLocked() bool {
	if s.q.Len() == 0 {
		return false
	}
	if s.q.peek().QoS == 0 {
		return true
	}
	return s.infl.Len() < s.windowLocked()
}

func (s *Session) windowLocked() int {
	w := s.lim().MaxInflight
	if w <= 0 || w > 65535 {
		w = 65535
	}
	if s.recvMax > 0 && s.recvMax < w {
		w = s.recvMax
	}
	return w
}

// flush writes batches until nothing is left to send; only one runs per session.
func (s *Session) flush() {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for {
		s.mu.Lock()
		if s.link != nil {
			s.runDeliverHookLocked() // may release the lock: the link is read after it
		}
		link := s.link
		if link == nil {
			s.flushing = false
			s.mu.Unlock()
			return
		}
		buf := s.nextBatchLocked((*bp)[:0])
		if len(buf) == 0 {
			if s.hookPendingLocked() {
				s.mu.Unlock()
				continue
			}
			s.flushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		*bp = buf[:0]
		if _, err := link.Write(buf); err != nil {
			// The reader sees the closed socket and detaches the session; what is in flight is resent on reconnect.
			s.mu.Lock()
			s.flushing = false
			s.mu.Unlock()
			link.Kick(0)
			return
		}
		s.metrics.BytesSent.Add(uint64(len(buf)))
	}
}

// nextBatchLocked appends the next batch to write to buf: the rest of a direct write the
// socket did not take, else what fillLocked encodes, with the flow-control and refill
// steps that follow taking deliveries out of the queue.
func (s *Session) nextBatchLocked(buf []byte) []byte {
	if len(s.pending) > 0 {
		buf = append(buf, s.pending...)
		s.pending = nil // rare (a full socket buffer): not worth keeping per session
		return buf
	}
	buf = s.fillLocked(buf)
	s.releaseLocked()
	s.maybeRefillLocked()
	return buf
}

// fillLocked encodes control packets, then queued deliveries while the inflight window allows.
func (s *Session) fillLocked(buf []byte) []byte {
	for i, p := range s.outbox {
		buf, _ = packets.Encode(buf, p, s.version)
		s.countSent(p)
		s.outbox[i] = nil
	}
	s.outbox = s.outbox[:0]
	now := time.Now()
	window := s.windowLocked()
	hooked := s.deliver != nil && s.deliver.Active()
	for s.q.Len() > 0 && len(buf) < maxBatch {
		d := s.q.peek()
		if d.QoS > 0 && s.infl.Len() >= window || hooked && !d.hooked {
			break
		}
		dd := s.q.pop()
		s.metrics.QueueMessageOut.Inc()
		if dd.Msg.Expired(now) {
			s.dropLocked(dd, DropExpired)
			continue
		}
		var pub *packets.Publish
		var o *outMsg
		if dd.QoS == 0 {
			pub = s.fillPublish(dd, 0, false, now)
		} else {
			o = s.infl.add(dd)
			o.sent = now
			pub = s.fillPublish(dd, o.id, false, now)
		}
		start := len(buf)
		var err error
		buf, err = packets.Encode(buf, pub, s.version)
		if err == nil && s.maxPkt > 0 && uint32(len(buf)-start) > s.maxPkt {
			err = errTooLarge
		}
		if err != nil {
			// Never send more than the client's Maximum Packet Size [MQTT-3.1.2-24].
			buf = buf[:start]
			if s.newAlias != "" {
				delete(s.aliases, s.newAlias) // the client never learned it
			}
			if o != nil {
				s.infl.remove(o.id)
			}
			s.dropLocked(dd, DropMaxPacketSize)
			continue
		}
		s.metrics.Proto(s.version).PublishSent.Inc()
		if o == nil && dd.Seq != 0 && s.persist != nil {
			s.persist.Acked(s.ID, dd.Seq)
		}
	}
	return buf
}

type sizeError struct{}

func (sizeError) Error() string { return "packet larger than the client's maximum packet size" }

var errTooLarge error = sizeError{}

// encodeScratch is where fillPublish builds outgoing PUBLISH packets.
type encodeScratch struct {
	pub   packets.Publish
	props packets.Properties
}

// fillPublish builds the PUBLISH for d in the session's scratch packet (valid until the next call).
func (s *Session) fillPublish(d Delivery, id uint16, dup bool, now time.Time) *packets.Publish {
	m := d.Msg
	if s.scr == nil {
		s.scr = new(encodeScratch) // only sessions that get messages pay for it
	}
	sc := s.scr
	sc.pub = packets.Publish{Dup: dup, QoS: d.QoS, Retain: d.Retain, Topic: m.Topic, PacketID: id, Payload: m.Payload}
	s.newAlias = ""
	if s.version == packets.V5 {
		var alias uint16
		if s.info.TopicAliasMax > 0 {
			alias = s.aliasFor(m.Topic)
		}
		needCopy := len(d.SubIDs) > 0 || !m.Expiry.IsZero() || alias != 0
		if !needCopy {
			sc.pub.Props = m.Props
		} else {
			if m.Props != nil {
				sc.props = *m.Props
			} else {
				sc.props = packets.Properties{}
			}
			sc.props.SubscriptionIDs = d.SubIDs
			if !m.Expiry.IsZero() {
				// Forward the remaining lifetime, as the spec asks [MQTT-3.3.2-6].
				left := uint32((m.Expiry.Sub(now) + time.Second - 1) / time.Second)
				sc.props.MessageExpiry = &left
			}
			if alias != 0 {
				sc.props.TopicAlias = &alias
				if s.newAlias == "" {
					sc.pub.Topic = "" // the client knows this alias already [MQTT-3.3.2-12]
				}
			}
			sc.pub.Props = &sc.props
		}
	}
	return &sc.pub
}

// aliasFor returns the topic alias to use for topic, assigning a new one while there is room.
func (s *Session) aliasFor(topic string) uint16 {
	if a, ok := s.aliases[topic]; ok {
		return a
	}
	if len(s.aliases) >= int(s.info.TopicAliasMax) {
		return 0
	}
	if s.aliases == nil {
		s.aliases = map[string]uint16{}
	}
	a := uint16(len(s.aliases) + 1)
	s.aliases[topic] = a
	s.newAlias = topic
	return a
}

// publishPacket builds a standalone PUBLISH for a resend (it outlives the scratch packet).
func (s *Session) publishPacket(o *outMsg, dup bool) *packets.Publish {
	p := *s.fillPublish(o.d, o.id, dup, time.Now())
	if p.Props == &s.scr.props {
		props := s.scr.props
		p.Props = &props
	}
	return &p
}

func (s *Session) countSent(p packets.Packet) {
	m := s.metrics.Proto(s.version)
	switch p := p.(type) {
	case *packets.Ack:
		switch p.Kind {
		case packets.PUBACK:
			m.PubackSent.Inc(p.ReasonCode)
		case packets.PUBREC:
			m.PubrecSent.Inc(p.ReasonCode)
		case packets.PUBREL:
			m.PubrelSent.Inc(p.ReasonCode)
		case packets.PUBCOMP:
			m.PubcompSent.Inc(p.ReasonCode)
		}
	case *packets.Connack:
		m.ConnackSent.Inc(p.ReasonCode)
	case *packets.Disconnect:
		m.DisconnectSent.Inc(p.ReasonCode)
	case *packets.Publish:
		m.PublishSent.Inc()
	case *packets.Auth:
		m.AuthSent.Inc(p.ReasonCode)
	default:
		switch p.Type() {
		case packets.SUBACK:
			m.SubackSent.Inc()
		case packets.UNSUBACK:
			m.UnsubackSent.Inc()
		case packets.PINGRESP:
			m.PingrespSent.Inc()
		}
	}
}
