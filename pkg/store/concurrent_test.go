package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// TestGroupCommitBatches uses real fsync: 50 writers must share commits.
func TestGroupCommitBatches(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{})
	defer s.Close()
	const writers, per = 50, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := SessionKey{"", fmt.Sprint("c", w)}
			for i := 0; i < per; i++ {
				seqs, err := s.Enqueue([]SessionKey{k}, msg(i))
				if err != nil {
					errs <- err
					return
				}
				if seqs[0] != uint64(i+1) {
					errs <- fmt.Errorf("writer %d: seq %d at %d", w, seqs[0], i)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Messages != writers*per || st.Batched != writers*per {
		t.Fatalf("stats %+v", st)
	}
	// 50 blocked writers and a 2ms window: expect ~per commits, demand at least 10x batching.
	if st.Commits*10 > uint64(writers*per) {
		t.Fatalf("%d commits for %d messages: group commit is not batching", st.Commits, writers*per)
	}
	t.Logf("%d messages in %d commits", st.Messages, st.Commits)
}

// TestMaxBatchCapsTransactions checks a batch never exceeds MaxBatch.
func TestMaxBatchCapsTransactions(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{NoSync: true, MaxBatch: 4, CommitDelay: 50 * time.Millisecond})
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := s.Enqueue([]SessionKey{{"", "c"}}, msg(i)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if st := s.Stats(); st.Commits < 10 || st.Batched != 40 {
		t.Fatalf("MaxBatch 4 with 40 requests gave %+v, want >= 10 commits", st)
	}
}

// TestEnqueueAsyncOrderAndReentry checks callbacks come in submit order and may call the store.
func TestEnqueueAsyncOrderAndReentry(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{NoSync: true})
	defer s.Close()
	k := SessionKey{"", "async"}
	const n = 500
	got := make(chan uint64, n)
	for i := 0; i < n; i++ {
		s.EnqueueAsync([]SessionKey{k}, msg(i), func(seqs []uint64, err error) {
			if err != nil {
				t.Error(err)
			}
			if seqs[0]%100 == 0 { // a callback calling back into the store must not deadlock
				if err := s.Ack(k, seqs[0]); err != nil {
					t.Error(err)
				}
			}
			got <- seqs[0]
		})
	}
	deadline := time.After(10 * time.Second)
	for want := uint64(1); want <= n; want++ {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("callback for seq %d, want %d", seq, want)
			}
		case <-deadline:
			t.Fatalf("timed out waiting for callback %d", want)
		}
	}
	if l := s.QueueLen(k); l != n-5 {
		t.Fatalf("QueueLen = %d, want %d", l, n-5)
	}
}

// TestConcurrentMixed exercises every operation at once; run with -race.
func TestConcurrentMixed(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Options{NoSync: true, CommitDelay: 100 * time.Microsecond})
	const workers, rounds = 8, 60
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			k := SessionKey{"m", fmt.Sprint("w", w)}
			shared := SessionKey{"m", "shared"}
			if err := s.PutSession(Session{Key: k, Subscriptions: []Subscription{{Filter: "#"}}}); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < rounds; i++ {
				m := msg(i)
				if i%3 == 0 {
					m.Expiry = time.Now().Add(-time.Second).UnixNano()
				}
				seqs, err := s.Enqueue([]SessionKey{k, shared}, m)
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 5 {
				case 0:
					_ = s.Ack(k, seqs[0])
				case 1:
					_, _ = s.DropOldest(shared, 1)
				case 2:
					_, _ = s.DeleteExpired(time.Now())
				case 3:
					_ = s.PutQoS2(k, uint16(i))
					_, _ = s.QoS2(k)
				case 4:
					_ = putRetained(s, "m", fmt.Sprint("r/", w), m)
					_ = s.Retained(func(string, string, Message) error { return nil })
				}
				_ = s.Queue(k, func(Queued) error { return nil })
				_ = s.QueueLen(shared)
				_ = s.Stats()
			}
			if w%2 == 0 {
				if err := s.DeleteSession(k); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	// The in-memory counters must match what is on disk.
	check := func(s *Store) {
		total := 0
		for w := 0; w <= workers; w++ {
			k := SessionKey{"m", fmt.Sprint("w", w)}
			if w == workers {
				k = SessionKey{"m", "shared"}
			}
			n := len(queueOf(t, s, k))
			if n != s.QueueLen(k) {
				t.Fatalf("%v: QueueLen %d, on disk %d", k, s.QueueLen(k), n)
			}
			total += n
		}
		if st := s.Stats(); st.Messages != total || st.Sessions != workers/2 {
			t.Fatalf("stats %+v, want %d messages, %d sessions", st, total, workers/2)
		}
	}
	check(s)
	path := s.path
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path, Options{NoSync: true})
	defer s.Close()
	check(s)
}

// TestCommitDelayEndsAtLull checks the writer's fill: a batch whose writers all wait on it
// commits after a lull of CommitDelay/16, not the whole delay; a stream of writes keeps it
// filling until MaxBatch.
func TestCommitDelayEndsAtLull(t *testing.T) {
	// A lull of 200ms; room for the stream below (a write every 10ms for 600ms).
	s := &Store{opts: Options{CommitDelay: 16 * 200 * time.Millisecond, MaxBatch: 400}, reqs: make(chan *request, 400)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	filled := make(chan int, 1)
	fill := func() {
		batch := []*request{{}}
		s.fill(&batch, timer)
		filled <- len(batch)
	}
	for range 2 {
		s.reqs <- &request{}
	}
	start := time.Now()
	go fill()
	eventually.True(t, 5*time.Second, "3 writes committed after a lull", func() bool { return len(filled) > 0 })
	if n, took := <-filled, time.Since(start); n != 3 || took < 200*time.Millisecond {
		t.Fatalf("fill gave %d after %v, want the 3 queued after the 200ms lull", n, took)
	}

	go fill()
	sent := 1
	stop := time.Now().Add(600 * time.Millisecond) // three lulls long: a stream holds it open
	for time.Now().Before(stop) {
		select {
		case n := <-filled:
			t.Fatalf("fill returned %d writes while they kept coming", n)
		case <-time.After(10 * time.Millisecond):
			s.reqs <- &request{}
			sent++
		}
	}
	for ; sent < 400; sent++ {
		s.reqs <- &request{}
	}
	if n := <-filled; n != 400 {
		t.Fatalf("fill gave %d, want MaxBatch (400)", n)
	}
}
