package session

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// discardLink swallows writes and counts PUBLISH packets; with ack set it PUBACKs every
// QoS 1 publish it sees, as a fast subscriber would (parsed in place: no allocation).
type discardLink struct {
	s     *Session
	ack   bool
	pubs  atomic.Int64
	bytes atomic.Int64
}

func (l *discardLink) Write(b []byte) (int, error) {
	l.bytes.Add(int64(len(b)))
	for i := 0; i < len(b); {
		typ := b[i] >> 4
		n, j, mul := 0, i+1, 1
		for ; j < len(b); j++ { // remaining length varint
			n += int(b[j]&0x7f) * mul
			mul <<= 7
			if b[j]&0x80 == 0 {
				break
			}
		}
		body := j + 1
		if typ == 3 {
			l.pubs.Add(1)
			if qos := (b[i] >> 1) & 3; qos == 1 && l.ack {
				tl := int(b[body])<<8 | int(b[body+1])
				id := uint16(b[body+2+tl])<<8 | uint16(b[body+3+tl])
				l.s.Puback(l, id)
			}
		}
		i = body + n
	}
	return len(b), nil
}

func (l *discardLink) Kick(packets.ReasonCode) {}

// onlineSession is an attached v3.1.1 session with unlimited online queue and the given window.
func onlineSession(b *testing.B, inflight int, ack bool) (*Session, *discardLink) {
	l := Limits{MaxOnline: -1, MaxOffline: -1, MaxInflight: inflight}
	var lim atomic.Pointer[Limits]
	lim.Store(&l)
	s := New(topics.SubscriberID{ClientID: "bench"}, &Env{Limits: &lim, Metrics: metrics.NewBroker(metrics.NewRegistry())})
	link := &discardLink{s: s, ack: ack}
	s.Attach(link, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	return s, link
}

// waitSent polls until the link has seen want publishes (bounded: 10 s).
func waitSent(b *testing.B, l *discardLink, want int64) {
	for deadline := time.Now().Add(10 * time.Second); l.pubs.Load() < want; {
		if time.Now().After(deadline) {
			b.Fatalf("flusher sent %d of %d publishes within 10 s", l.pubs.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func benchMessage(qos byte) *Message {
	return &Message{Topic: "sensor/42/temp", Payload: make([]byte, 64), QoS: qos}
}

// BenchmarkEnqueueFlushQoS0: route one QoS 0 message to an online session and have the
// flusher encode and write it (one goroutine enqueues, the flusher drains concurrently).
func BenchmarkEnqueueFlushQoS0(b *testing.B) {
	s, link := onlineSession(b, 20, false)
	m := benchMessage(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Enqueue(Delivery{Msg: m, QoS: 0}) {
			b.Fatal("online session refused a delivery")
		}
	}
	waitSent(b, link, int64(b.N))
}

// BenchmarkEnqueueFlushQoS1: the same at QoS 1 with the VerneMQ default window of 20;
// the link acknowledges each publish as it is written, so ids and window slots recycle.
func BenchmarkEnqueueFlushQoS1(b *testing.B) {
	s, link := onlineSession(b, 20, true)
	m := benchMessage(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Enqueue(Delivery{Msg: m, QoS: 1}) {
			b.Fatal("online session refused a delivery")
		}
	}
	waitSent(b, link, int64(b.N))
}

// BenchmarkEnqueueOfflineQoS1: a persistent session with no client queues in memory
// (what the store's callback does after commit); drained in batches of 1000 to stay bounded.
func BenchmarkEnqueueOfflineQoS1(b *testing.B) {
	l := Limits{MaxOnline: 1000, MaxOffline: -1}
	var lim atomic.Pointer[Limits]
	lim.Store(&l)
	s := New(topics.SubscriberID{ClientID: "off"}, &Env{Limits: &lim, Metrics: metrics.NewBroker(metrics.NewRegistry())})
	s.SetPersistence(true, 0xFFFFFFFF)
	m := benchMessage(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Enqueue(Delivery{Msg: m, QoS: 1, Seq: uint64(i + 1)}) {
			b.Fatal("offline persistent session refused a QoS 1 delivery")
		}
		if s.QueueLen() == 1000 {
			s.mu.Lock()
			for s.a.q.Len() > 0 {
				s.a.q.pop()
			}
			s.mu.Unlock()
		}
	}
}

// BenchmarkQueuePushPop: the ring buffer alone, at a steady depth of 100.
func BenchmarkQueuePushPop(b *testing.B) {
	var q queue
	d := Delivery{Msg: benchMessage(1), QoS: 1}
	for range 100 {
		q.push(d)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q.push(d)
		if q.pop().Msg == nil {
			b.Fatal("popped an empty delivery")
		}
	}
}

// BenchmarkQueueFillDrain: fill to 1000 then drain, the burst pattern that regrows the ring.
func BenchmarkQueueFillDrain(b *testing.B) {
	var q queue
	d := Delivery{Msg: benchMessage(1), QoS: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range 1000 {
			q.push(d)
		}
		for q.Len() > 0 {
			q.pop()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/op-per-msg")
}
