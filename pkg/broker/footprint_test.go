package broker

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
)

// footprintSessions is how many sessions TestOfflineSessionFootprint parks (VMQ_FOOTPRINT_SESSIONS).
func footprintSessions(t *testing.T) int {
	if v := os.Getenv("VMQ_FOOTPRINT_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VMQ_FOOTPRINT_SESSIONS=%q: want a positive number", v)
		}
		return n
	}
	return 2000
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestOfflineSessionFootprint parks N persistent sessions (one QoS 1 subscription dev/<n>
// each, then offline) in a broker with a message store, and bounds the Go heap they keep:
// the session, its registry entry, its index entry and the persister's and store's
// bookkeeping (issue 19). The store's own pages are not Go heap. It logs the figures; run
// with VMQ_FOOTPRINT_SESSIONS=100000 -v for the record in docs/benchmarks.md.
func TestOfflineSessionFootprint(t *testing.T) {
	n := footprintSessions(t)
	if os.Getenv("VMQ_FOOTPRINT_PROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for the accounting in docs/store.md
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := New(Options{Node: "n1", Store: st})
	ids := make([]string, n) // the client's strings exist before the broker sees them: not counted
	for i := range ids {
		ids[i] = "dev-" + strconv.Itoa(i)
	}
	filters := make([]string, n)
	for i := range filters {
		filters[i] = "dev/" + strconv.Itoa(i)
	}
	before := liveHeap()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	start := time.Now()
	// 50 at a time, as the clients of scenario 12: each store commit is a group commit.
	var wg sync.WaitGroup
	next := make(chan int)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l := &pipeLink{}
				s := connect(b, ids[i], true, l)
				b.Subscribe(s, []session.Sub{{Filter: filters[i], Options: packets.SubOptions{QoS: 1}}})
				b.Disconnect(s, l, true)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	el := time.Since(start)
	runtime.ReadMemStats(&ms)
	allocated := float64(ms.TotalAlloc-allocBefore) / float64(n) // kept and garbage
	per := float64(liveHeap()-before) / float64(n)
	t.Logf("%d offline sessions: %.0f B of Go heap each; %.0f B allocated per session created; created at %.0f/s (50 at a time, store fsync off)",
		n, per, allocated, float64(n)/el.Seconds())
	if got := st.Stats().Sessions; got != n {
		t.Fatalf("store holds %d sessions, want %d", got, n)
	}
	// The routing check keeps the sessions alive past the measurement, and proves they work.
	done := make(chan error, 1)
	b.PublishFlow(msg(filters[n-1], 1, "x"), ackFunc(func(err error) { done <- err }).ack())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q := st.QueueLen(store.SessionKey{ClientID: ids[n-1]}); q != 1 {
		t.Fatalf("last session's stored queue holds %d, want 1", q)
	}
	// Issue 19's target is 1.5 KiB of RSS per offline session; RSS adds the collector's headroom
	// (up to the live heap again at GOGC=100) to this heap, so the heap budget is half of it
	// (measured ~545 B at 2,000 sessions; docs/architecture.md has the accounting).
	const budget = 700
	if per > budget {
		t.Errorf("an offline session keeps %.0f B of heap, budget %d B", per, budget)
	}
	if p := os.Getenv("VMQ_FOOTPRINT_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	runtime.KeepAlive(b)
}

// The once-a-second retry scan reuses its snapshot's storage and keeps no session alive in
// it: a fresh snapshot per pass was 8 B per session of garbage a second, which kept a node
// of idle offline sessions collecting and its heap at the goal (issue 19).
func TestRetryScanReusesSnapshot(t *testing.T) {
	b := New(Options{Node: "n1"})
	for i := range 100 {
		l := &pipeLink{}
		s := connect(b, "dev-"+strconv.Itoa(i), true, l)
		b.Disconnect(s, l, true)
	}
	now := time.Now()
	snap := b.retryScan(nil, time.Second, now)
	if cap(snap) < 100 {
		t.Fatalf("snapshot holds room for %d sessions, want 100", cap(snap))
	}
	first := &snap[:1][0]
	snap = b.retryScan(snap, time.Second, now.Add(time.Second))
	if &snap[:1][0] != first {
		t.Fatal("the second pass allocated a new snapshot")
	}
	for i, s := range snap[:cap(snap)] {
		if s != nil {
			t.Fatalf("snapshot slot %d still refers to session %s after the pass", i, s.ID.ClientID)
		}
	}
}
