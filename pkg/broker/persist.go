package broker

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
)

// Store is the message store the router persists to; nil keeps everything in memory.
type Store = *store.Store

// persister keeps persistent sessions durable: while such a session is offline its
// queue lives in the store (the in-memory queue is empty), and a QoS 1/2 publish is
// acknowledged only after its copies are committed.
type persister struct {
	b  *Broker
	st *store.Store

	mu   sync.Mutex
	acks map[SessionID]*ackGroup // sessions with store acks in flight; an entry goes with its last ack
}

// ackGroup counts one session's store acks in flight (n, under persister.mu) for wg's waiters.
type ackGroup struct {
	wg sync.WaitGroup
	n  int
}

func newPersister(b *Broker, st *store.Store) *persister {
	return &persister{b: b, st: st, acks: map[SessionID]*ackGroup{}}
}

func key(id SessionID) store.SessionKey {
	return store.SessionKey{Mountpoint: id.Mountpoint, ClientID: id.ClientID}
}

// Acked implements session.Persister: the client owns the message, forget the stored copy.
func (p *persister) Acked(id SessionID, seq uint64) {
	p.mu.Lock()
	g := p.acks[id]
	if g == nil {
		g = &ackGroup{}
		p.acks[id] = g
	}
	g.n++
	g.wg.Add(1)
	p.mu.Unlock()
	go func() {
		if err := p.st.Ack(key(id), seq); err != nil {
			p.b.log.Error("message store: removing an acknowledged message failed", "client_id", id.ClientID, "error", err)
		}
		// The entry goes with the last ack in flight, so sessions that once had traffic do
		// not keep one each while offline (issue 19). Done after the delete: a waiter that
		// found the entry still waits on its group; a later Acked makes a new one.
		p.mu.Lock()
		if g.n--; g.n == 0 && p.acks[id] == g {
			delete(p.acks, id)
		}
		p.mu.Unlock()
		g.wg.Done()
	}()
}

// waitAcks waits for the store acks of id in flight, so a reconnect or a move reads the queue after them.
func (p *persister) waitAcks(id SessionID) {
	p.mu.Lock()
	g := p.acks[id]
	p.mu.Unlock()
	if g != nil {
		g.wg.Wait()
	}
}

func (p *persister) forSession() session.Persister {
	if p.st == nil {
		return nil
	}
	return p
}

// saveSession writes the session record of a persistent session (subscriptions, expiry).
func (p *persister) saveSession(s *session.Session) {
	info, offlineAt := s.Info()
	p.saveRecord(s, info, offlineAt)
}

// saveConnect writes the record of a persistent session its client is connecting to, before
// the session is attached: the CONNACK goes out at attach, and the session must be durable
// by then (issue 19; it used to be written after, racing the CONNACK).
func (p *persister) saveConnect(s *session.Session, info session.Info) {
	p.saveRecord(s, info, time.Time{})
}

// saveDisconnect writes the record of a session whose client left, with the time it did
// (its expiry counts from there). A session that never expires and whose record is stored
// has nothing new to write: its subscriptions were written as they changed, and the record
// written at connect restores it just as well. That spares a third of the commits of a
// client that connects, subscribes and leaves (scenario 12b).
func (p *persister) saveDisconnect(s *session.Session) {
	if _, expiry := s.Persistent(); expiry == NeverExpire && s.Stored() {
		return
	}
	p.saveSession(s)
}

// saveRecord writes the record of s with info and offlineAt (zero: online).
func (p *persister) saveRecord(s *session.Session, info session.Info, offlineAt time.Time) {
	if p.st == nil {
		return
	}
	var buf [4]store.Subscription // a device's few, on the stack: the record is encoded, not kept
	if rec, ok := recordWith(s, info, offlineAt, buf[:0]); ok {
		p.putSession(s, rec)
	}
}

// putSession commits rec, the record of s (a synchronous write).
func (p *persister) putSession(s *session.Session, rec store.Session) {
	if err := p.st.PutSession(rec); err != nil {
		p.b.log.Error("message store: saving session failed", "client_id", s.ID.ClientID, "error", err)
		return
	}
	s.MarkStored(true)
}

// record is the store record of s (subscriptions, expiry); false when s is not persistent.
func record(s *session.Session) (store.Session, bool) {
	info, offlineAt := s.Info()
	return recordWith(s, info, offlineAt, nil)
}

// recordWith is record with the connection's info and the time s went offline given; the
// subscriptions are appended to subsBuf.
func recordWith(s *session.Session, info session.Info, offlineAt time.Time, subsBuf []store.Subscription) (store.Session, bool) {
	persistent, expiry := s.Persistent()
	if !persistent {
		return store.Session{}, false
	}
	rec := store.Session{
		Key: key(s.ID), ProtocolVersion: info.Protocol, ExpiryInterval: expiry,
		DisconnectedAt: offlineAt, Username: info.Username,
	}
	var buf [4]session.Sub
	subs := s.AppendSubs(buf[:0])
	rec.Subscriptions = subsBuf[:0]
	for _, sub := range subs {
		rec.Subscriptions = append(rec.Subscriptions, store.Subscription{
			Filter: sub.Filter, QoS: sub.Options.QoS, NoLocal: sub.Options.NoLocal,
			RetainAsPublished: sub.Options.RetainAsPublished, RetainHandling: sub.Options.RetainHandling, SubID: sub.SubID,
		})
	}
	return rec, true
}

func (p *persister) deleteSession(s *session.Session) {
	if p.st == nil {
		return
	}
	id := s.ID
	had := s.Stored()
	s.MarkStored(false)
	if !had && p.st.QueueLen(key(id)) == 0 {
		return // never stored: spare a commit per clean session
	}
	if err := p.st.DeleteSession(key(id)); err != nil {
		p.b.log.Error("message store: deleting session failed", "client_id", id.ClientID, "error", err)
	}
}

// attach runs attachFn (putting the session online) after loading the stored queue,
// with no store commit for this session landing in between.
func (p *persister) attach(s *session.Session, present bool, attachFn func()) {
	if p.st == nil || !present {
		attachFn()
		return
	}
	s.LockStore()
	defer s.UnlockStore()
	p.waitAcks(s.ID) // acknowledged messages must not come back
	// A long queue is read in steps (the rest follows as the client acknowledges), so
	// neither memory nor max_online_messages limits what a returning client gets.
	ds, maxSeq, more, err := p.read(s, 0, session.RefillStep(s.Limits().MaxOnline))
	if err != nil {
		p.b.log.Error("message store: reading offline queue failed", "client_id", s.ID.ClientID, "error", err)
	}
	s.Restore(ds, maxSeq, more)
	attachFn()
	if len(ds) > 0 {
		p.b.log.Debug("offline messages restored", "client_id", s.ID.ClientID, "messages", len(ds))
	}
}

// read loads at most n stored deliveries of s after sequence after.
func (p *persister) read(s *session.Session, after uint64, n int) (ds []session.Delivery, maxSeq uint64, more bool, err error) {
	more, err = p.st.QueueFrom(key(s.ID), after, n, func(q store.Queued) error {
		ds = append(ds, session.Delivery{Msg: fromStored(s.ID.Mountpoint, q.Msg), QoS: q.Msg.QoS, Retain: q.Msg.Retain, Seq: q.Seq})
		maxSeq = q.Seq
		return nil
	})
	return ds, maxSeq, more, err
}

// Refill implements session.Persister: the next step of a long stored queue, read
// under the session's store lock so commits landing meanwhile keep their order.
func (p *persister) Refill(s *session.Session) {
	s.LockStore()
	defer s.UnlockStore()
	n, after := s.RefillWant()
	if n <= 0 {
		s.AppendRestored(nil, 0, s.Backlogged())
		return
	}
	ds, maxSeq, more, err := p.read(s, after, n)
	if err != nil {
		p.b.log.Error("message store: reading queue failed", "client_id", s.ID.ClientID, "error", err)
	}
	s.AppendRestored(ds, maxSeq, more)
}

// offline moves what the session still holds in memory to the store when its client
// leaves; the caller holds the session's store lock, and the writes are submitted in order.
func (p *persister) offline(s *session.Session) {
	if p.st == nil {
		return
	}
	if persistent, _ := s.Persistent(); !persistent {
		return
	}
	var k []store.SessionKey // made for the first message to store: most clients leave none
	for _, d := range s.TakePending() {
		if d.Seq != 0 || d.QoS == 0 {
			continue // already stored, or QoS 0 which offline sessions do not keep
		}
		if k == nil {
			k = []store.SessionKey{key(s.ID)}
		}
		p.st.EnqueueAsync(k, toStored(d), func(_ []uint64, err error) {
			if err != nil {
				p.b.log.Error("message store: storing queue of a disconnected client failed", "client_id", s.ID.ClientID, "error", err)
			}
		})
	}
}

// deliver offers d to s: to the store while s is an offline persistent session, else
// to its memory queue. Both under the session's store lock, so that routing, going
// offline and coming back see one order. A delivery refused by a session that was
// handed to another node (a publish matched it while it moved) is passed on there.
// It reports whether d was kept.
func (p *persister) deliver(s *session.Session, d session.Delivery, w *wait) bool {
	var kept bool
	if p.st == nil {
		kept = p.online(s, d, w)
	} else {
		s.LockStore()
		var handled bool
		if handled, kept = p.enqueueOffline(s, d, w); !handled {
			kept = p.online(s, d, w)
		}
		s.UnlockStore()
	}
	if !kept && s.HandedOff() {
		return p.b.passOn(s.ID, d)
	}
	return kept
}

// online queues d in memory and notes a congested subscriber for the publisher's flow control.
func (p *persister) online(s *session.Session, d session.Delivery, w *wait) bool {
	kept, congested := s.EnqueueFlow(d)
	if congested != nil && w.congested == nil {
		w.congested = congested
	}
	return kept
}

func (p *persister) enqueueOffline(s *session.Session, d session.Delivery, w *wait) (handled, kept bool) {
	online, backlog, persistent := s.RouteState()
	if !persistent || (online && (d.QoS == 0 || !backlog)) {
		return false, false // memory queue; QoS 0 has no order to keep with a stored backlog
	}
	m := p.b.m
	if d.QoS == 0 {
		m.QueueMessageUnhandled.Inc()
		return true, false
	}
	l := s.Limits()
	k := key(s.ID)
	if l.MaxOffline >= 0 && p.st.QueueLen(k) >= l.MaxOffline {
		if !l.LIFO || l.MaxOffline == 0 {
			p.drop(s, d) // fifo: the newest is dropped
			return true, false
		}
		if n, err := p.st.DropOldest(k, 1); err == nil && n > 0 {
			m.QueueMessageDrop.Inc()
			m.DropQueueFull.Inc()
		}
	}
	if h := p.b.hooks.Load().OnOfflineMessage; h != nil {
		h(s.ID, d)
	}
	w.add()
	m.QueueMessageIn.Inc()
	p.store(s, k, d, w)
	return true, true
}

// store commits d to s's stored queue; apart from enqueueOffline so that only this
// path moves d to the heap (the callback keeps it), not every online delivery.
func (p *persister) store(s *session.Session, k store.SessionKey, d session.Delivery, w *wait) {
	p.st.EnqueueAsync([]store.SessionKey{k}, toStored(d), func(seqs []uint64, err error) {
		if err == nil && len(seqs) == 1 {
			d.Seq = seqs[0]
			s.LockStore()
			s.EnqueueStored(d)
			s.UnlockStore()
		}
		w.finish(err)
	})
}

func (p *persister) drop(s *session.Session, d session.Delivery) {
	p.b.m.QueueMessageDrop.Inc()
	p.b.m.DropQueueFull.Inc()
	if h := p.b.hooks.Load().OnMessageDrop; h != nil {
		h(s.ID, d, session.DropQueueFull)
	}
}

// retained submits m as its topic's retained message (an empty payload deletes it); w,
// when not nil, waits for the commit, so the publish is acknowledged after it. The caller
// holds retained.order, so the store commits retained messages in the order memory took them.
func (p *persister) retained(m *session.Message, w *wait) {
	if p.st == nil {
		return
	}
	if w != nil {
		w.add()
	}
	p.st.PutRetained(m.Mountpoint, m.Topic, toStored(session.Delivery{Msg: m, QoS: m.QoS, Retain: true}), func(err error) {
		if err != nil {
			p.b.log.Error("message store: saving retained message failed", "topic", m.Topic, "error", err)
		}
		if w != nil {
			w.finish(err)
		}
	})
}

func (p *persister) qos2(s *session.Session, id uint16, add bool) {
	if p.st == nil {
		return
	}
	if persistent, _ := s.Persistent(); !persistent {
		return
	}
	var err error
	if add {
		err = p.st.PutQoS2(key(s.ID), id)
	} else {
		err = p.st.DeleteQoS2(key(s.ID), id)
	}
	if err != nil {
		p.b.log.Error("message store: QoS 2 state failed", "client_id", s.ID.ClientID, "error", err)
	}
}

// toStored converts a delivery to the store's record; properties travel as an encoded v5 PUBLISH.
func toStored(d session.Delivery) store.Message {
	m := d.Msg
	sm := store.Message{Topic: m.Topic, Payload: m.Payload, QoS: d.QoS, Retain: d.Retain, Published: time.Now().UnixNano()}
	if !m.Expiry.IsZero() {
		sm.Expiry = m.Expiry.UnixNano()
	}
	if m.Props != nil {
		sm.Props, _ = packets.Encode(nil, &packets.Publish{Topic: "p", Props: m.Props}, packets.V5)
	}
	return sm
}

func fromStored(mountpoint string, sm store.Message) *session.Message {
	m := &session.Message{Mountpoint: mountpoint, Topic: sm.Topic, Payload: sm.Payload, QoS: sm.QoS, Retain: sm.Retain}
	if sm.Expiry != 0 {
		m.Expiry = time.Unix(0, sm.Expiry)
	}
	if len(sm.Props) > 1 {
		if p, err := packets.Decode(sm.Props[0], skipLength(sm.Props[1:]), packets.V5); err == nil {
			if pub, ok := p.(*packets.Publish); ok {
				m.Props = pub.Props
			}
		}
	}
	return m
}

// skipLength drops the remaining-length bytes of an encoded packet.
func skipLength(b []byte) []byte {
	for i := 0; i < len(b) && i < 4; i++ {
		if b[i]&0x80 == 0 {
			return b[i+1:]
		}
	}
	return nil
}

// wait counts the durable writes one publish waits for before its acknowledgement.
type wait struct {
	mu        sync.Mutex
	pending   int
	err       error
	done      func(error)
	ack       Ack
	congested <-chan struct{} // a subscriber's queue is filling up: slow the publisher
}

// waits recycles waits: one per publish was a tenth of the bytes a QoS 1 publish allocated.
var waits = sync.Pool{New: func() any { return new(wait) }}

func (p *persister) newWait(done func(error)) *wait {
	w := waits.Get().(*wait)
	w.pending, w.done = 1, done
	return w
}

func (w *wait) add() {
	w.mu.Lock()
	w.pending++
	w.mu.Unlock()
}

// finish ends one write; the last one calls done.
func (w *wait) finish(err error) {
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.pending--
	last := w.pending == 0
	w.mu.Unlock()
	if !last {
		return
	}
	if w.done != nil {
		w.done(w.err)
	}
	if w.ack.To != nil {
		w.ack.To.PublishDone(w.ack.ID, w.ack.QoS, w.err)
	}
	// The last finish is the last use: the creator released it and no write is pending.
	*w = wait{}
	waits.Put(w)
}

func (w *wait) release() { w.finish(nil) }
