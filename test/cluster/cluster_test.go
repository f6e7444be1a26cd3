// Package cluster_test runs real vernemq processes as a 3-node cluster on loopback.
package cluster_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func TestThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	n1 := startNode(t, "n1", "c00kie", "")
	n2 := startNode(t, "n2", "c00kie", n1.data)
	n3 := startNode(t, "n3", "c00kie", n1.data)
	eventually.True(t, 20*time.Second, "n1 to see both members join", func() bool {
		return n1.logHas("cluster member joined", "node="+n2.name) && n1.logHas("cluster member joined", "node="+n3.name)
	})

	t.Run("forward", func(t *testing.T) {
		box := &inbox{}
		sub := connect(t, n1.mqtt, "sub-fwd", true, box)
		subscribe(t, sub, "fwd/#", 1, box)
		pub := connect(t, n3.mqtt, "pub-fwd", true, nil)
		untilReceived(t, pub, "fwd/probe", box, "fwd/probe")
		var want []string
		for i := 0; i < 50; i++ {
			publish(t, pub, "fwd/data", 1, false, fmt.Sprint(i))
			want = append(want, fmt.Sprintf("fwd/data=%d", i))
		}
		eventually.True(t, 10*time.Second, "50 forwarded messages", func() bool { return len(box.with("fwd/data")) >= 50 })
		if got := box.with("fwd/data"); !slices.Equal(got, want) {
			t.Fatalf("got %v, want each once in order", got)
		}
	})

	t.Run("shared", func(t *testing.T) {
		a, b := &inbox{}, &inbox{}
		ca := connect(t, n1.mqtt, "shared-a", true, a)
		subscribe(t, ca, "$share/g/sh/#", 1, a)
		cb := connect(t, n2.mqtt, "shared-b", true, b)
		subscribe(t, cb, "$share/g/sh/#", 1, b)
		pub := connect(t, n3.mqtt, "pub-sh", true, nil)
		i := 0
		eventually.True(t, 30*time.Second, "both group members to get a probe", func() bool {
			if len(a.with("sh/probe")) > 0 && len(b.with("sh/probe")) > 0 {
				return true
			}
			i++
			if i%2 == 1 {
				publish(t, pub, "sh/probe", 1, false, "p")
			}
			return false
		})
		for i := 0; i < 40; i++ {
			publish(t, pub, "sh/data", 1, false, fmt.Sprint(i))
		}
		eventually.True(t, 10*time.Second, "40 shared messages", func() bool {
			return len(a.with("sh/data"))+len(b.with("sh/data")) >= 40
		})
		got := append(a.with("sh/data"), b.with("sh/data")...)
		slices.Sort(got)
		if len(got) != 40 || len(slices.Compact(got)) != 40 {
			t.Fatalf("got %d messages (%d distinct), want 40 each once", len(got), len(slices.Compact(got)))
		}
		if len(a.with("sh/data")) == 0 || len(b.with("sh/data")) == 0 {
			t.Fatalf("one member got nothing: %d on n1, %d on n2", len(a.with("sh/data")), len(b.with("sh/data")))
		}
	})

	t.Run("retained", func(t *testing.T) {
		pub := connect(t, n2.mqtt, "pub-ret", true, nil)
		publish(t, pub, "ret/1", 1, true, "kept")
		i := 0
		eventually.True(t, 10*time.Second, "the retained message on n3", func() bool {
			i++
			box := &inbox{}
			c := connect(t, n3.mqtt, fmt.Sprintf("ret-sub-%d", i), true, box)
			subscribe(t, c, "ret/#", 1, box)
			// A retained message follows the SUBACK at once: without it within 200 ms n3 has
			// not got it yet, and the next round subscribes afresh.
			ok := eventually.Within(200*time.Millisecond, func() bool { return slices.Contains(box.with("ret/1"), "ret/1=kept") })
			c.Disconnect(0)
			return ok
		})
	})

	t.Run("migration", func(t *testing.T) {
		box := &inbox{}
		mover := connect(t, n1.mqtt, "mover", false, box)
		subscribe(t, mover, "mig/#", 1, box)
		mover.Disconnect(100)
		// A clean helper subscribed after the mover: once n2 routes to it, n2 knows the mover's subscription too.
		hbox := &inbox{}
		helper := connect(t, n1.mqtt, "mig-helper", true, hbox)
		subscribe(t, helper, "mig/#", 1, hbox)
		pub := connect(t, n2.mqtt, "pub-mig", true, nil)
		untilReceived(t, pub, "mig/probe", hbox, "mig/probe")
		var want []string
		for i := 0; i < 10; i++ {
			publish(t, pub, "mig/data", 1, false, fmt.Sprint(i))
			want = append(want, fmt.Sprintf("mig/data=%d", i))
		}
		eventually.True(t, 10*time.Second, "the helper to get every message", func() bool { return len(hbox.with("mig/data")) >= 10 })

		back := &inbox{}
		connect(t, n3.mqtt, "mover", false, back) // the load balancer sent it to another node
		// Messages that reached the old connection before it closed count as delivered (paho acked them).
		moved := func() []string {
			var got []string
			for _, m := range append(box.with("mig/data"), back.with("mig/data")...) {
				if !slices.Contains(got, m) {
					got = append(got, m)
				}
			}
			return got
		}
		eventually.True(t, 10*time.Second, "the offline queue on n3", func() bool { return len(moved()) >= 10 })
		if got := moved(); !slices.Equal(got, want) {
			t.Fatalf("before moving got %v, after %v; want %v in order", box.with("mig/data"), back.with("mig/data"), want)
		}
		if len(back.with("mig/data")) == 0 {
			t.Logf("every message reached the old connection before it closed: the move carried none")
		}
		// The session's subscriptions moved too: new messages from n1 reach the client on n3.
		pub1 := connect(t, n1.mqtt, "pub-mig-1", true, nil)
		publish(t, pub1, "mig/after", 1, false, "x")
		eventually.True(t, 15*time.Second, "a message published on n1 after the move", func() bool {
			if len(back.with("mig/after")) > 0 {
				return true
			}
			publish(t, pub1, "mig/after", 1, false, "x")
			return false
		})
	})

	t.Run("kill9", func(t *testing.T) {
		box := &inbox{}
		c3 := connect(t, n3.mqtt, "doomed", true, box)
		subscribe(t, c3, "k/#", 1, box)
		pub := connect(t, n1.mqtt, "pub-k", true, nil)
		untilReceived(t, pub, "k/probe", box, "k/probe")
		n3.kill9(t)
		eventually.True(t, 30*time.Second, "n1 and n2 to remove n3's subscriptions", func() bool {
			return n1.logHas("removed the subscriptions of a departed node", "node="+n3.name) &&
				n2.logHas("removed the subscriptions of a departed node", "node="+n3.name)
		})
		b2 := &inbox{}
		s2 := connect(t, n2.mqtt, "survivor", true, b2)
		subscribe(t, s2, "k/#", 1, b2)
		untilReceived(t, pub, "k/after", b2, "k/after")
	})
}

func TestWrongCookieCannotJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	good := startNode(t, "good", "right", "")
	bad := startNode(t, "bad", "wrong", good.data)
	eventually.True(t, 20*time.Second, "the bad node to fail joining", func() bool { return bad.logHas("cluster join failed") })
	// It keeps trying; nothing may get through in the meantime.
	box := &inbox{}
	c := connect(t, bad.mqtt, "bad-sub", true, box)
	subscribe(t, c, "x/#", 0, box)
	pub := connect(t, good.mqtt, "good-pub", true, nil)
	// The negative check's window: 4 s of publishes, paced, while the bad node retries its join.
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		publish(t, pub, "x/1", 0, false, "secret")
		time.Sleep(200 * time.Millisecond) // pacing of the publishes, not synchronisation
	}
	if len(box.with("x/")) != 0 || good.logHas("cluster member joined") || bad.logHas("cluster member joined") {
		t.Fatal("a node with another distributed_cookie joined the cluster")
	}
}
