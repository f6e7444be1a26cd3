package cluster_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// healBound is T: after SIGCONT every node must route by the same subscription set within it.
const healBound = 15 * time.Second

// roundDelivered publishes one tagged message per (node, topic) and reports whether every one
// reached box within wait; the tag keeps rounds apart.
func roundDelivered(t *testing.T, pubs map[string]mqtt.Client, topics []string, box *inbox, tag string, wait time.Duration) bool {
	t.Helper()
	want := map[string]bool{}
	for name, p := range pubs {
		for _, tp := range topics {
			payload := tag + "-" + name
			publish(t, p, tp, 1, false, payload)
			want[tp+"="+payload] = true
		}
	}
	return eventually.Within(wait, func() bool {
		for m := range want {
			if len(box.with(m)) == 0 {
				return false
			}
		}
		return true
	})
}

// A node frozen past the failure detector while subscriptions change elsewhere catches up
// by itself after SIGCONT: every node then routes by the same subscription set.
func TestSubscriptionsConvergeAfterNetsplit(t *testing.T) {
	a, b, c := threeNodes(t, "heal", "cookie-heal")
	for _, kv := range []string{"allow_subscribe_during_netsplit=on", "allow_unsubscribe_during_netsplit=on"} {
		setting(t, a, kv)
	}
	for _, n := range []*node{a, b, c} {
		// random spreads over stale members too, so a stale one shows as a loss; publishes during
		// the heal would otherwise close the probing clients (MQTT 3.1.1 has no refusal code).
		setting(t, n, "shared_subscription_policy=random")
		setting(t, n, "allow_publish_during_netsplit=on")
	}
	var boxA, boxShared inbox
	subA := connect(t, a.mqtt, "healSubA", true, &boxA)
	for _, f := range []string{"heal/keep", "heal/drop"} {
		subscribe(t, subA, f, 1, &boxA)
	}
	memberA := connect(t, a.mqtt, "healMemberA", true, &boxShared)
	memberB := connect(t, b.mqtt, "healMemberB", true, &boxShared)
	subscribe(t, memberA, "$share/hg/heal/shared", 1, &boxShared)
	subscribe(t, memberB, "$share/hg/heal/shared", 1, &boxShared)
	pubs := map[string]mqtt.Client{
		"A": connect(t, a.mqtt, "healPubA", true, nil),
		"B": connect(t, b.mqtt, "healPubB", true, nil),
		"C": connect(t, c.mqtt, "healPubC", true, nil),
	}
	eventually.True(t, 20*time.Second, "the initial subscriptions routed from every node", func() bool {
		return roundDelivered(t, pubs, []string{"heal/keep", "heal/drop"}, &boxA, "warm", time.Second)
	})

	c.cmd.Process.Signal(syscall.SIGSTOP)
	defer c.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "A to see C as down", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return strings.Count(out, "true") == 2
	})
	// The changes C misses: one filter gone, two new ones, and A's shared member gone.
	if tok := subA.Unsubscribe("heal/drop"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("unsubscribe during the split: %v", tok.Error())
	}
	for _, f := range []string{"heal/new1", "heal/new2"} {
		if code := subackCode(subA, f); code != 1 {
			t.Fatalf("SUBACK for %s during the split: %#x (allow_subscribe_during_netsplit is on)", f, code)
		}
	}
	if tok := memberA.Unsubscribe("$share/hg/heal/shared"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("shared unsubscribe during the split: %v", tok.Error())
	}
	resumed := time.Now()
	c.cmd.Process.Signal(syscall.SIGCONT)

	// New filters: every node forwards them to A.
	for round := 0; ; round++ {
		if roundDelivered(t, pubs, []string{"heal/keep", "heal/new1", "heal/new2"}, &boxA, fmt.Sprintf("r%d", round), 2*time.Second) {
			break
		}
		if time.Since(resumed) > healBound {
			t.Fatalf("after %v not every node routes heal/new1, heal/new2 to A (T = %v)", time.Since(resumed).Round(time.Millisecond), healBound)
		}
	}
	// Gone shared member: 20 messages from each node must all reach B's member (a stale A member would lose some).
	for round := 0; ; round++ {
		want := map[string]bool{}
		for name, p := range pubs {
			for i := 0; i < 20; i++ {
				payload := fmt.Sprintf("s%d-%s-%d", round, name, i)
				publish(t, p, "heal/shared", 1, false, payload)
				want["heal/shared="+payload] = true
			}
		}
		if eventually.Within(2*time.Second, func() bool {
			for m := range want {
				if len(boxShared.with(m)) == 0 {
					return false
				}
			}
			return true
		}) {
			break
		}
		if time.Since(resumed) > healBound {
			t.Fatalf("after %v some node still routes heal/shared to A's removed member (T = %v)", time.Since(resumed).Round(time.Millisecond), healBound)
		}
	}
	t.Logf("subscription tables converged %v after SIGCONT (bound %v)", time.Since(resumed).Round(time.Millisecond), healBound)
	if got := boxA.with("heal/drop=r"); len(got) != 0 {
		t.Fatalf("A's subscriber got %d heal/drop messages after unsubscribing: %v", len(got), got)
	}
}
