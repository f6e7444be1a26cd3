package session

import (
	"bufio"
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/vernemq-go/vernemq/internal/eventually"
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
	return New(topics.SubscriberID{ClientID: "c"}, &lim, m, nil), m
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
}

// TestSessionStructSize keeps the struct within the 576-byte size class: every offline
// persistent session is one (issue 19; at 577 B the allocator rounds it to 640).
func TestSessionStructSize(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 576 {
		t.Fatalf("session.Session is %d bytes: over the 576-byte size class (group small fields, or move online-only parts out)", n)
	}
}
