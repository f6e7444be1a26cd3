package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
)

func retainedOn(c *Cluster, topic string) string {
	out := "<none>"
	c.b.Retained(func(m *session.Message) bool {
		if m.Topic == topic {
			out = string(m.Payload)
			return false
		}
		return true
	})
	return out
}

// Retained sets and deletes reach the peers; a node restarting with an older retained
// message of a topic (restored from its store) does not replace the newer one the cluster
// has, even when it polls before its links are up.
func TestRetainedReplication(t *testing.T) {
	a := startTestNode(t, "retA@127.0.0.1")
	b := startTestNode(t, "retB@127.0.0.1")
	if err := b.Join(a.DataAddr()); err != nil {
		t.Fatal(err)
	}
	set := func(c *Cluster, topic, payload string) {
		c.b.Publish(&session.Message{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: true})
	}
	set(a, "r/1", "one")
	eventually.True(t, 10*time.Second, "r/1 on B", func() bool { return retainedOn(b, "r/1") == "one" })
	set(b, "r/1", "two")
	// B's write is newer than A's: it wins on both, even when A's frame reaches B late.
	eventually.True(t, 10*time.Second, "B's r/1 on A", func() bool { return retainedOn(a, "r/1") == "two" })
	eventually.True(t, 10*time.Second, "B to keep its r/1", func() bool { return retainedOn(b, "r/1") == "two" })
	set(a, "r/1", "") // an empty retained payload deletes
	eventually.True(t, 10*time.Second, "r/1 deleted on B", func() bool { return retainedOn(b, "r/1") == "<none>" })

	set(a, "r/3", "fresh")
	a.ret.poll(a) // A has written r/3 now
	c := startRestoredNode(t, "retC@127.0.0.1", func(br *broker.Broker) {
		br.RestoreRetained(&session.Message{Topic: "r/3", Payload: []byte("stale"), QoS: 1, Retain: true})
	})
	c.ret.poll(c) // a poll before any link is up: the restored message is no new write
	if err := c.Join(a.DataAddr()); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "C to take the cluster's r/3", func() bool { return retainedOn(c, "r/3") == "fresh" })
	for _, n := range []*Cluster{a, b} {
		if got := retainedOn(n, "r/3"); got != "fresh" {
			t.Fatalf("%s: r/3 = %q after C joined, want the newer fresh", n.o.Node, got)
		}
	}
}

// BenchmarkRetainedPollIdle is one poll of a node holding 100,000 retained messages, none
// changed: the cluster's 4 polls a second cost this each.
func BenchmarkRetainedPollIdle(b *testing.B) {
	c := startRestoredNode(b, "bench@127.0.0.1", func(br *broker.Broker) {
		for i := range 100_000 {
			br.RestoreRetained(&session.Message{Topic: fmt.Sprintf("dev/%d/status", i), Payload: []byte("online"), Retain: true})
		}
	})
	c.ret.poll(c)
	b.ResetTimer()
	for b.Loop() {
		c.ret.poll(c)
	}
}
