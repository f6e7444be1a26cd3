package topics

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"unsafe"
)

func TestMatchTable(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"+", "", true},
		{"a/+", "a/", true},
		{"+/+", "/x", true},
		{"a", "a/b", false},
		{"sport/tennis/+", "sport/tennis", false},
	}
	for _, c := range cases {
		if got := Match(c.filter, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
		ix := NewIndex()
		ix.Add(&Entry{Subscriber: SubscriberID{ClientID: "c"}, Filter: c.filter})
		var r Result
		ix.Match("", c.topic, &r)
		if (len(r.Direct) == 1) != c.want {
			t.Errorf("Index.Match(%q, %q) = %d entries, want match %v", c.filter, c.topic, len(r.Direct), c.want)
		}
	}
}

// TestIndexAgainstMatch checks the trie against the plain matcher on random filters and topics.
func TestIndexAgainstMatch(t *testing.T) {
	checkAgainstMatch(t, []string{"a", "b", "c", "", "$SYS"}, 300)
}

// TestWideIndexAgainstMatch is TestIndexAgainstMatch with more words than a node keeps in its
// slice of children, so nodes go wide (a map) as they fill and back as they empty.
func TestWideIndexAgainstMatch(t *testing.T) {
	words := []string{"", "$SYS"}
	for i := range 3 * kidsFew {
		words = append(words, fmt.Sprint("w", i))
	}
	ix := checkAgainstMatch(t, words, 1000)
	if ix.Memory() != 0 {
		t.Fatalf("memory estimate %d after removing all, want 0", ix.Memory())
	}
}

// checkAgainstMatch adds n random filters over words, compares Match with the plain matcher
// for random topics, removes half the filters and compares again, then removes the rest.
func checkAgainstMatch(t *testing.T, words []string, n int) *Index {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	randTopic := func() string {
		n := 1 + rng.Intn(4)
		s := ""
		for i := 0; i < n; i++ {
			if i > 0 {
				s += "/"
			}
			s += words[rng.Intn(len(words))]
		}
		return s
	}
	randFilter := func() string {
		n := 1 + rng.Intn(4)
		s := ""
		for i := 0; i < n; i++ {
			if i > 0 {
				s += "/"
			}
			switch rng.Intn(5) {
			case 0:
				s += "+"
			case 1:
				if i == n-1 {
					s += "#"
				} else {
					s += "+"
				}
			default:
				s += words[rng.Intn(len(words))]
			}
		}
		return s
	}
	ix := NewIndex()
	filters := map[int]string{}
	for i := 0; i < n; i++ {
		f := randFilter()
		filters[i] = f
		ix.Add(&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprint(i)}, Filter: f})
	}
	wide := 0
	var countWide func(*trieNode)
	countWide = func(nd *trieNode) {
		if nd.more != nil && nd.more.wide != nil {
			wide++
		}
		nd.eachKid(func(c *trieNode) bool { countWide(c); return true })
	}
	compare := func(step string) {
		for i := 0; i < 2000; i++ {
			topic := randTopic()
			var want []string
			for j, f := range filters {
				if Match(f, topic) {
					want = append(want, fmt.Sprint(j))
				}
			}
			var r Result
			ix.Match("", topic, &r)
			var got []string
			for _, e := range r.Direct {
				got = append(got, e.Subscriber.ClientID)
			}
			sort.Strings(want)
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: topic %q: index %v, matcher %v", step, topic, got, want)
			}
		}
	}
	compare("all added")
	if root := ix.roots[""]; root != nil {
		countWide(root)
	}
	if len(words) > kidsFew && wide == 0 {
		t.Fatalf("no node went wide with %d words", len(words))
	}
	for i := 0; i < n; i += 2 {
		if !ix.Remove(SubscriberID{ClientID: fmt.Sprint(i)}, "", filters[i], "") {
			t.Fatalf("removing %q of %d found nothing", filters[i], i)
		}
		delete(filters, i)
	}
	compare("half removed")
	// Removing everything leaves an empty index (pruned trie).
	for i, f := range filters {
		ix.Remove(SubscriberID{ClientID: fmt.Sprint(i)}, "", f, "")
	}
	if ix.Len() != 0 || len(ix.roots) != 0 {
		t.Fatalf("after removing all: len %d roots %d", ix.Len(), len(ix.roots))
	}
	return ix
}

func TestSharedAndNodes(t *testing.T) {
	ix := NewIndex()
	for i := 0; i < 3; i++ {
		ix.Add((&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprint("w", i)}, Filter: "sensor/#"}).At("", "backend"))
	}
	ix.Add((&Entry{Subscriber: SubscriberID{ClientID: "r"}, Filter: "sensor/+"}).At("n2", ""))
	ix.Add((&Entry{Subscriber: SubscriberID{ClientID: "other"}, Filter: "sensor/1"}).At("", "g2"))
	var r Result
	ix.Match("", "sensor/1", &r)
	if len(r.Direct) != 1 || len(r.Shared) != 2 {
		t.Fatalf("direct %d shared %d", len(r.Direct), len(r.Shared))
	}
	for _, s := range r.Shared {
		if s.Group == "backend" && len(s.Members) != 3 {
			t.Fatalf("backend members %d", len(s.Members))
		}
	}
	if n := ix.RemoveNode("n2"); n != 1 {
		t.Fatalf("RemoveNode = %d", n)
	}
	r.Reset()
	ix.Match("", "sensor/1", &r)
	if len(r.Direct) != 0 {
		t.Fatal("remote entry survived RemoveNode")
	}
	// Another mountpoint sees nothing.
	r.Reset()
	ix.Match("mp", "sensor/1", &r)
	if len(r.Direct)+len(r.Shared) != 0 {
		t.Fatal("mountpoints are not isolated")
	}
}

func BenchmarkIndexMatch(b *testing.B) {
	ix := NewIndex()
	for i := 0; i < 1000; i++ {
		ix.Add(&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprint(i)}, Filter: fmt.Sprintf("sensor/%d/+", i)})
	}
	ix.Add(&Entry{Subscriber: SubscriberID{ClientID: "all"}, Filter: "sensor/#"})
	var r Result
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Reset()
		ix.Match("", "sensor/42/temp", &r)
	}
}

// A shared member re-subscribing while a router reads a Match result (after the read
// lock) must not change the result under it: run with -race.
func TestSharedResubscribeDuringMatch(t *testing.T) {
	ix := NewIndex()
	for i := 0; i < 4; i++ {
		ix.Add((&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprint("m", i)}, Filter: "jobs/#"}).At("", "g"))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			ix.Add((&Entry{Subscriber: SubscriberID{ClientID: "m1"}, Filter: "jobs/#", SubID: uint32(i)}).At("", "g"))
		}
	}()
	var r Result
	for {
		select {
		case <-done:
			return
		default:
		}
		ix.Match("", "jobs/1", &r)
		for _, sm := range r.Shared {
			for _, e := range sm.Members {
				_ = e.SubID
			}
		}
		r.Reset()
	}
}

// Memory (router_memory) grows with subscriptions and returns to zero when they are gone.
func TestIndexMemory(t *testing.T) {
	ix := NewIndex()
	if ix.Memory() != 0 {
		t.Fatalf("empty index: %d bytes", ix.Memory())
	}
	var prev int64
	for i := 0; i < 50; i++ {
		ix.Add(&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprintf("c%d", i)}, Filter: fmt.Sprintf("a/%d/#", i%7)})
		ix.Add((&Entry{Subscriber: SubscriberID{ClientID: fmt.Sprintf("c%d", i)}, Filter: "s/+"}).At("", "g"))
		if m := ix.Memory(); m <= prev {
			t.Fatalf("after %d subscribers memory %d, was %d", i+1, m, prev)
		} else {
			prev = m
		}
	}
	before := ix.Memory()
	ix.Add(&Entry{Subscriber: SubscriberID{ClientID: "c0"}, Filter: "a/0/#", SubID: 7}) // a replacement
	if ix.Memory() != before {
		t.Fatalf("replacing an entry changed memory %d → %d", before, ix.Memory())
	}
	for i := 0; i < 50; i++ {
		ix.Remove(SubscriberID{ClientID: fmt.Sprintf("c%d", i)}, "", fmt.Sprintf("a/%d/#", i%7), "")
		ix.Remove(SubscriberID{ClientID: fmt.Sprintf("c%d", i)}, "", "s/+", "g")
	}
	if ix.Memory() != 0 || ix.Len() != 0 {
		t.Fatalf("after removing all: %d bytes, %d entries", ix.Memory(), ix.Len())
	}
}

// TestSoloEntryTransitions covers a node's one-entry form (solo) turning into the map and back:
// replace, second subscriber, removals in either order, matching throughout.
func TestSoloEntryTransitions(t *testing.T) {
	ix := NewIndex()
	a := SubscriberID{ClientID: "a"}
	b := SubscriberID{ClientID: "b"}
	count := func() int {
		var r Result
		ix.Match("", "dev/1", &r)
		return len(r.Direct)
	}
	if !ix.Add(&Entry{Subscriber: a, Filter: "dev/1"}) || count() != 1 {
		t.Fatal("first entry not added as new or not matched")
	}
	if ix.Add(&Entry{Subscriber: a, Filter: "dev/1", SubID: 7}) || ix.Len() != 1 || count() != 1 {
		t.Fatal("replacing the solo entry counted as new")
	}
	if !ix.Add(&Entry{Subscriber: b, Filter: "dev/1"}) || ix.Len() != 2 || count() != 2 {
		t.Fatal("second entry not added beside the first")
	}
	if !ix.Remove(a, "", "dev/1", "") || count() != 1 || ix.Remove(a, "", "dev/1", "") {
		t.Fatal("removing the first of two")
	}
	if !ix.Remove(b, "", "dev/1", "") || count() != 0 || ix.Len() != 0 {
		t.Fatal("removing the last")
	}
	if len(ix.roots) != 0 || ix.Memory() != 0 {
		t.Fatalf("empty trie nodes were not pruned (%d roots) or memory is not back to 0 (%d)", len(ix.roots), ix.Memory())
	}
	if !ix.Add(&Entry{Subscriber: b, Filter: "dev/1"}) || !ix.Add(&Entry{Subscriber: a, Filter: "dev/1"}) ||
		!ix.Remove(b, "", "dev/1", "") || !ix.Remove(a, "", "dev/1", "") || len(ix.roots) != 0 {
		t.Fatal("add two, remove both in insertion order")
	}
	if !ix.Add(&Entry{Subscriber: a, Filter: "dev/1"}) || len(ix.Of(a)) != 1 {
		t.Fatal("solo entry after the map emptied")
	}
}

// A leaf that holds one ordinary entry (a device's dev/<id>) is a 32-byte node: a second
// entry or a shared group go to its `more` part, which goes again when they do (issue 19).
func TestNodeMoreTransitions(t *testing.T) {
	if n := unsafe.Sizeof(trieNode{}); n > 32 {
		t.Fatalf("trieNode is %d bytes: over the 32-byte size class", n)
	}
	ix := NewIndex()
	a, b, c := SubscriberID{ClientID: "a"}, SubscriberID{ClientID: "b"}, SubscriberID{ClientID: "c"}
	leaf := func() *trieNode { return ix.roots[""].child("dev").child("1") }
	match := func() (direct, shared int) {
		var r Result
		ix.Match("", "dev/1", &r)
		return len(r.Direct), len(r.Shared)
	}
	ix.Add(&Entry{Subscriber: a, Filter: "dev/1"})
	if leaf().more != nil {
		t.Fatal("one ordinary entry made the node's more part")
	}
	ix.Add((&Entry{Subscriber: b, Filter: "dev/1"}).At("", "g"))
	if d, s := match(); d != 1 || s != 1 || leaf().more == nil || leaf().solo == nil {
		t.Fatalf("solo and a shared group: %d direct, %d shared", d, s)
	}
	if !ix.Remove(b, "", "dev/1", "g") || leaf().more != nil {
		t.Fatal("the more part outlived the shared group")
	}
	ix.Add(&Entry{Subscriber: c, Filter: "dev/1"})
	if d, _ := match(); d != 2 || leaf().more == nil {
		t.Fatalf("two ordinary entries: %d matched", d)
	}
	if !ix.Remove(c, "", "dev/1", "") || !ix.Remove(a, "", "dev/1", "") || ix.Len() != 0 || len(ix.roots) != 0 {
		t.Fatal("removing both ordinary entries did not empty the index")
	}
}

// An ordinary subscription of this node, what a node of devices holds by the million, is an
// 80-byte entry: its node and shared group are apart, and nil for it (issue 19).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(Entry{}); n > 80 {
		t.Fatalf("Entry is %d bytes: over the 80-byte size class", n)
	}
	e := (&Entry{Filter: "dev/1"}).At("", "")
	if e.at != nil || e.Node() != "" || e.Group() != "" {
		t.Fatalf("an ordinary local entry has a place: %+v", e.at)
	}
	if e.At("n2", "g"); e.Node() != "n2" || e.Group() != "g" {
		t.Fatalf("At(n2, g) gave node %q group %q", e.Node(), e.Group())
	}
}
