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
	Connected  time.Time
	Protocol   byte
	CleanStart bool
	KeepAlive  uint16
	// TopicAliasMax is how many topic aliases the broker may use towards this client:
	// min(the client's Topic Alias Maximum, topic_alias_max_client); 0 disables them.
	// (The small fields last, in one word: active then fits its 384-byte size class with box.)
	TopicAliasMax uint16
}

// Env is what all the sessions of a broker share: one pointer per session instead of a
// copy of each (issue 19: an offline session is mostly these words). Set it up before
// the first New and leave it unchanged.
type Env struct {
	Limits  *atomic.Pointer[Limits]
	Metrics *metrics.Broker
	Persist Persister // nil: deliveries are kept in memory only
	// OnDrop is told of every dropped delivery (on_message_drop); nil: nobody.
	OnDrop  func(id topics.SubscriberID, d Delivery, reason DropReason)
	Deliver DeliverHook // on_deliver (deliver.go); nil: none
}

// Session is one MQTT session. Its state is behind mu, but for ID and env (set at
// creation) and what storeMu guards. It decides what is written to its link and when:
// the flusher, or the link's reader at Uncork (see conn's socketWriter).
//
// What an offline session needs is here; what only a connected client (or a queue held
// in memory) needs is in active, allocated at connect and released when the session is
// offline with nothing buffered: a node of IoT devices holds mostly offline sessions, so
// their size is its memory (issue 19, docs/architecture.md). TestSessionStructSize keeps
// it in its size class.
type Session struct {
	ID  topics.SubscriberID
	env *Env

	// stored: the store holds a record of this session (set by the broker's persister once
	// committed). A flag here rather than a map of ids in the persister: 1 byte, not ~100.
	stored     atomic.Bool
	version    byte // protocol of the current or last client
	closed     bool
	persistent bool
	cleanStart bool // of the current or last client

	// storeMu orders reading the stored queue on wake-up against commits landing for this session.
	storeMu  sync.Mutex
	mu       sync.Mutex
	a        *active                // nil while offline with nothing buffered
	own      atomic.Pointer[Limits] // this client's (auth_on_register modifiers); nil: the node's
	username string                 // of the current or last client (session_binding)
	expiry   uint32                 // session expiry interval in seconds; 0xFFFFFFFF never
	// handedOff: the session was moved to another node (HandOff); it keeps no delivery,
	// and the broker passes what is still routed to it on to the new node. (Here, in
	// expiry's padding: the flags above fill their word.)
	handedOff bool
	offlineAt int64 // Unix nanoseconds; 0 while online
	subs      subSet
}

// active is the part of a session that exists while a client is attached, and after that
// only while something is buffered in memory: deliveries queued or in flight (a session
// without a message store), incoming QoS 2 ids awaiting PUBREL, a flusher still running,
// a publisher waiting on drained, the connection's will until the disconnect takes it.
// releaseActiveLocked frees it.
type active struct {
	link      Link
	will      *Message // the connection's last will (will.go)
	willDelay uint32
	info      Info   // but Username: Session.username
	recvMax   int    // client's Receive Maximum (v5), 0 = none
	maxPkt    uint32 // client's Maximum Packet Size (v5), 0 = none
	flushing  bool
	corked    bool
	backlog   bool // the store holds more of this online session's queue than was read (drained in steps)
	refilling bool
	q         queue
	infl      inflight
	outbox    []packets.Packet
	box       [1]packets.Packet // outbox's first array: a connection's CONNACK allocates none (issue 19)
	pending   []byte            // the part of a reader's direct write the socket did not take; the flusher sends it first
	flushFn   func()            // s.flush, made at the first flush (flush.go)
	drained   chan struct{}     // closed when a congested queue is back to half (flow.go)
	scr       *encodeScratch
	aliases   map[string]uint16 // outgoing topic aliases of the current connection
	newAlias  string            // topic whose alias the packet being built introduces
	qos2In    map[uint16]struct{}
	loadedSeq uint64 // highest store sequence read into the queue since the client came back
}

// activeLocked returns the session's active part, allocating it if need be.
func (s *Session) activeLocked() *active {
	if s.a == nil {
		s.a = &active{}
		s.a.outbox = s.a.box[:0]
	}
	return s.a
}

// releaseActiveLocked frees the active part of an offline session once nothing in it is
// needed any more.
func (s *Session) releaseActiveLocked() {
	a := s.a
	if a == nil || a.link != nil || a.will != nil || a.flushing || a.refilling || a.backlog || a.drained != nil ||
		a.q.Len() > 0 || a.infl.Len() > 0 || len(a.qos2In) > 0 {
		return
	}
	s.a = nil
}

// linkLocked is the attached connection, or nil.
func (s *Session) linkLocked() Link {
	if s.a == nil {
		return nil
	}
	return s.a.link
}

// isLinkLocked says whether l (not nil) is the attached connection.
func (s *Session) isLinkLocked(l Link) bool { return s.a != nil && s.a.link == l }

func (s *Session) queueLenLocked() int {
	if s.a == nil {
		return 0
	}
	return s.a.q.Len()
}

func (s *Session) inflightLenLocked() int {
	if s.a == nil {
		return 0
	}
	return s.a.infl.Len()
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
	return s.env.Limits.Load()
}

// Limits returns the queue limits in force for this session.
func (s *Session) Limits() *Limits { return s.lim() }

// SetLimits gives the session limits of its own (a plugin's auth_on_register modifiers
// at CONNECT); nil puts it back on the node's, which follow the conf.
func (s *Session) SetLimits(l *Limits) { s.own.Store(l) }

// New returns an offline session of env's broker.
func New(id topics.SubscriberID, env *Env) *Session {
	return &Session{ID: id, env: env, offlineAt: time.Now().UnixNano()}
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
	s.attach(link, info, recvMax, maxPkt, first, false)
}

// AttachCorked is Attach that leaves the session corked for link's reader, whose Uncork
// then writes the CONNACK itself: no flusher goroutine is started for it.
func (s *Session) AttachCorked(link Link, info Info, recvMax int, maxPkt uint32, first packets.Packet) {
	s.attach(link, info, recvMax, maxPkt, first, true)
}

func (s *Session) attach(link Link, info Info, recvMax int, maxPkt uint32, first packets.Packet, corked bool) {
	s.mu.Lock()
	a := s.activeLocked()
	a.outbox = append(a.outbox[:0], first)
	a.link, a.info = link, info
	a.info.Username = "" // kept in s.username
	s.version, s.cleanStart, s.username = info.Protocol, info.CleanStart, info.Username
	a.pending = nil
	a.recvMax, a.maxPkt = recvMax, maxPkt
	a.aliases = nil // aliases belong to a network connection [MQTT-3.3.2-7]
	a.corked = corked
	s.closed = false
	s.offlineAt = 0
	a.infl.each(func(o *outMsg) {
		if o.state == awaitPubcomp {
			a.outbox = append(a.outbox, &packets.Ack{Kind: packets.PUBREL, PacketID: o.id})
		} else {
			a.outbox = append(a.outbox, s.publishPacket(o, true))
		}
	})
	// The offline queue may hold more than an online session is allowed; VerneMQ trims it unless overridden.
	// (With a message store the queue is read in steps and nothing needs trimming.)
	if l := s.lim(); s.env.Persist == nil && !l.OverrideMaxOnline && l.MaxOnline >= 0 {
		for a.q.Len() > l.MaxOnline {
			s.dropLocked(a.q.pop(), DropQueueFull)
		}
	}
	s.kickLocked()
	s.mu.Unlock()
}

// Detach puts the session offline if link is still its link; it reports whether it was.
// What described the connection (peer, listener, keep alive) goes with it.
func (s *Session) Detach(link Link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isLinkLocked(link) {
		return false
	}
	a := s.a
	a.link = nil
	a.info = Info{}
	a.corked = false
	s.releaseLocked()
	s.offlineAt = time.Now().UnixNano()
	clear(a.outbox) // control packets belong to the connection that is gone
	a.box = [1]packets.Packet{}
	a.outbox = a.box[:0]
	a.pending = nil
	a.aliases, a.newAlias, a.scr = nil, "", nil
	s.releaseActiveLocked()
	return true
}

// Kick disconnects the current client, if any, with code (takeover, admin disconnect).
func (s *Session) Kick(code packets.ReasonCode) {
	s.mu.Lock()
	link := s.linkLocked()
	s.mu.Unlock()
	if link != nil {
		link.Kick(code)
	}
}

// Link returns the connection the session is attached to, or nil while offline.
func (s *Session) Link() Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linkLocked()
}

// LockStore and UnlockStore bracket store work that must not interleave for one session.
func (s *Session) LockStore()   { s.storeMu.Lock() }
func (s *Session) UnlockStore() { s.storeMu.Unlock() }

// Online reports whether a client is attached.
func (s *Session) Online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linkLocked() != nil
}

// Info returns the attached client's description and, while offline, when the session
// went offline. Of an offline session's last client it keeps the user name, protocol and
// clean start only: the rest described the connection.
func (s *Session) Info() (Info, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var info Info
	if s.a != nil {
		info = s.a.info
	}
	info.Username, info.Protocol, info.CleanStart = s.username, s.version, s.cleanStart
	var off time.Time
	if s.offlineAt != 0 {
		off = time.Unix(0, s.offlineAt)
	}
	return info, off
}

// SetUsername records the user name of an offline session restored from the store or a
// migration, so that session_binding knows who owns it before its client returns.
func (s *Session) SetUsername(u string) {
	s.mu.Lock()
	s.username = u
	s.mu.Unlock()
}

// Close marks the session gone: further deliveries are refused.
func (s *Session) Close() {
	s.mu.Lock()
	s.closed = true
	if a := s.a; a != nil {
		a.q = queue{}
		a.infl = inflight{}
		a.qos2In = nil
		a.backlog = false
		s.releaseLocked()
		s.releaseActiveLocked()
	}
	s.mu.Unlock()
}

// Send queues a control packet (PUBACK, SUBACK...) for the client behind the messages already queued.
// Packets from a connection that was taken over are dropped (from is not the link any more).
func (s *Session) Send(from Link, p packets.Packet) {
	s.mu.Lock()
	if s.isLinkLocked(from) && from != nil {
		s.a.outbox = append(s.a.outbox, p)
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
	online := s.linkLocked() != nil
	if !online {
		if !s.persistent {
			return false
		}
		if d.QoS == 0 {
			s.env.Metrics.QueueMessageUnhandled.Inc()
			return false
		}
		limit = l.MaxOffline
		if limit == 0 {
			s.dropLocked(d, DropQueueFull)
			return false
		}
	}
	a := s.activeLocked()
	if limit >= 0 && a.q.Len() >= limit {
		if !l.LIFO || a.q.Len() == 0 {
			s.dropLocked(d, DropQueueFull) // fifo: the newest is dropped
			return false
		}
		s.dropLocked(a.q.pop(), DropQueueFull) // lifo: the oldest makes room
	}
	a.q.push(d)
	s.env.Metrics.QueueMessageIn.Inc()
	if online {
		s.kickLocked()
	}
	return true
}

func (s *Session) dropLocked(d Delivery, reason DropReason) {
	m := s.env.Metrics
	m.QueueMessageDrop.Inc()
	switch reason {
	case DropQueueFull:
		m.DropQueueFull.Inc()
	case DropExpired:
		m.DropExpired.Inc()
		m.QueueMessageExpired.Inc()
	case DropMaxPacketSize:
		m.DropMaxPacketSize.Inc()
	}
	if d.Seq != 0 && s.env.Persist != nil {
		s.env.Persist.Acked(s.ID, d.Seq)
	}
	if s.env.OnDrop != nil {
		s.env.OnDrop(s.ID, d, reason)
	}
}

// QueueLen is the number of deliveries waiting (not yet in flight).
func (s *Session) QueueLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queueLenLocked()
}

// InflightLen is the number of deliveries sent and not yet acknowledged.
func (s *Session) InflightLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflightLenLocked()
}

// Pending returns copies of the queued and inflight deliveries, inflight first (for migration and persistence).
func (s *Session) Pending() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingLocked()
}

func (s *Session) pendingLocked() []Delivery {
	a := s.a
	if a == nil {
		return []Delivery{}
	}
	out := make([]Delivery, 0, a.infl.Len()+a.q.Len())
	a.infl.each(func(o *outMsg) {
		if o.state != awaitPubcomp {
			out = append(out, o.d)
		}
	})
	a.q.each(func(d *Delivery) { out = append(out, *d) })
	return out
}
