package session

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/race"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// countLink counts writes and decodes the PUBLISH packets written.
type countLink struct {
	mu     sync.Mutex
	data   bytes.Buffer
	writes int
}

func (l *countLink) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	l.data.Write(b)
	return len(b), nil
}

func (l *countLink) Kick(packets.ReasonCode) {}

func (l *countLink) publishes(t *testing.T) []*packets.Publish {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := bufio.NewReader(bytes.NewReader(l.data.Bytes()))
	var out []*packets.Publish
	for {
		p, err := packets.ReadPacket(r, packets.V311, 0)
		if err != nil {
			return out
		}
		if pub, ok := p.(*packets.Publish); ok {
			out = append(out, pub)
		}
	}
}

func newSession(l Limits) (*Session, *metrics.Broker) {
	var lim atomic.Pointer[Limits]
	lim.Store(&l)
	m := metrics.NewBroker(metrics.NewRegistry())
	return New(topics.SubscriberID{ClientID: "c"}, &Env{Limits: &lim, Metrics: m}), m
}

// Deliveries queued while the flusher runs are written in few batches, not one write each.
func TestBatchedWrites(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100000, MaxInflight: 0})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	m := &Message{Topic: "t", Payload: []byte("0123456789")}
	for i := 0; i < 5000; i++ {
		s.Enqueue(Delivery{Msg: m})
	}
	eventually.True(t, eventually.Wait, "the condition", func() bool { return len(l.publishes(t)) == 5000 })
	l.mu.Lock()
	writes := l.writes
	l.mu.Unlock()
	if writes > 500 {
		t.Fatalf("%d writes for 5000 messages: the flusher does not batch", writes)
	}
}

// The inflight window bounds unacknowledged QoS 1 messages; acks open it again in order.
func TestInflightWindow(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 1000, MaxInflight: 5})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	m := &Message{Topic: "t", Payload: []byte("x"), QoS: 1}
	for i := 0; i < 12; i++ {
		s.Enqueue(Delivery{Msg: m, QoS: 1})
	}
	eventually.True(t, eventually.Wait, "the window's 5 sent", func() bool { return len(l.publishes(t)) == 5 })
	eventually.Never(t, eventually.Settle, "more than the window sent", func() bool { return len(l.publishes(t)) > 5 })
	if n := len(l.publishes(t)); n != 5 {
		t.Fatalf("%d sent with a window of 5", n)
	}
	for _, p := range l.publishes(t) {
		if !s.Puback(l, p.PacketID) {
			t.Fatalf("PUBACK %d unknown", p.PacketID)
		}
	}
	eventually.True(t, eventually.Wait, "the condition", func() bool { return len(l.publishes(t)) == 10 })
	if s.Puback(l, 999) {
		t.Fatal("unknown packet id acknowledged")
	}
}

// A full online queue drops by queue_type and counts the drop; QoS 0 is queued like the rest.
func TestOnlineQueueFull(t *testing.T) {
	s, m := newSession(Limits{MaxOnline: 2, MaxInflight: 1})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	msg := &Message{Topic: "t", QoS: 1}
	for i := 0; i < 6; i++ {
		s.Enqueue(Delivery{Msg: msg, QoS: 1})
	}
	eventually.True(t, eventually.Wait, "the condition", func() bool { return len(l.publishes(t)) == 1 })
	// Every message is sent, queued (at most 2) or dropped and counted: nothing is buffered beyond the limit.
	if q := s.QueueLen(); q > 2 {
		t.Fatalf("queue holds %d, limit 2", q)
	}
	if d := m.DropQueueFull.Value(); int(d)+s.QueueLen()+s.InflightLen() != 6 || d < 3 {
		t.Fatalf("drops %d + queued %d + inflight %d != 6", d, s.QueueLen(), s.InflightLen())
	}
}

// The client's Maximum Packet Size is never exceeded [MQTT-3.1.2-24]: the delivery is dropped and counted.
func TestMaxPacketSizeDrop(t *testing.T) {
	s, m := newSession(Limits{MaxOnline: 10, MaxInflight: 10})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V5}, 0, 64, &packets.Connack{})
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: make([]byte, 100)}})
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte("small")}})
	eventually.True(t, eventually.Wait, "the condition", func() bool { return m.V5.PublishSent.Value() == 1 })
	if m.DropMaxPacketSize.Value() != 1 {
		t.Fatalf("max_packet_size_exceeded drops = %d", m.DropMaxPacketSize.Value())
	}
}

// Concurrent enqueue, attach/detach and acks: run with -race.
func TestConcurrentAttachDetach(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 1000, MaxOffline: 1000, MaxInflight: 10})
	s.SetPersistence(true, 0xFFFFFFFF)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &Message{Topic: "t", QoS: 1}
			for i := 0; i < 2000; i++ {
				s.Enqueue(Delivery{Msg: m, QoS: 1})
			}
		}()
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			l := &countLink{}
			s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
			for _, p := range l.publishes(t) {
				s.Puback(l, p.PacketID)
			}
			s.Detach(l)
		}
	}()
	wg.Wait()
	close(stop)
	if q, f := s.QueueLen(), s.InflightLen(); q > 1000 || f > 10 {
		t.Fatalf("limits broken under concurrency: queue %d inflight %d", q, f)
	}
}

// TestSubSetGrowsAndShrinks takes a session's subscriptions from none through the slice form
// to the map form and back down, checking each step against a plain map.
func TestSubSetGrowsAndShrinks(t *testing.T) {
	var ss subSet
	want := map[string]Sub{}
	check := func(step string) {
		t.Helper()
		if ss.len() != len(want) {
			t.Fatalf("%s: %d subscriptions, want %d", step, ss.len(), len(want))
		}
		got := ss.appendTo(nil)
		for _, sub := range got {
			if want[sub.Filter] != sub || !ss.has(sub.Filter) {
				t.Fatalf("%s: %+v not as set", step, sub)
			}
		}
	}
	for i := range 2 * subsFew {
		f := fmt.Sprintf("f/%d", i)
		if !ss.set(Sub{Filter: f}) {
			t.Fatalf("%s not new", f)
		}
		want[f] = Sub{Filter: f}
		if ss.set(Sub{Filter: f, SubID: uint32(i)}) {
			t.Fatalf("%s new twice", f)
		}
		want[f] = Sub{Filter: f, SubID: uint32(i)}
		check("set " + f)
	}
	for i := range 2 * subsFew {
		f := fmt.Sprintf("f/%d", i)
		if !ss.remove(f) || ss.remove(f) || ss.has(f) {
			t.Fatalf("remove %s", f)
		}
		delete(want, f)
		check("remove " + f)
	}
	var small subSet
	small.set(Sub{Filter: "a"})
	small.set(Sub{Filter: "b"})
	small.set(Sub{Filter: "c"})
	if !small.remove("b") || small.has("b") || !small.has("a") || !small.has("c") || small.len() != 2 {
		t.Fatal("removing from the middle of the slice form")
	}
	// Removing the inline first keeps the order the rest came in.
	if !small.remove("a") || small.has("a") || small.len() != 1 || small.more != nil {
		t.Fatalf("removing the inline subscription: %+v", small)
	}
	small.set(Sub{Filter: "d"})
	if got := small.appendTo(nil); len(got) != 2 || got[0].Filter != "c" || got[1].Filter != "d" {
		t.Fatalf("order after removing the first: %+v", got)
	}
	if small.remove("") || small.has("") {
		t.Fatal("the empty filter is no subscription")
	}
	// A session with one subscription (a device) allocates nothing for it (issue 19).
	if !race.Enabled {
		if n := testing.AllocsPerRun(100, func() {
			var one subSet
			one.set(Sub{Filter: "dev/1"})
			one.remove("dev/1")
		}); n != 0 {
			t.Fatalf("one subscription allocated %.0f times", n)
		}
	}
}

// TestSessionStructSize keeps the struct within the 144-byte size class: every offline
// persistent session is one (issue 19; at 145 B the allocator rounds it to 160). What only
// a connected client needs belongs in active.
func TestSessionStructSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 144 {
		t.Fatalf("session.Session is %d bytes: over the 144-byte size class (move online-only parts to active)", n)
	}
}

func hasActive(s *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.a != nil
}

// An offline session keeps no active part once nothing is buffered in it (issue 19), and
// keeps it while something is: an in-memory offline queue, an incoming QoS 2 id awaiting
// PUBREL. Info keeps the last client's user name, protocol and clean start.
func TestOfflineSessionReleasesActive(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 10, MaxOffline: 10, MaxInflight: 10})
	s.SetPersistence(true, 0xFFFFFFFF)
	if hasActive(s) {
		t.Fatal("a new offline session has an active part")
	}
	peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1883}
	l := &countLink{}
	s.Attach(l, Info{Username: "u", Peer: peer, Protocol: packets.V311, CleanStart: false, KeepAlive: 60}, 0, 0, &packets.Connack{})
	if info, off := s.Info(); info.Username != "u" || info.Peer != peer || info.KeepAlive != 60 || !off.IsZero() {
		t.Fatalf("online Info = %+v, offline since %v", info, off)
	}
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", QoS: 1}, QoS: 1})
	eventually.True(t, eventually.Wait, "the delivery sent", func() bool { return len(l.publishes(t)) == 1 })
	if !s.Detach(l) {
		t.Fatal("Detach refused the attached link")
	}
	// The message in flight stays for a resend on reconnect [MQTT-4.4.0-1].
	if s.InflightLen() != 1 || !hasActive(s) {
		t.Fatalf("inflight %d, active %v after detach: want the unacknowledged message kept", s.InflightLen(), hasActive(s))
	}
	if info, off := s.Info(); info.Username != "u" || info.Protocol != packets.V311 || info.Peer != nil || off.IsZero() {
		t.Fatalf("offline Info = %+v, offline since %v", info, off)
	}
	if got := s.TakePending(); len(got) != 1 {
		t.Fatalf("TakePending returned %d deliveries, want 1", len(got))
	}
	eventually.True(t, eventually.Wait, "the active part released", func() bool { return !hasActive(s) })

	// Without a store the offline queue is in memory: the part stays until it is delivered.
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", QoS: 1}, QoS: 1})
	if !hasActive(s) || s.QueueLen() != 1 {
		t.Fatalf("offline queue %d, active %v", s.QueueLen(), hasActive(s))
	}
	l2 := &countLink{}
	s.Attach(l2, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the queued delivery sent", func() bool { return len(l2.publishes(t)) == 1 })
	if !s.Puback(l2, l2.publishes(t)[0].PacketID) {
		t.Fatal("PUBACK of the delivery unknown")
	}
	if !s.ReceivedQoS2(7) {
		t.Fatal("new QoS 2 id refused")
	}
	s.Detach(l2)
	if !hasActive(s) || s.QoS2InLen() != 1 {
		t.Fatal("an incoming QoS 2 id awaiting PUBREL was dropped with the connection")
	}
	l3 := &countLink{}
	s.Attach(l3, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	if s.ReceivedQoS2(7) {
		t.Fatal("the resent QoS 2 PUBLISH would be delivered twice")
	}
	if !s.ReleasedQoS2(7) {
		t.Fatal("PUBREL of the kept id unknown")
	}
	s.Detach(l3)
	eventually.True(t, eventually.Wait, "the active part released", func() bool { return !hasActive(s) })

	// The connection's will outlives Detach until the disconnect takes it.
	l4 := &countLink{}
	will := &Message{Topic: "will"}
	s.SetWill(will, 0)
	s.Attach(l4, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	s.Detach(l4)
	if got, _ := s.TakeWill(false); got != will {
		t.Fatalf("will after Detach = %v, want the connection's", got)
	}
	eventually.True(t, eventually.Wait, "the active part released after the will", func() bool { return !hasActive(s) })
	if got, _ := s.TakeWill(false); got != nil {
		t.Fatal("the will was taken twice")
	}
}

// SetSubs records one SUBSCRIBE's filters with one growth of the slice form, to the size it
// needs (ten filters: one inline, nine in a slice of 9, not one doubled to 16; issue 19), and
// reports which were new, a filter repeated within the call new only the first time.
func TestSetSubsGrowsOnce(t *testing.T) {
	s := New(topics.SubscriberID{ClientID: "iot-1"}, &Env{})
	var subs []Sub
	for i := range 10 {
		subs = append(subs, Sub{Filter: fmt.Sprintf("dev/1/%d", i)})
	}
	isNew := s.SetSubs(subs, nil)
	for i, n := range isNew {
		if !n {
			t.Fatalf("filter %d not new", i)
		}
	}
	if got := cap(s.subs.more.few); got != 9 {
		t.Fatalf("slice form holds room for %d, want 9", got)
	}
	again := []Sub{subs[3], {Filter: "dev/1/x"}, {Filter: "dev/1/x", SubID: 2}, subs[9]}
	isNew = s.SetSubs(again, isNew)
	if want := []bool{false, true, false, false}; !slices.Equal(isNew, want) {
		t.Fatalf("isNew %v, want %v", isNew, want)
	}
	if s.SubCount() != 11 || !s.HasSub("dev/1/x") {
		t.Fatalf("%d subscriptions after the second SUBSCRIBE, want 11", s.SubCount())
	}
	for _, sub := range s.Subs() {
		if sub.Filter == "dev/1/x" && sub.SubID != 2 {
			t.Fatalf("the repeated filter kept %+v, want the last one", sub)
		}
	}
}
