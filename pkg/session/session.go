package session

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Limits are the queue settings every session reads on each use, so `vmq-admin set` takes effect at once.
type Limits struct {
	MaxOnline         int  // max_online_messages; < 0 unlimited
	MaxOffline        int  // max_offline_messages; < 0 unlimited, 0 stores nothing
	LIFO              bool // queue_type = lifo: drop the oldest when full; fifo drops the newest
	MaxInflight       int  // max_inflight_messages; 0 unlimited (bounded by 65535 ids)
	OverrideMaxOnline bool // override_max_online_messages: keep the whole offline queue when going online
	UpgradeQoS        bool // upgrade_outgoing_qos
	// RetryInterval replaces the node's retry_interval for the session (a plugin's
	// retry_interval modifier); 0: the node's.
	RetryInterval time.Duration
}

// Link is the connection a session writes to while its client is online.
type Link interface {
	Write(b []byte) (int, error)
	// Kick closes the connection; v5 clients are told code in a DISCONNECT first.
	Kick(code packets.ReasonCode)
}

// Persister makes deliveries of persistent sessions durable; nil keeps them in memory only.
type Persister interface {
	// Acked removes the delivery with this store sequence after the client acknowledged it.
	Acked(id topics.SubscriberID, seq uint64)
	// Refill loads the next part of a long stored queue (see Backlogged); it runs in its own goroutine.
	Refill(s *Session)
}

// Info describes the client behind a session, for listings and hooks.
type Info struct {
	Username   string
	Peer       net.Addr
	Listener   string
	Protocol   byte
	CleanStart bool
	KeepAlive  uint16
	Connected  time.Time
	// TopicAliasMax is how many topic aliases the broker may use towards this client:
	// min(the client's Topic Alias Maximum, topic_alias_max_client); 0 disables them.
	TopicAliasMax uint16
}

// Session is one MQTT session. Its state is behind mu, but for ID, limits, metrics and
// persist (set at creation) and what storeMu guards. It decides what is written to its link
// and when: the flusher, or the link's reader at Uncork (see conn's socketWriter).
type Session struct {
	ID topics.SubscriberID

	limits  *atomic.Pointer[Limits] // the node's
	own     atomic.Pointer[Limits]  // this client's (auth_on_register modifiers); nil: the node's
	metrics *metrics.Broker
	persist Persister

	// The small fields sit together: padding between them put the struct over a size class
	// boundary (576 → 640 B per session, issue 19).

	// stored: the store holds a record of this session (set by the broker's persister once
	// committed). A flag here rather than a map of ids in the persister: 1 byte, not ~100.
	stored   atomic.Bool
	version  byte
	flushing bool
	corked   bool
	closed   bool
	// handedOff: the session was moved to another node (HandOff); it keeps no delivery,
	// and the broker passes what is still routed to it on to the new node.
	handedOff bool

	// storeMu orders reading the stored queue on wake-up against commits landing for this session.
	storeMu  sync.Mutex
	mu       sync.Mutex
	link     Link
	info     Info
	recvMax  int    // client's Receive Maximum (v5), 0 = none
	maxPkt   uint32 // client's Maximum Packet Size (v5), 0 = none
	expiry   uint32 // session expiry interval in seconds; 0xFFFFFFFF never
	q        queue
	infl     inflight
	outbox   []packets.Packet
	pending  []byte        // the part of a reader's direct write the socket did not take; the flusher sends it first
	flushFn  func()        // s.flush, made at the first flush (flush.go)
	drained  chan struct{} // closed when a congested queue is back to half (flow.go)
	scr      *encodeScratch
	aliases  map[string]uint16 // outgoing topic aliases of the current connection
	newAlias string            // topic whose alias the packet being built introduces

	persistent bool
	backlog    bool // the store holds more of this online session's queue than was read (drained in steps)
	refilling  bool
	willDelay  uint32
	offlineAt  time.Time
	subs       subSet
	qos2In     map[uint16]struct{}
	onDrop     func(id topics.SubscriberID, d Delivery, reason DropReason)
	deliver    DeliverHook // on_deliver (deliver.go); nil: none
	will       *Message
	loadedSeq  uint64 // highest store sequence read into the queue since the client came back
}

// Sub is one subscription of the session, keyed by the filter as the client sent it.
type Sub struct {
	Filter  string // as subscribed, "$share/g/f" included
	Options packets.SubOptions
	SubID   uint32
}

// lim is the queue limits in force: the client's own, else the node's.
func (s *Session) lim() *Limits {
	if l := s.own.Load(); l != nil {
		return l
	}
	return s.limits.Load()
}

// Limits returns the queue limits in force for this session.
func (s *Session) Limits() *Limits { return s.lim() }

// SetLimits gives the session limits of its own (a plugin's auth_on_register modifiers
// at CONNECT); nil puts it back on the node's, which follow the conf.
func (s *Session) SetLimits(l *Limits) { s.own.Store(l) }

// New returns an offline session.
func New(id topics.SubscriberID, limits *atomic.Pointer[Limits], m *metrics.Broker, p Persister) *Session {
	return &Session{ID: id, limits: limits, metrics: m, persist: p, offlineAt: time.Now()}
}

// OnDrop sets the callback told of every dropped delivery (on_message_drop).
// fn is shared by all sessions (it gets the session's id), so it costs no memory per session.
func (s *Session) OnDrop(fn func(id topics.SubscriberID, d Delivery, reason DropReason)) {
	s.mu.Lock()
	s.onDrop = fn
	s.mu.Unlock()
}

// MarkStored records whether the message store holds a record of the session.
func (s *Session) MarkStored(v bool) { s.stored.Store(v) }

// Stored reports whether the message store holds a record of the session.
func (s *Session) Stored() bool { return s.stored.Load() }

// SetPersistence sets whether the session outlives its connection and for how long (seconds).
func (s *Session) SetPersistence(persistent bool, expiry uint32) {
	s.mu.Lock()
	s.persistent, s.expiry = persistent, expiry
	s.mu.Unlock()
}

// Persistent reports whether the session outlives its connection, and its expiry interval.
func (s *Session) Persistent() (bool, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persistent, s.expiry
}

// Attach puts the session online on link, sends first (the CONNACK) and then resends
// what was in flight [MQTT-4.4.0-1].
func (s *Session) Attach(link Link, info Info, recvMax int, maxPkt uint32, first packets.Packet) {
	s.mu.Lock()
	s.outbox = append(s.outbox[:0], first)
	s.link, s.info, s.version = link, info, info.Protocol
	s.pending = nil
	s.recvMax, s.maxPkt = recvMax, maxPkt
	s.aliases = nil // aliases belong to a network connection [MQTT-3.3.2-7]
	s.corked = false
	s.closed = false
	s.offlineAt = time.Time{}
	s.infl.each(func(o *outMsg) {
		if o.state == awaitPubcomp {
			s.outbox = append(s.outbox, &packets.Ack{Kind: packets.PUBREL, PacketID: o.id})
		} else {
			s.outbox = append(s.outbox, s.publishPacket(o, true))
		}
	})
	// The offline queue may hold more than an online session is allowed; VerneMQ trims it unless overridden.
	// (With a message store the queue is read in steps and nothing needs trimming.)
	if l := s.lim(); s.persist == nil && !l.OverrideMaxOnline && l.MaxOnline >= 0 {
		for s.q.Len() > l.MaxOnline {
			s.dropLocked(s.q.pop(), DropQueueFull)
		}
	}
	s.kickLocked()
	s.mu.Unlock()
}

// Detach puts the session offline if link is still its link; it reports whether it was.
func (s *Session) Detach(link Link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link != link {
		return false
	}
	s.link = nil
	s.corked = false
	s.releaseLocked()
	s.offlineAt = time.Now()
	s.outbox = nil // control packets belong to the connection that is gone
	s.pending = nil
	return true
}

// Kick disconnects the current client, if any, with code (takeover, admin disconnect).
func (s *Session) Kick(code packets.ReasonCode) {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.Kick(code)
	}
}

// Link returns the connection the session is attached to, or nil while offline.
func (s *Session) Link() Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link
}

// LockStore and UnlockStore bracket store work that must not interleave for one session.
func (s *Session) LockStore()   { s.storeMu.Lock() }
func (s *Session) UnlockStore() { s.storeMu.Unlock() }

// Online reports whether a client is attached.
func (s *Session) Online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.link != nil
}

// Info returns the attached (or last) client's description and when the session went offline.
func (s *Session) Info() (Info, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info, s.offlineAt
}

// SetUsername records the user name of an offline session restored from the store or a
// migration, so that session_binding knows who owns it before its client returns.
func (s *Session) SetUsername(u string) {
	s.mu.Lock()
	s.info.Username = u
	s.mu.Unlock()
}

// Close marks the session gone: further deliveries are refused.
func (s *Session) Close() {
	s.mu.Lock()
	s.closed = true
	s.q = queue{}
	s.infl = inflight{}
	s.releaseLocked()
	s.mu.Unlock()
}

// Send queues a control packet (PUBACK, SUBACK...) for the client behind the messages already queued.
// Packets from a connection that was taken over are dropped (from is not the link any more).
func (s *Session) Send(from Link, p packets.Packet) {
	s.mu.Lock()
	if s.link != nil && s.link == from {
		s.outbox = append(s.outbox, p)
		s.kickLocked()
	}
	s.mu.Unlock()
}

// Enqueue offers d to the session, applying the queue limits. It reports whether d was kept.
func (s *Session) Enqueue(d Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueueLocked(d)
}

func (s *Session) enqueueLocked(d Delivery) bool {
	if s.closed || s.handedOff {
		return false // a handed-off session keeps nothing, even before its client is gone
	}
	l := s.lim()
	limit := l.MaxOnline
	if s.link == nil {
		if !s.persistent {
			return false
		}
		if d.QoS == 0 {
			s.metrics.QueueMessageUnhandled.Inc()
			return false
		}
		limit = l.MaxOffline
	}
	if limit >= 0 && s.q.Len() >= limit {
		if !l.LIFO || s.q.Len() == 0 {
			s.dropLocked(d, DropQueueFull) // fifo: the newest is dropped
			return false
		}
		s.dropLocked(s.q.pop(), DropQueueFull) // lifo: the oldest makes room
	}
	s.q.push(d)
	s.metrics.QueueMessageIn.Inc()
	if s.link != nil {
		s.kickLocked()
	}
	return true
}

func (s *Session) dropLocked(d Delivery, reason DropReason) {
	s.metrics.QueueMessageDrop.Inc()
	switch reason {
	case DropQueueFull:
		s.metrics.DropQueueFull.Inc()
	case DropExpired:
		s.metrics.DropExpired.Inc()
		s.metrics.QueueMessageExpired.Inc()
	case DropMaxPacketSize:
		s.metrics.DropMaxPacketSize.Inc()
	}
	if d.Seq != 0 && s.persist != nil {
		s.persist.Acked(s.ID, d.Seq)
	}
	if s.onDrop != nil {
		s.onDrop(s.ID, d, reason)
	}
}

// QueueLen is the number of deliveries waiting (not yet in flight).
func (s *Session) QueueLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.Len()
}

// InflightLen is the number of deliveries sent and not yet acknowledged.
func (s *Session) InflightLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infl.Len()
}

// Pending returns copies of the queued and inflight deliveries, inflight first (for migration and persistence).
func (s *Session) Pending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

// pendingLocked is Pending for a caller holding s.mu.
func (s *Session) pendingLocked() []Delivery {
	out := make([]Delivery, 0, s.infl.Len()+s.q.Len())
	s.infl.each(func(o *outMsg) {
		if o.state != awaitPubcomp {
			out = append(out, o.d)
		}
	})
	s.q.each(func(d *Delivery) { out = append(out, *d) })
	return out
}
