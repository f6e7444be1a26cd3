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
	a := s.a
	if a == nil || a.flushing || a.link == nil || a.corked || !s.readyLocked() {
		return
	}
	a.flushing = true
	s.spawnFlusherLocked()
}

// spawnFlusherLocked starts the flusher goroutine through a method value made once per
// connection: `go s.flush()` would allocate its wrapper on every start.
func (s *Session) spawnFlusherLocked() {
	a := s.a
	if a.flushFn == nil {
		a.flushFn = s.flush
	}
	go a.flushFn()
}

// readyLocked says whether there is something the flusher could send now (s.a is set).
func (s *Session) readyLocked() bool {
	return len(s.a.outbox) > 0 || s.windowOpenLocked()
}

// Cork holds the flusher back while the connection's reader handles packets, so the
// answers to a burst (PUBACKs, PUBRECs, freed window slots) go out in one write; Uncork
// lets it run.
func (s *Session) Cork() {
	s.mu.Lock()
	if s.a != nil {
		s.a.corked = true
	}
	s.mu.Unlock()
}

// DirectWrite writes what the socket takes at once and never blocks (a plain TCP socket);
// a connection that has none (TLS, WebSocket) passes nil to Uncork. An interface rather
// than a func: the connection itself implements it, where a method value cost every
// connection an allocation (issue 19).
type DirectWrite interface {
	WriteDirect(b []byte) (int, error)
}

// Uncork ends Cork. Its caller is from's reader: with w it writes one batch of what is
// ready itself, and starts the flusher only for what w did not take or what is left.
// That saves waking a flusher goroutine (and often an OS thread) for every small answer,
// which at modest rates costs more CPU than the write itself.
func (s *Session) Uncork(from Link, w DirectWrite) {
	s.mu.Lock()
	a := s.a
	if a == nil {
		s.mu.Unlock()
		return // offline and released: nothing to send
	}
	a.corked = false
	// An on_deliver hook runs on the flusher, never on the reader (deliver.go).
	if w == nil || a.flushing || a.link != from || !s.readyLocked() || s.hookActiveLocked() {
		s.kickLocked()
		s.mu.Unlock()
		return
	}
	a.flushing = true // a stays while flushing (releaseActiveLocked)
	bp := bufPool.Get().(*[]byte)
	buf := s.nextBatchLocked((*bp)[:0])
	s.mu.Unlock()
	n, err := w.WriteDirect(buf)
	s.env.Metrics.BytesSent.Add(uint64(n))
	s.mu.Lock()
	switch {
	case err != nil:
		// As in flush: the reader sees the closed socket; what is in flight is resent on reconnect.
		a.flushing = false
		if a.link != from {
			s.kickLocked() // a new connection took over meanwhile: its packets go out
		}
		s.releaseActiveLocked()
		s.mu.Unlock()
		from.Kick(0)
	case n < len(buf) && a.link == from:
		a.pending = append(a.pending[:0], buf[n:]...)
		s.spawnFlusherLocked() // still flushing: it writes the rest before anything else
		s.mu.Unlock()
	default:
		// All written, or the connection went away meanwhile and the rest dies with it.
		a.flushing = false
		s.kickLocked() // more than one batch was ready, or a new connection's packets
		s.releaseActiveLocked()
		s.mu.Unlock()
	}
	*bp = buf[:0]
	bufPool.Put(bp)
}

// windowOpenLocked says whether a queued delivery may be sent now (s.a is set).
func (s *Session) windowOpenLocked() bool {
	a := s.a
	if a.q.Len() == 0 {
		return false
	}
	if a.q.peek().QoS == 0 {
		return true
	}
	return a.infl.Len() < s.windowLocked()
}

func (s *Session) windowLocked() int {
	w := s.lim().MaxInflight
	if w <= 0 || w > 65535 {
		w = 65535
	}
	if r := s.a.recvMax; r > 0 && r < w {
		w = r
	}
	return w
}

// flush writes batches until nothing is left to send; only one runs per session.
func (s *Session) flush() {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for {
		s.mu.Lock()
		a := s.a // set while a.flushing is (releaseActiveLocked); only the flusher clears that
		if a.link != nil {
			s.runDeliverHookLocked() // may release the lock: the link is read after it
		}
		link := a.link
		if link == nil {
			a.flushing = false
			s.releaseActiveLocked()
			s.mu.Unlock()
			return
		}
		buf := s.nextBatchLocked((*bp)[:0])
		if len(buf) == 0 {
			if s.hookPendingLocked() {
				s.mu.Unlock()
				continue
			}
			a.flushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		*bp = buf[:0]
		if _, err := link.Write(buf); err != nil {
			// The reader sees the closed socket and detaches the session; what is in flight is resent on reconnect.
			s.mu.Lock()
			a.flushing = false
			s.releaseActiveLocked()
			s.mu.Unlock()
			link.Kick(0)
			return
		}
		s.env.Metrics.BytesSent.Add(uint64(len(buf)))
	}
}

// nextBatchLocked appends the next batch to write to buf: the rest of a direct write the
// socket did not take, else what fillLocked encodes, with the flow-control and refill
// steps that follow taking deliveries out of the queue.
func (s *Session) nextBatchLocked(buf []byte) []byte {
	if a := s.a; len(a.pending) > 0 {
		buf = append(buf, a.pending...)
		a.pending = nil // rare (a full socket buffer): not worth keeping per session
		return buf
	}
	buf = s.fillLocked(buf)
	s.releaseLocked()
	s.maybeRefillLocked()
	return buf
}

// fillLocked encodes control packets, then queued deliveries while the inflight window allows.
func (s *Session) fillLocked(buf []byte) []byte {
	a, m := s.a, s.env.Metrics
	for i, p := range a.outbox {
		buf, _ = packets.Encode(buf, p, s.version)
		s.countSent(p)
		a.outbox[i] = nil
	}
	a.outbox = a.outbox[:0]
	now := time.Now()
	window := s.windowLocked()
	hooked := s.hookActiveLocked()
	for a.q.Len() > 0 && len(buf) < maxBatch {
		d := a.q.peek()
		if d.QoS > 0 && a.infl.Len() >= window || hooked && !d.hooked {
			break
		}
		dd := a.q.pop()
		m.QueueMessageOut.Inc()
		if dd.Msg.Expired(now) {
			s.dropLocked(dd, DropExpired)
			continue
		}
		var pub *packets.Publish
		var o *outMsg
		if dd.QoS == 0 {
			pub = s.fillPublish(dd, 0, false, now)
		} else {
			o = a.infl.add(dd)
			o.sent = now
			pub = s.fillPublish(dd, o.id, false, now)
		}
		start := len(buf)
		var err error
		buf, err = packets.Encode(buf, pub, s.version)
		if err == nil && a.maxPkt > 0 && uint32(len(buf)-start) > a.maxPkt {
			err = errTooLarge
		}
		if err != nil {
			// Never send more than the client's Maximum Packet Size [MQTT-3.1.2-24].
			buf = buf[:start]
			if a.newAlias != "" {
				delete(a.aliases, a.newAlias) // the client never learned it
			}
			if o != nil {
				a.infl.remove(o.id)
			}
			s.dropLocked(dd, DropMaxPacketSize)
			continue
		}
		m.Proto(s.version).PublishSent.Inc()
		if o == nil && dd.Seq != 0 && s.env.Persist != nil {
			s.env.Persist.Acked(s.ID, dd.Seq)
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
	m, a := d.Msg, s.a
	if a.scr == nil {
		a.scr = new(encodeScratch) // only connections that get messages pay for it
	}
	sc := a.scr
	sc.pub = packets.Publish{Dup: dup, QoS: d.QoS, Retain: d.Retain, Topic: m.Topic, PacketID: id, Payload: m.Payload}
	a.newAlias = ""
	if s.version == packets.V5 {
		var alias uint16
		if a.info.TopicAliasMax > 0 {
			alias = a.aliasFor(m.Topic)
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
				if a.newAlias == "" {
					sc.pub.Topic = "" // the client knows this alias already [MQTT-3.3.2-12]
				}
			}
			sc.pub.Props = &sc.props
		}
	}
	return &sc.pub
}

// aliasFor returns the topic alias to use for topic, assigning a new one while there is room.
func (a *active) aliasFor(topic string) uint16 {
	if n, ok := a.aliases[topic]; ok {
		return n
	}
	if len(a.aliases) >= int(a.info.TopicAliasMax) {
		return 0
	}
	if a.aliases == nil {
		a.aliases = map[string]uint16{}
	}
	n := uint16(len(a.aliases) + 1)
	a.aliases[topic] = n
	a.newAlias = topic
	return n
}

// publishPacket builds a standalone PUBLISH for a resend (it outlives the scratch packet).
func (s *Session) publishPacket(o *outMsg, dup bool) *packets.Publish {
	p := *s.fillPublish(o.d, o.id, dup, time.Now())
	if p.Props == &s.a.scr.props {
		props := s.a.scr.props
		p.Props = &props
	}
	return &p
}

func (s *Session) countSent(p packets.Packet) {
	m := s.env.Metrics.Proto(s.version)
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
