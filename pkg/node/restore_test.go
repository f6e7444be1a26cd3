package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

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
	st, err := store.Open(path, store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
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
	st.Close()

	st, err = store.Open(path, store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := broker.New(broker.Options{Node: "n1", Store: st, Log: quiet})
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
	cpu0 := cpuTime()
	start := time.Now()
	sessions, subs, err := restoreSessions(st, b, quiet)
	took, cpu := time.Since(start), cpuTime()-cpu0
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("restored %d sessions (%d subscriptions) in %s (%.0f/s), %s of CPU (GC included); heap after %.1f MiB", sessions, subs,
		took.Round(time.Millisecond), float64(sessions)/took.Seconds(), cpu.Round(time.Millisecond), float64(ms.HeapAlloc)/(1<<20))
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
