package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
)

type ackChan chan error

func (c ackChan) PublishDone(_ uint16, _ byte, err error) { c <- err }

// TestRestoreManySessions restores N stored sessions (dev-<i>, one QoS 1 subscription dev/<i>
// each, every 100th awaiting a QoS 2 PUBREL) into a fresh broker, as a node start does, and
// checks all of them route: a publish to the last is stored. It logs the restore time and
// the heap after; VMQ_RESTORE_SESSIONS=100000 -v gives the figures in docs/benchmarks.md,
// VMQ_RESTORE_CPUPROFILE=file a CPU profile of the restore alone.
func TestRestoreManySessions(t *testing.T) {
	n := 3000
	if v := os.Getenv("VMQ_RESTORE_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("VMQ_RESTORE_SESSIONS=%q: want a positive number", v)
		}
	}
	path := filepath.Join(t.TempDir(), "m.db")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// VMQ_RESTORE_DB keeps a copy of the written store for the next run (a million sessions
	// take minutes to write); a kept file must hold the same N sessions.
	if kept := os.Getenv("VMQ_RESTORE_DB"); kept != "" {
		if _, err := os.Stat(kept); err != nil {
			writeRestoreSessions(t, kept, n, quiet)
		}
		copyFile(t, kept, path)
	} else {
		writeRestoreSessions(t, path, n, quiet)
	}
	if p := os.Getenv("VMQ_RESTORE_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}

	// As a node start: open the store, then restore.
	cpu0 := cpuTime()
	start := time.Now()
	st, err := store.Open(path, store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Since(start)
	defer st.Close()
	b := broker.New(broker.Options{Node: "n1", Store: st, Log: quiet})
	sessions, subs, err := restoreSessions(st, b, quiet)
	took, cpu := time.Since(start), cpuTime()-cpu0
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("opened the store in %s, restored %d sessions (%d subscriptions) in %s in all (%.0f/s), %s of CPU (GC included); heap after %.1f MiB",
		opened.Round(time.Millisecond), sessions, subs, took.Round(time.Millisecond), float64(sessions)/took.Seconds(), cpu.Round(time.Millisecond), float64(ms.HeapAlloc)/(1<<20))
	if sessions != n || subs != n || b.Index().Len() != n {
		t.Fatalf("restored %d sessions, %d subscriptions, index %d; want %d each", sessions, subs, b.Index().Len(), n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		id := broker.SessionID{ClientID: "dev-" + strconv.Itoa(i)}
		s := b.Session(id)
		if s == nil {
			t.Fatalf("session %s not restored", id.ClientID)
		}
		if info, _ := s.Info(); info.Username != "u"+strconv.Itoa(i) {
			t.Fatalf("session %s restored with user %q, want its owner u%d (session_binding)", id.ClientID, info.Username, i)
		}
		if want := i%100 == 0; s.QoS2InLen() == 1 != want {
			t.Fatalf("session %s awaits %d PUBRELs, want one: %v", id.ClientID, s.QoS2InLen(), want)
		}
		done := make(ackChan, 1)
		b.PublishFlow(&session.Message{Topic: "dev/" + strconv.Itoa(i), QoS: 1, Payload: []byte("x")}, broker.Ack{To: done, ID: 1, QoS: 1})
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if q := st.QueueLen(store.SessionKey{ClientID: id.ClientID}); q != 1 {
			t.Fatalf("session %s: %d stored after a publish, want 1", id.ClientID, q)
		}
	}
}

// writeRestoreSessions stores n sessions dev-<i> (user u<i>, one QoS 1 subscription dev/<i>,
// every 100th awaiting a QoS 2 PUBREL) in a new store at path.
func writeRestoreSessions(t *testing.T, path string, n int, log *slog.Logger) {
	t.Helper()
	st, err := store.Open(path, store.Options{NoSync: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k := store.SessionKey{ClientID: "dev-" + strconv.Itoa(i)}
				if err := st.PutSession(store.Session{Key: k, ProtocolVersion: 4, DisconnectedAt: time.Now(), Username: "u" + strconv.Itoa(i),
					Subscriptions: []store.Subscription{{Filter: "dev/" + strconv.Itoa(i), QoS: 1}}}); err != nil {
					errs <- err
					return
				}
				if i%100 == 0 {
					if err := st.PutQoS2(k, uint16(i%65535+1)); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreKeepsExpiryAndMountpoints restores a few unlike sessions through the same
// pipeline: mountpoints, several (wildcard, shared) subscriptions, and session expiry counted
// from when each went offline (or from the start, for one online when the node stopped).
func TestRestoreKeepsExpiryAndMountpoints(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	long := time.Now().Add(-time.Hour)
	recs := []store.Session{
		{Key: store.SessionKey{Mountpoint: "mp", ClientID: "c"}, ProtocolVersion: 5, ExpiryInterval: 3600, DisconnectedAt: time.Now(),
			Subscriptions: []store.Subscription{{Filter: "a/+", QoS: 1}, {Filter: "$share/g/b/#", QoS: 2, SubID: 7}, {Filter: "c", QoS: 0, NoLocal: true}}},
		{Key: store.SessionKey{ClientID: "c"}, ProtocolVersion: 4, Subscriptions: []store.Subscription{{Filter: "a/+", QoS: 1}}},
		{Key: store.SessionKey{ClientID: "expired"}, ProtocolVersion: 5, ExpiryInterval: 1, DisconnectedAt: long,
			Subscriptions: []store.Subscription{{Filter: "x", QoS: 1}}},
		{Key: store.SessionKey{ClientID: "online-at-stop"}, ProtocolVersion: 5, ExpiryInterval: 1},
	}
	for _, r := range recs {
		if err := st.PutSession(r); err != nil {
			t.Fatal(err)
		}
	}
	b := broker.New(broker.Options{Node: "n1", Store: st, Log: quiet})
	start := time.Now()
	sessions, subs, err := restoreSessions(st, b, quiet)
	if err != nil || sessions != 4 || subs != 5 {
		t.Fatalf("restored %d sessions, %d subscriptions, %v; want 4, 5", sessions, subs, err)
	}
	mp := b.Session(broker.SessionID{Mountpoint: "mp", ClientID: "c"})
	if mp == nil || mp.SubCount() != 3 {
		t.Fatalf("session mp/c = %v, want it with 3 subscriptions", mp)
	}
	if _, exp := mp.Persistent(); exp != 3600 {
		t.Fatalf("session mp/c expiry %d, want 3600", exp)
	}
	if c := b.Session(broker.SessionID{ClientID: "c"}); c == nil || c == mp {
		t.Fatal("session c of the default mountpoint not restored apart from mp/c")
	} else if _, exp := c.Persistent(); exp != broker.NeverExpire {
		t.Fatalf("session c expiry %d, want never (stored 0)", exp)
	}
	done := make(ackChan, 1)
	b.PublishFlow(&session.Message{Mountpoint: "mp", Topic: "a/1", QoS: 1, Payload: []byte("x")}, broker.Ack{To: done, ID: 1, QoS: 1})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, k := range []store.SessionKey{{Mountpoint: "mp", ClientID: "c"}, {ClientID: "c"}} {
		if want := map[string]int{"mp": 1, "": 0}[k.Mountpoint]; st.QueueLen(k) != want {
			t.Fatalf("%s/%s holds %d messages after a publish on mountpoint mp, want %d", k.Mountpoint, k.ClientID, st.QueueLen(k), want)
		}
	}
	gone := func(id string) func() bool {
		return func() bool { return b.Session(broker.SessionID{ClientID: id}) == nil }
	}
	eventually.True(t, 5*time.Second, "the session whose expiry passed while the node was down is removed", gone("expired"))
	eventually.True(t, 5*time.Second, "the session online at the stop expires a second after the start", gone("online-at-stop"))
	if time.Since(start) < time.Second {
		t.Fatalf("session online at the stop expired %s after the restore, want its full second", time.Since(start))
	}
	// expire takes the session out of the registry, then its subscriptions out of the index.
	eventually.True(t, 5*time.Second, "the expired session's subscription leaves the index", func() bool { return b.Index().Len() == 4 })
}

// TestPauseGCNested: overlapping restores (several nodes in one process) leave the collector
// as they found it, whichever finishes first.
func TestPauseGCNested(t *testing.T) {
	before := debug.SetGCPercent(123)
	defer debug.SetGCPercent(before)
	resumeA := pauseGC()
	resumeB := pauseGC()
	resumeA()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GOGC %d while a restore still runs, want off", p)
	}
	resumeB()
	if p := debug.SetGCPercent(123); p != 123 {
		t.Fatalf("GOGC %d after both restores, want 123 as before", p)
	}
}
