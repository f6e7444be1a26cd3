package broker

import (
	"context"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"maps"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// pipeLink decodes what a session writes, as a client would read it.
type pipeLink struct {
	mu      sync.Mutex
	buf     []byte
	pubs    []*packets.Publish
	other   []packets.Packet
	kicked  atomic.Int32
	version byte
	gate    chan struct{} // when set, Write waits until it is closed: a subscriber that does not read
	atGate  chan struct{} // when set, closed once a Write waits at the gate
	gateHit sync.Once
}

func (l *pipeLink) Write(b []byte) (int, error) {
	if l.gate != nil {
		if l.atGate != nil {
			l.gateHit.Do(func() { close(l.atGate) })
		}
		<-l.gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for len(l.buf) >= 2 {
		n, hl := 0, 1
		for mul := 1; ; mul *= 128 {
			c := l.buf[hl]
			n += int(c&0x7f) * mul
			hl++
			if c&0x80 == 0 {
				break
			}
		}
		if len(l.buf) < hl+n {
			break
		}
		p, err := packets.Decode(l.buf[0], l.buf[hl:hl+n], l.version)
		if err != nil {
			panic(fmt.Sprintf("session wrote a bad packet: %v", err))
		}
		if pub, ok := p.(*packets.Publish); ok {
			l.pubs = append(l.pubs, pub)
		} else {
			l.other = append(l.other, p)
		}
		l.buf = l.buf[hl+n:]
	}
	return len(b), nil
}

func (l *pipeLink) Kick(packets.ReasonCode) { l.kicked.Add(1) }

func (l *pipeLink) published() []*packets.Publish {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*packets.Publish(nil), l.pubs...)
}

func connect(b *Broker, id string, persistent bool, l *pipeLink) *session.Session {
	s, _ := b.Connect(context.Background(), connectRequest(id, persistent, l))
	return s
}

// connectRequest is what connect sends: a caller changes a field (CleanStart) and connects.
func connectRequest(id string, persistent bool, l *pipeLink) ConnectRequest {
	if l.version == 0 {
		l.version = packets.V311
	}
	exp := uint32(0)
	if persistent {
		exp = NeverExpire
	}
	return ConnectRequest{
		ID: topics.SubscriberID{ClientID: id}, Persistent: persistent, Expiry: exp, Link: l,
		Info:    session.Info{Protocol: l.version},
		Connack: func(present bool) packets.Packet { return &packets.Connack{SessionPresent: present} },
	}
}

// ackFunc is an Acker that calls fn when the publish may be acknowledged.
type ackFunc func(err error)

func (f ackFunc) PublishDone(_ uint16, _ byte, err error) { f(err) }

func (f ackFunc) ack() Ack { return Ack{To: f, QoS: 1} }

func msg(topic string, qos byte, payload string) *session.Message {
	return &session.Message{Topic: topic, QoS: qos, Payload: []byte(payload)}
}

func TestRouteOverlapAndNoLocal(t *testing.T) {
	b := New(Options{Node: "n1"})
	l := &pipeLink{}
	s := connect(b, "sub", false, l)
	b.Subscribe(s, []session.Sub{
		{Filter: "a/#", Options: packets.SubOptions{QoS: 0}},
		{Filter: "a/+", Options: packets.SubOptions{QoS: 1}},
		{Filter: "x", Options: packets.SubOptions{QoS: 1, NoLocal: true}},
	})
	b.Publish(msg("a/b", 1, "one"))
	m := msg("x", 1, "mine")
	m.From = "sub"
	b.Publish(m)
	eventually.True(t, eventually.Wait, "one delivery", func() bool { return len(l.published()) == 1 })
	eventually.Never(t, eventually.Settle, "a second copy", func() bool { return len(l.published()) > 1 })
	pubs := l.published()
	if len(pubs) != 1 || pubs[0].QoS != 1 || string(pubs[0].Payload) != "one" {
		t.Fatalf("want one QoS 1 copy of a/b, got %+v", pubs)
	}
}

func TestQueueLimitsFifoLifo(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		b := New(Options{Node: "n1"})
		b.SetLimits(session.Limits{MaxOnline: 1000, MaxOffline: 3, LIFO: lifo, MaxInflight: 20})
		l := &pipeLink{}
		s := connect(b, "p", true, l)
		b.Subscribe(s, []session.Sub{{Filter: "t", Options: packets.SubOptions{QoS: 1}}})
		b.Disconnect(s, l, true)
		for i := 0; i < 5; i++ {
			b.Publish(msg("t", 1, fmt.Sprint(i)))
		}
		if b.m.DropQueueFull.Value() != 2 {
			t.Fatalf("lifo=%v: %d drops counted, want 2", lifo, b.m.DropQueueFull.Value())
		}
		l2 := &pipeLink{}
		connect(b, "p", true, l2)
		eventually.True(t, eventually.Wait, "3 queued messages", func() bool { return len(l2.published()) == 3 })
		want := "012"
		if lifo {
			want = "234"
		}
		got := ""
		for _, p := range l2.published() {
			got += string(p.Payload)
		}
		if got != want {
			t.Fatalf("lifo=%v: delivered %q, want %q", lifo, got, want)
		}
	}
}

func TestOfflineQoS0NotStored(t *testing.T) {
	b := New(Options{Node: "n1"})
	l := &pipeLink{}
	s := connect(b, "p", true, l)
	b.Subscribe(s, []session.Sub{{Filter: "t", Options: packets.SubOptions{QoS: 1}}})
	b.Disconnect(s, l, true)
	b.Publish(msg("t", 0, "zero"))
	if s.QueueLen() != 0 || b.m.QueueMessageUnhandled.Value() != 1 {
		t.Fatalf("QoS 0 for an offline session: queue %d, unhandled %d", s.QueueLen(), b.m.QueueMessageUnhandled.Value())
	}
}

// TestDurableAck checks that the publish callback (the PUBACK) comes only after the copy for an
// offline persistent session is in the store, and that a new broker on the same file delivers it.
func TestDurableAck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{Node: "n1", Store: st})
	l := &pipeLink{}
	s := connect(b, "p", true, l)
	b.Subscribe(s, []session.Sub{{Filter: "t/#", Options: packets.SubOptions{QoS: 1}}})
	b.Disconnect(s, l, true)
	const n = 200
	var wg sync.WaitGroup
	var acked atomic.Int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		b.PublishFlow(msg(fmt.Sprintf("t/%d", i), 1, fmt.Sprint(i)), ackFunc(func(err error) {
			if err != nil {
				t.Error(err)
			}
			if st.QueueLen(store.SessionKey{ClientID: "p"}) < int(acked.Load())+1 {
				t.Error("acknowledged before the message was stored")
			}
			acked.Add(1)
			wg.Done()
		}).ack())
	}
	wg.Wait()
	if c := st.Stats().Commits; c >= n {
		t.Errorf("%d commits for %d messages: writes are not grouped", c, n)
	}
	st.Close()

	st2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	b2 := New(Options{Node: "n1", Store: st2})
	if err := st2.Sessions(func(rec store.Session) error {
		var subs []session.Sub
		for _, s := range rec.Subscriptions {
			subs = append(subs, session.Sub{Filter: s.Filter, Options: packets.SubOptions{QoS: s.QoS}})
		}
		b2.RestoreSession(topics.SubscriberID{ClientID: rec.Key.ClientID}, NeverExpire, time.Now(), subs)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l2 := &pipeLink{}
	connect(b2, "p", true, l2)
	eventually.True(t, eventually.Wait, "stored messages after restart", func() bool { return len(l2.published()) >= 20 })
	// Only the inflight window (20) is sent until acknowledged.
	eventually.Never(t, eventually.Settle, "more than the inflight window sent", func() bool { return len(l2.published()) > 20 })
	if got := len(l2.published()); got != 20 {
		t.Fatalf("%d messages sent with max_inflight_messages 20", got)
	}
}

// connackLink records how many session records the store had committed when the session
// wrote its first packet, the CONNACK.
type connackLink struct {
	pipeLink
	st      *store.Store
	first   sync.Once
	records atomic.Int64
}

func (l *connackLink) Write(b []byte) (int, error) {
	l.first.Do(func() { l.records.Store(int64(l.st.Stats().Sessions)) })
	return l.pipeLink.Write(b)
}

// TestPersistentSessionDurableBeforeConnack: a new persistent session's record is committed
// before its CONNACK is written, even when the commit waits (a long commit delay here), so a
// client that saw the CONNACK finds its session after a crash. Reconnecting to a session that
// never expires writes nothing at the disconnect.
func TestPersistentSessionDurableBeforeConnack(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{CommitDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := New(Options{Node: "n1", Store: st})
	connect(b, "p", true, &pipeLink{})
	l2 := &connackLink{st: st, pipeLink: pipeLink{version: packets.V311}}
	l2.records.Store(-1)
	s2, _ := b.Connect(context.Background(), ConnectRequest{
		ID: topics.SubscriberID{ClientID: "q"}, Persistent: true, Expiry: NeverExpire, Link: l2,
		Info:    session.Info{Protocol: packets.V311},
		Connack: func(present bool) packets.Packet { return &packets.Connack{SessionPresent: present} },
	})
	eventually.True(t, eventually.Wait, "the CONNACK written", func() bool { return l2.records.Load() >= 0 })
	if got := l2.records.Load(); got != 2 {
		t.Fatalf("%d session records committed when the CONNACK of the second session was written, want 2 (its own included)", got)
	}
	commits := st.Stats().Commits
	b.Disconnect(s2, l2, true)
	if c := st.Stats().Commits; c != commits {
		t.Fatalf("%d commits for the disconnect of a session that never expires, want none", c-commits)
	}
	// A session that expires records when it went offline.
	l3 := &pipeLink{version: packets.V5}
	s3, _ := b.Connect(context.Background(), ConnectRequest{
		ID: topics.SubscriberID{ClientID: "r"}, Persistent: true, Expiry: 3600, Link: l3,
		Info:    session.Info{Protocol: packets.V5},
		Connack: func(present bool) packets.Packet { return &packets.Connack{SessionPresent: present} },
	})
	b.Disconnect(s3, l3, true)
	var offline time.Time
	if err := st.Sessions(func(rec store.Session) error {
		if rec.Key.ClientID == "r" {
			offline = rec.DisconnectedAt
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if offline.IsZero() {
		t.Fatal("the record of an expiring session does not say when it went offline")
	}
}

// TestConcurrentRouting publishes from many goroutines to many sessions; run with -race.
func TestConcurrentRouting(t *testing.T) {
	b := New(Options{Node: "n1"})
	b.SetLimits(session.Limits{MaxOnline: 100000, MaxOffline: 1000, MaxInflight: 0})
	const subs, pubs, each = 8, 8, 500
	links := make([]*pipeLink, subs)
	for i := range links {
		links[i] = &pipeLink{}
		s := connect(b, fmt.Sprint("s", i), false, links[i])
		b.Subscribe(s, []session.Sub{{Filter: "load/#", Options: packets.SubOptions{QoS: 0}}})
	}
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b.Publish(msg(fmt.Sprintf("load/%d", p), 0, "x"))
			}
		}(p)
	}
	// Subscribe and unsubscribe churn at the same time.
	go func() {
		l := &pipeLink{}
		s := connect(b, "churn", false, l)
		for i := 0; i < 200; i++ {
			b.Subscribe(s, []session.Sub{{Filter: fmt.Sprintf("load/%d", i%8)}})
			b.Unsubscribe(s, []string{fmt.Sprintf("load/%d", i%8)})
		}
	}()
	wg.Wait()
	for i, l := range links {
		eventually.True(t, eventually.Wait, fmt.Sprint("all messages at subscriber ", i), func() bool { return len(l.published()) == pubs*each })
	}
}

func TestSharedSubscriptionOnce(t *testing.T) {
	b := New(Options{Node: "n1"})
	links := make([]*pipeLink, 3)
	for i := range links {
		links[i] = &pipeLink{}
		s := connect(b, fmt.Sprint("w", i), false, links[i])
		b.Subscribe(s, []session.Sub{{Filter: "$share/g/jobs/#", Options: packets.SubOptions{QoS: 1}}})
	}
	for i := 0; i < 300; i++ {
		b.Publish(msg("jobs/1", 0, fmt.Sprint(i)))
	}
	total := func() int {
		n := 0
		for _, l := range links {
			n += len(l.published())
		}
		return n
	}
	eventually.True(t, eventually.Wait, "300 deliveries", func() bool { return total() == 300 })
	for i, l := range links {
		if len(l.published()) == 0 {
			t.Errorf("member %d got nothing", i)
		}
	}
}

func TestTakeoverOldAcksIgnored(t *testing.T) {
	b := New(Options{Node: "n1"})
	l1 := &pipeLink{}
	s := connect(b, "c", true, l1)
	b.Subscribe(s, []session.Sub{{Filter: "t", Options: packets.SubOptions{QoS: 1}}})
	b.Publish(msg("t", 1, "a"))
	eventually.True(t, eventually.Wait, "first delivery", func() bool { return len(l1.published()) == 1 })
	l2 := &pipeLink{}
	connect(b, "c", true, l2)
	eventually.True(t, eventually.Wait, "the old connection kicked", func() bool { return l1.kicked.Load() == 1 })
	eventually.True(t, eventually.Wait, "resend on the new connection", func() bool { return len(l2.published()) == 1 })
	if !l2.published()[0].Dup {
		t.Error("resent message without DUP")
	}
	// A late PUBACK read from the old connection must not complete the message for the new one.
	s.Puback(l1, l2.published()[0].PacketID)
	if s.InflightLen() != 1 {
		t.Fatal("old connection's PUBACK acknowledged for the new connection")
	}
}

// Large fan-outs (the indexed path of ownerEntries) still deliver once per session, even
// when the first matching entry is skipped (No Local).
func TestLargeFanoutDedup(t *testing.T) {
	b := New(Options{Node: "n1"})
	links := make([]*pipeLink, 40)
	pubLink := &pipeLink{}
	ps := connect(b, "pub", false, pubLink)
	b.Subscribe(ps, []session.Sub{{Filter: "f/#", Options: packets.SubOptions{NoLocal: true}}})
	for i := range links {
		links[i] = &pipeLink{}
		s := connect(b, fmt.Sprint("s", i), false, links[i])
		b.Subscribe(s, []session.Sub{{Filter: "f/#"}, {Filter: "f/+"}})
	}
	m := msg("f/x", 0, "x")
	m.From = "pub"
	b.Publish(m)
	for i, l := range links {
		eventually.True(t, eventually.Wait, fmt.Sprint("delivery ", i), func() bool { return len(l.published()) >= 1 })
	}
	eventually.Never(t, eventually.Settle, "a duplicate delivery", func() bool {
		for _, l := range links {
			if len(l.published()) > 1 {
				return true
			}
		}
		return false
	})
	for i, l := range links {
		if n := len(l.published()); n != 1 {
			t.Fatalf("subscriber %d got %d copies", i, n)
		}
	}
	if len(pubLink.published()) != 0 {
		t.Fatal("No Local ignored")
	}
}

// In a large fan-out, sessions with one matching subscription get their copy at its QoS
// and sessions with overlapping ones one copy at the highest QoS, wherever their entries sit.
func TestLargeFanoutMergesOverlaps(t *testing.T) {
	b := New(Options{Node: "n1"})
	type sub struct {
		l       *pipeLink
		overlap bool
	}
	var subs []sub
	for i := range 40 {
		l := &pipeLink{}
		s := connect(b, fmt.Sprint("s", i), false, l)
		filters := []session.Sub{{Filter: "f/#", Options: packets.SubOptions{QoS: 0}}}
		overlap := i%8 == 3
		if overlap {
			filters = append(filters, session.Sub{Filter: "f/+", Options: packets.SubOptions{QoS: 1}})
		}
		b.Subscribe(s, filters)
		subs = append(subs, sub{l, overlap})
	}
	b.Publish(msg("f/x", 1, "x"))
	for i, s := range subs {
		eventually.True(t, eventually.Wait, fmt.Sprint("delivery ", i), func() bool { return len(s.l.published()) >= 1 })
	}
	eventually.Never(t, eventually.Settle, "a duplicate delivery", func() bool {
		for _, s := range subs {
			if len(s.l.published()) > 1 {
				return true
			}
		}
		return false
	})
	for i, s := range subs {
		pubs := s.l.published()
		want := byte(0)
		if s.overlap {
			want = 1
		}
		if len(pubs) != 1 || pubs[0].QoS != want {
			t.Fatalf("subscriber %d (overlap %v): %d copies, QoS %d; want 1 at QoS %d", i, s.overlap, len(pubs), pubs[0].QoS, want)
		}
	}
}

// A message from another node that leaves a local subscriber's queue ¾ full hands the
// cluster link's reader the same flow-control channel a local publisher gets; it closes
// once the queue is back to half.
func TestDeliverLocalReportsCongestion(t *testing.T) {
	b := New(Options{Node: "n1"})
	b.SetLimits(session.Limits{MaxOnline: 8, MaxOffline: 8, MaxInflight: 20})
	l := &pipeLink{gate: make(chan struct{}), atGate: make(chan struct{})}
	s := connect(b, "sub", false, l)
	b.Subscribe(s, []session.Sub{{Filter: "t"}})
	// Once the flusher's first write (CONNACK, SUBACK) waits at the gate, deliveries stay queued;
	// before that, its first batch could take some of them along.
	select {
	case <-l.atGate:
	case <-time.After(5 * time.Second):
		t.Fatal("the flusher never wrote the CONNACK")
	}
	var congested <-chan struct{}
	for i := 0; i < 8 && congested == nil; i++ {
		m := msg("t", 0, fmt.Sprint(i))
		m.Node = "n2"
		var n int
		n, congested = b.DeliverLocal(m)
		if n != 1 {
			t.Fatalf("delivery %d reached %d sessions", i, n)
		}
	}
	if congested == nil {
		t.Fatal("a queue at ¾ of max_online_messages did not report congestion")
	}
	select {
	case <-congested:
		t.Fatal("congestion channel closed while the subscriber reads nothing")
	default:
	}
	close(l.gate)
	select {
	case <-congested:
	case <-time.After(5 * time.Second):
		t.Fatal("congestion channel not closed after the subscriber drained its queue")
	}
	eventually.True(t, eventually.Wait, "queued deliveries", func() bool { return len(l.published()) >= 6 })
}

// fakeRemote records forwarded shared deliveries.
type fakeRemote struct {
	mu     sync.Mutex
	shared []string
}

func (f *fakeRemote) Forward(node string, m *session.Message) {}
func (f *fakeRemote) ForwardShared(node string, m *session.Message, sub topics.SubscriberID, d session.Delivery) {
	f.mu.Lock()
	f.shared = append(f.shared, sub.ClientID)
	f.mu.Unlock()
}

// prefer_local queues for a local offline member before using a remote one;
// prefer_online_before_local sends to the remote online member instead; local_only never forwards.
func TestSharedPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy     string
		wantRemote bool
		wantQueued bool
	}{
		{PolicyPreferLocal, false, true},
		{PolicyPreferOnlineBeforeLocal, true, false},
		{PolicyLocalOnly, false, true},
	} {
		b := New(Options{Node: "n1"})
		r := &fakeRemote{}
		b.SetRemote(r)
		b.SetSettings(Settings{SharedPolicy: tc.policy})
		l := &pipeLink{}
		s := connect(b, "local", true, l)
		b.Subscribe(s, []session.Sub{{Filter: "$share/g/jobs", Options: packets.SubOptions{QoS: 1}}})
		b.Disconnect(s, l, true)
		b.Index().Add((&topics.Entry{Subscriber: topics.SubscriberID{ClientID: "remote"}, Filter: "jobs", Options: packets.SubOptions{QoS: 1}}).At("n2", "g"))
		b.Publish(msg("jobs", 1, "j"))
		r.mu.Lock()
		gotRemote := len(r.shared) == 1
		r.mu.Unlock()
		if gotRemote != tc.wantRemote || (s.QueueLen() == 1) != tc.wantQueued {
			t.Errorf("%s: forwarded %v (want %v), queued locally %d (want %v)", tc.policy, gotRemote, tc.wantRemote, s.QueueLen(), tc.wantQueued)
		}
	}
}

// stuckLink is a client that stopped reading: the DISCONNECT written at its kick blocks
// until release closes, as a socket write does until its deadline.
type stuckLink struct {
	pipeLink
	release chan struct{}
}

func (l *stuckLink) Kick(code packets.ReasonCode) {
	select {
	case <-l.release:
	case <-time.After(2 * time.Second): // conn's DISCONNECT write deadline
	}
	l.pipeLink.Kick(code)
}

func connectLink(b *Broker, id string, l session.Link) {
	b.Connect(context.Background(), ConnectRequest{
		ID: topics.SubscriberID{ClientID: id}, Persistent: true, Expiry: NeverExpire, Link: l,
		Info:    session.Info{Protocol: packets.V311},
		Connack: func(present bool) packets.Packet { return &packets.Connack{SessionPresent: present} },
	})
}

// Taking over a client whose old connection does not read must stall neither unrelated
// CONNECTs nor the new connection of that client: the kick happens outside every lock.
func TestTakeoverOfStuckClientStallsNobody(t *testing.T) {
	b := New(Options{Node: "n1"})
	old := &stuckLink{pipeLink: pipeLink{version: packets.V311}, release: make(chan struct{})}
	defer close(old.release)
	connectLink(b, "c", old)
	start := time.Now()
	connectLink(b, "c", &pipeLink{version: packets.V311})
	connectLink(b, "other", &pipeLink{version: packets.V311})
	// Nothing here waits on I/O; 100 ms is the bound and far above what it takes.
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("takeover and an unrelated CONNECT took %v behind a stuck client", d)
	}
	if old.kicked.Load() != 0 {
		t.Fatal("the stuck kick returned before its release")
	}
}

// on_client_offline of a connection that ends is told before the same client's next
// connection registers (on_client_wakeup), never after it.
func TestOfflineHookBeforeReconnect(t *testing.T) {
	b := New(Options{Node: "n1"})
	var mu sync.Mutex
	var events []string
	note := func(ev string) { mu.Lock(); events = append(events, ev); mu.Unlock() }
	inOffline := make(chan struct{})
	release := make(chan struct{})
	b.SetHooks(Hooks{
		OnClientWakeup: func(SessionID) { note("wakeup") },
		OnClientOffline: func(SessionID) {
			close(inOffline)
			<-release // a slow hook (a webhook)
			note("offline")
		},
	})
	l1 := &pipeLink{version: packets.V311}
	s := connect(b, "c", true, l1)
	mu.Lock()
	events = nil
	mu.Unlock()
	go b.Disconnect(s, l1, false)
	<-inOffline
	reconnected := make(chan struct{})
	go func() { connect(b, "c", true, &pipeLink{version: packets.V311}); close(reconnected) }()
	select {
	case <-reconnected:
		t.Fatal("the reconnect registered while on_client_offline of its previous connection ran")
	case <-time.After(50 * time.Millisecond): // bound of the negative check: the reconnect takes microseconds when not held
	}
	close(release)
	<-reconnected
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != "[offline wakeup]" {
		t.Fatalf("hooks in order %v, want [offline wakeup]", events)
	}
}

// Concurrent retained publishes to one topic: the message kept in memory (what subscribers
// get now) is the one in the store (what they get after a restart).
func TestRetainedMemoryAndStoreAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{Node: "n1", Store: st})
	const publishers, each = 8, 50
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m := msg("r", 1, fmt.Sprintf("%d/%d", p, i))
				m.Retain = true
				ch := make(chan error, 1)
				b.PublishFlow(m, ackFunc(func(err error) { ch <- err }).ack())
				if err := <-ch; err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var inMemory string
	b.Retained(func(m *session.Message) bool { inMemory = string(m.Payload); return true })
	var inStore string
	if err := st.Retained(func(_, _ string, m store.Message) error { inStore = string(m.Payload); return nil }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if inMemory == "" || inMemory != inStore {
		t.Fatalf("retained in memory %q, in the store %q", inMemory, inStore)
	}
}

// retain_memory follows the retained messages: set, replace, delete back to zero.
func TestRetainMemory(t *testing.T) {
	b := New(Options{Node: "n1"})
	mem := b.Metrics().RetainMemory
	b.RestoreRetained(&session.Message{Topic: "r/1", Payload: make([]byte, 1000), Retain: true})
	one := mem.Read()
	if one < 1000 {
		t.Fatalf("one 1000-byte retained message: %d bytes", one)
	}
	b.RestoreRetained(&session.Message{Topic: "r/1", Payload: make([]byte, 10), Retain: true})
	if m := mem.Read(); m != one-990 {
		t.Fatalf("replaced by a 10-byte payload: %d bytes, want %d", m, one-990)
	}
	b.RestoreRetained(&session.Message{Topic: "r/2", Payload: []byte("x"), Retain: true})
	b.RestoreRetained(&session.Message{Topic: "r/2"}) // an empty payload deletes [MQTT-3.3.1-10]
	b.DeleteRetained("", "r/1")
	if m := mem.Read(); m != 0 {
		t.Fatalf("after deleting all: %d bytes", m)
	}
}

// moverRemote is a Remote that moves sessions (broker.Mover), recording what it is given.
type moverRemote struct {
	fakeRemote
	passed []string
}

func (f *moverRemote) PassOn(id SessionID, d session.Delivery) bool {
	f.mu.Lock()
	f.passed = append(f.passed, id.ClientID+"="+string(d.Msg.Payload))
	f.mu.Unlock()
	return true
}

// HandOver takes a session's queue and hands it off in one step: what a publish routes to
// it afterwards (its subscriptions route here until release) goes to the Mover, not to a
// session that no longer keeps anything; after release nothing routes to it.
func TestHandOverPassesOnLateDeliveries(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		t.Run(fmt.Sprintf("store=%v", withStore), func(t *testing.T) {
			o := Options{Node: "n1"}
			if withStore {
				st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				o.Store = st
			}
			b := New(o)
			r := &moverRemote{}
			b.SetRemote(r)
			l := &pipeLink{}
			s := connect(b, "mover", true, l)
			b.Subscribe(s, []session.Sub{{Filter: "t", Options: packets.SubOptions{QoS: 1}}})
			b.Disconnect(s, l, true)
			b.Publish(msg("t", 1, "before"))

			m, release, ok := b.HandOver(topics.SubscriberID{ClientID: "mover"})
			if !ok || len(m.Queue) != 1 || string(m.Queue[0].Msg.Payload) != "before" {
				t.Fatalf("HandOver: ok %v, queue %v", ok, m.Queue)
			}
			if b.Session(topics.SubscriberID{ClientID: "mover"}) != nil {
				t.Fatal("a handed-over session is still registered")
			}
			if n := b.Publish(msg("t", 1, "during")); n != 1 {
				t.Fatalf("publish during the hand-over matched %d local sessions, want 1 (the one moving)", n)
			}
			release()
			if n := b.Publish(msg("t", 1, "after")); n != 0 {
				t.Fatalf("publish after release matched %d local sessions", n)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.passed) != 1 || r.passed[0] != "mover=during" {
				t.Fatalf("passed on %v, want [mover=during]", r.passed)
			}
		})
	}
}

// RetainedChanges reports each topic this node set or deleted since the last call once, with
// what is retained there now; what was restored, or came from a cluster peer, is no change.
func TestRetainedChanges(t *testing.T) {
	b := New(Options{Node: "n1"})
	msg := func(topic, payload string) *session.Message {
		return &session.Message{Topic: topic, Payload: []byte(payload), Retain: true}
	}
	changes := func() map[string]string {
		got := map[string]string{}
		b.RetainedChanges(func(k RetainedKey, m *session.Message, at int64) {
			if at == 0 {
				t.Fatalf("%v reported without the time of its change", k)
			}
			if m == nil {
				got[k.Topic] = "<deleted>"
			} else {
				got[k.Topic] = string(m.Payload)
			}
		})
		return got
	}
	b.RestoreRetained(msg("old/1", "restored"))
	b.TrackRetainedChanges()
	if got := changes(); len(got) != 0 {
		t.Fatalf("a message restored before tracking reported as a change: %v", got)
	}
	b.Publish(msg("a", "1"))
	b.Publish(msg("b", "1"))
	b.Publish(msg("b", "2"))
	b.Publish(msg("c", "1"))
	b.Publish(&session.Message{Topic: "c", Retain: true}) // empty payload: deleted
	b.DeleteRetained("", "old/1")
	b.DeleteRetained("", "never")           // nothing there: no change
	b.RestoreRetained(msg("peer", "x"))     // a cluster peer's write: not this node's change
	b.DeliverLocal(msg("forwarded", "x"))   // forwarded by the publishing node: its change
	b.DeletePeerRetained("", "a-peer-gone") // nothing there
	want := map[string]string{"a": "1", "b": "2", "c": "<deleted>", "old/1": "<deleted>"}
	if got := changes(); !maps.Equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if got := changes(); len(got) != 0 {
		t.Fatalf("changes reported twice: %v", got)
	}
}

// DeleteExpiredRetained deletes exactly the expired retained messages, across several
// of its lock chunks, and tells the cluster (RetainedChanges).
func TestDeleteExpiredRetained(t *testing.T) {
	b := New(Options{Node: "n1"})
	now := time.Now()
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	if n := b.DeleteExpiredRetained(now); n != 0 {
		t.Fatalf("an empty store deleted %d", n)
	}
	want := 0
	for i := range 3000 { // about three chunks of 1,024
		m := &session.Message{Topic: fmt.Sprintf("r/%d", i), Payload: []byte("x"), Retain: true}
		switch i % 3 {
		case 0:
			m.Expiry = past
			want++
		case 1:
			m.Expiry = future
		}
		if i%2 == 0 {
			m.Mountpoint = "mp"
		}
		b.RestoreRetained(m)
	}
	b.TrackRetainedChanges()
	if n := b.DeleteExpiredRetained(now); n != want {
		t.Fatalf("deleted %d, want %d", n, want)
	}
	left := 0
	b.Retained(func(m *session.Message) bool {
		if m.Expired(now) {
			t.Fatalf("%s/%s expired and kept", m.Mountpoint, m.Topic)
		}
		left++
		return true
	})
	if left != 3000-want || int(b.Metrics().RetainMessages.Read()) != left {
		t.Fatalf("%d retained left (count %d), want %d", left, b.Metrics().RetainMessages.Read(), 3000-want)
	}
	changed := 0
	b.RetainedChanges(func(k RetainedKey, m *session.Message, _ int64) {
		if m != nil {
			t.Fatalf("%v reported changed to a message", k)
		}
		changed++
	})
	if changed != want {
		t.Fatalf("%d deletes for the cluster, want %d", changed, want)
	}
	if n := b.DeleteExpiredRetained(future.Add(time.Second)); n != 1000 {
		t.Fatalf("an hour later deleted %d, want the 1000 with an expiry", n)
	}
	if n := b.DeleteExpiredRetained(future.Add(time.Hour)); n != 0 {
		t.Fatalf("messages without expiry deleted: %d", n)
	}
}
