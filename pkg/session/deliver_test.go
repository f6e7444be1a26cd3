package session

import (
	"bytes"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/race"
	"sync/atomic"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// topicHook rewrites every topic to "hooked/<topic>" while on.
type topicHook struct {
	on    atomic.Bool
	calls atomic.Int64
}

func (h *topicHook) Active() bool { return h.on.Load() }

func (h *topicHook) Deliver(_ topics.SubscriberID, _ *Info, d Delivery) Delivery {
	h.calls.Add(1)
	m := *d.Msg
	m.Topic = "hooked/" + m.Topic
	d.Msg = &m
	return d
}

// corkedSession is an attached v3.1.1 session whose flusher never starts on its own:
// the test drives one flush round at a time with flushRound.
func corkedSession(tb testing.TB, h DeliverHook) *Session {
	l := Limits{MaxOnline: -1, MaxOffline: -1, MaxInflight: 20}
	var lim atomic.Pointer[Limits]
	lim.Store(&l)
	s := New(topics.SubscriberID{ClientID: "d"}, &Env{Limits: &lim, Metrics: metrics.NewBroker(metrics.NewRegistry()), Deliver: h})
	s.Attach(&discardLink{}, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	s.Cork()
	// Attach started a flusher for the CONNACK; once it is done, none starts while corked.
	eventually.True(tb, eventually.Wait, "the CONNACK's flusher done", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.a.flushing
	})
	return s
}

// flushRound is one round of the flusher's loop: the hook, then the batch.
func flushRound(s *Session, buf []byte) []byte {
	s.mu.Lock()
	s.runDeliverHookLocked()
	buf = s.nextBatchLocked(buf[:0])
	s.mu.Unlock()
	return buf
}

func TestDeliverHookRewritesBeforeSending(t *testing.T) {
	h := &topicHook{}
	s := corkedSession(t, h)
	m := benchMessage(0)
	s.Enqueue(Delivery{Msg: m})
	if buf := flushRound(s, nil); !bytes.Contains(buf, []byte(m.Topic)) || bytes.Contains(buf, []byte("hooked/")) {
		t.Fatalf("inactive hook: sent %q, want the topic unchanged", buf)
	}
	h.on.Store(true)
	s.Enqueue(Delivery{Msg: m})
	s.Enqueue(Delivery{Msg: m, QoS: 1})
	buf := flushRound(s, nil)
	if bytes.Count(buf, []byte("hooked/"+m.Topic)) != 2 || h.calls.Load() != 2 {
		t.Fatalf("active hook: sent %q after %d calls, want both deliveries rewritten once", buf, h.calls.Load())
	}
	if m.Topic != "sensor/42/temp" {
		t.Fatalf("the shared message was modified: %q", m.Topic)
	}
	// The inflight copy is the rewritten one: a resend carries the hook's topic and is not hooked again.
	s.mu.Lock()
	var resent string
	s.a.infl.each(func(o *outMsg) { resent = o.d.Msg.Topic })
	s.mu.Unlock()
	if resent != "hooked/"+m.Topic {
		t.Fatalf("inflight delivery has topic %q", resent)
	}
}

// Without a plugin that wants on_deliver the flusher's path allocates exactly what it did
// before the hook existed: a nil hook and an inactive one cost the same (zero per message).
func TestDeliverHookInactiveAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector's own allocations would be counted")
	}
	m := benchMessage(1)
	allocs := func(h DeliverHook) float64 {
		s := corkedSession(t, h)
		buf := make([]byte, 0, 4096)
		return testing.AllocsPerRun(1000, func() {
			s.Enqueue(Delivery{Msg: m})
			buf = flushRound(s, buf)
			if len(buf) == 0 {
				t.Fatal("nothing sent")
			}
		})
	}
	none, inactive := allocs(nil), allocs(&topicHook{})
	if none != 0 || inactive != none {
		t.Fatalf("allocations per delivery: %v without a hook, %v with an inactive one; want 0 and 0", none, inactive)
	}
}

// BenchmarkDeliverHook: one QoS 0 delivery through the flusher's round (hook, encode) with
// no on_deliver hook, a registered but inactive one (no plugin wants it), and an active
// one that rewrites the topic (the cost a plugin adds: a message copy per delivery).
func BenchmarkDeliverHook(b *testing.B) {
	for _, c := range []struct {
		name string
		h    DeliverHook
	}{{"none", nil}, {"inactive", &topicHook{}}, {"active", func() DeliverHook { h := &topicHook{}; h.on.Store(true); return h }()}} {
		b.Run(c.name, func(b *testing.B) {
			s := corkedSession(b, c.h)
			m := benchMessage(0)
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				s.Enqueue(Delivery{Msg: m})
				buf = flushRound(s, buf)
			}
		})
	}
}
