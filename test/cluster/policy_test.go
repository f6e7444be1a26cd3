package cluster_test

import (
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threeNodes starts A, then B and C seeded from A, and waits until A lists all three as running.
func threeNodes(t *testing.T, prefix, cookie string) (a, b, c *node) {
	t.Helper()
	a = startNode(t, prefix+"A", cookie, "")
	b = startNode(t, prefix+"B", cookie, a.data)
	c = startNode(t, prefix+"C", cookie, a.data)
	for _, n := range []*node{a, b, c} {
		eventually.True(t, 20*time.Second, n.name+" sees a cluster of three", func() bool {
			out, _ := vmqAdmin(t, n, "cluster", "show")
			return containsAll(out, a.name, b.name, c.name) && strings.Count(out, "true") == 3
		})
	}
	return a, b, c
}

// setting changes a run-time setting on one node through its admin socket.
func setting(t *testing.T, n *node, kv string) {
	t.Helper()
	if out, err := vmqAdmin(t, n, "set", kv); err != nil {
		t.Fatalf("vmq-admin set %s on %s: %v\n%s", kv, n.name, err, out)
	}
}

var bytesSentRe = regexp.MustCompile(`cluster_bytes_sent = ([0-9.e+]+)`)

// bytesSent reads the node's cluster_bytes_sent counter from vmq-admin metrics show.
func bytesSent(t *testing.T, n *node) float64 {
	t.Helper()
	out, err := vmqAdmin(t, n, "metrics", "show")
	m := bytesSentRe.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("metrics show on %s has no cluster_bytes_sent (%v):\n%s", n.name, err, tail(out, 20))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// countPayloads counts each payload received under prefix.
func countPayloads(box *inbox, prefix string) map[string]int {
	out := map[string]int{}
	for _, m := range box.with(prefix) {
		out[m[strings.IndexByte(m, '=')+1:]]++
	}
	return out
}

// Shared-subscription policies across nodes, and non-shared routing to a third node.
func TestSharedPolicyAcrossNodes(t *testing.T) {
	a, b, c := threeNodes(t, "pol", "cookie-pol")
	var boxA, boxB inbox
	subA := connect(t, a.mqtt, "memberA", true, &boxA)
	subB := connect(t, b.mqtt, "memberB", true, &boxB)
	subscribe(t, subA, "$share/grp/pol/#", 1, &boxA)
	subscribe(t, subB, "$share/grp/pol/#", 1, &boxB)
	pubA := connect(t, a.mqtt, "pubA", true, nil)

	// random: both members get a share once A knows B's member (probes until B's member has one).
	setting(t, a, "shared_subscription_policy=random")
	untilReceived(t, pubA, "pol/probe", &boxB, "pol/probe=")
	const n = 200
	randomBefore := bytesSent(t, a)
	for i := 0; i < n; i++ {
		publish(t, pubA, "pol/random", 1, false, fmt.Sprintf("r%d", i))
	}
	eventually.True(t, 15*time.Second, "all random messages delivered", func() bool {
		return len(boxA.with("pol/random="))+len(boxB.with("pol/random=")) >= n
	})
	ra, rb := len(boxA.with("pol/random=")), len(boxB.with("pol/random="))
	if ra == 0 || rb == 0 || ra+rb != n {
		t.Fatalf("random: member A got %d, member B got %d of %d; want both > 0 and %d in all", ra, rb, n, n)
	}
	// The counter must move when A does forward, or its zero under local_only below proves nothing.
	if d := bytesSent(t, a) - randomBefore; d < float64(rb*len("pol/random")) {
		t.Fatalf("random: A forwarded %d messages but cluster_bytes_sent grew by %.0f; the metric does not count forwards", rb, d)
	}

	// local_only: A's member gets everything and nothing crosses the data link for it.
	// Payloads are 8 KiB so that 100 of them (800 KiB) dwarf heartbeats/anti-entropy in the byte counter.
	setting(t, a, "shared_subscription_policy=local_only")
	big := strings.Repeat("x", 8192)
	before := bytesSent(t, a)
	for i := 0; i < 100; i++ {
		publish(t, pubA, "pol/local", 1, false, fmt.Sprintf("l%d-%s", i, big))
	}
	eventually.True(t, 15*time.Second, "A's member to get all local_only messages", func() bool {
		return len(boxA.with("pol/local=")) >= 100
	})
	sent := bytesSent(t, a) - before
	// A probe through the random policy again proves B's member would still receive: its zero is not a lag.
	setting(t, a, "shared_subscription_policy=random")
	untilReceived(t, pubA, "pol/after", &boxB, "pol/after=")
	if got := len(boxB.with("pol/local=")); got != 0 {
		t.Fatalf("local_only: B's member got %d messages published on A, want 0", got)
	}
	if got := len(boxA.with("pol/local=")); got != 100 {
		t.Fatalf("local_only: A's member got %d, want 100", got)
	}
	if sent > 100*1024 {
		t.Fatalf("local_only: A sent %.0f cluster bytes while publishing 800 KiB for a local member; want < 100 KiB", sent)
	}
	t.Logf("local_only: A sent %.0f cluster bytes during 100×8 KiB local publishes", sent)

	// A plain wildcard subscriber on C gets what A and B publish exactly once.
	var wild inbox
	subC := connect(t, c.mqtt, "wildC", true, &wild)
	subscribe(t, subC, "wild/#", 1, &wild)
	pubB := connect(t, b.mqtt, "pubB", true, nil)
	untilReceived(t, pubA, "wild/probeA", &wild, "wild/probeA=")
	untilReceived(t, pubB, "wild/probeB", &wild, "wild/probeB=")
	for i := 0; i < 50; i++ {
		publish(t, pubA, "wild/a/"+strconv.Itoa(i%5), 1, false, fmt.Sprintf("a%d", i))
		publish(t, pubB, "wild/b/"+strconv.Itoa(i%5), 1, false, fmt.Sprintf("b%d", i))
	}
	eventually.True(t, 15*time.Second, "C's wildcard subscriber to get 100 messages", func() bool {
		return len(wild.with("wild/a/"))+len(wild.with("wild/b/")) >= 100
	})
	// A marker after the batch: once it arrives, any duplicate of the batch would have too.
	publish(t, pubA, "wild/end", 1, false, "end")
	eventually.True(t, 10*time.Second, "the end marker on C", func() bool { return len(wild.with("wild/end=")) > 0 })
	for prefix, want := range map[string]string{"wild/a/": "a", "wild/b/": "b"} {
		got := countPayloads(&wild, prefix)
		for i := 0; i < 50; i++ {
			if k := want + strconv.Itoa(i); got[k] != 1 {
				t.Fatalf("C got %s %d times, want exactly once", k, got[k])
			}
		}
	}
}
