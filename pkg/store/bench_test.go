package store

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueueParallel measures fan-in with fsync on:
// go test -bench EnqueueParallel -run '^$' ./pkg/store
func BenchmarkEnqueueParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(64) // many publishers per CPU, as a broker has
	payload := make([]byte, 100)
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		k := SessionKey{"", fmt.Sprint("c", id.Add(1))}
		m := Message{Topic: "bench/topic", Payload: payload, QoS: 1}
		for pb.Next() {
			if _, err := s.Enqueue([]SessionKey{k}, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(st.Batched)/float64(max(st.Commits, 1)), "msgs/commit")
}

// BenchmarkEnqueueAsync keeps up to 1000 enqueues in flight, as connection readers
// using EnqueueAsync do; it shows the throughput ceiling of group commit.
func BenchmarkEnqueueAsync(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	inflight := make(chan struct{}, 1000)
	m := Message{Topic: "bench/topic", Payload: make([]byte, 100), QoS: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		inflight <- struct{}{}
		k := SessionKey{"", fmt.Sprint("c", i%500)}
		s.EnqueueAsync([]SessionKey{k}, m, func(_ []uint64, err error) {
			if err != nil {
				b.Error(err)
			}
			<-inflight
		})
	}
	for i := 0; i < cap(inflight); i++ { // wait for the tail
		inflight <- struct{}{}
	}
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(st.Batched)/float64(max(st.Commits, 1)), "msgs/commit")
}

// BenchmarkSessionCreate is scenario 12b without sockets: 50 clients at a time each write
// the record of a new persistent session at CONNECT and again with its subscription at
// SUBSCRIBE, each durable before the answer (fsync on). A session that never expires
// writes nothing at DISCONNECT.
// go test -bench SessionCreate -run '^$' ./pkg/store
func BenchmarkSessionCreate(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				id := "dev-" + strconv.FormatInt(i, 10)
				rec := Session{Key: SessionKey{ClientID: id}, ProtocolVersion: 4}
				if err := s.PutSession(rec); err != nil {
					b.Error(err)
					return
				}
				rec.Subscriptions = []Subscription{{Filter: "dev/" + strconv.FormatInt(i, 10), QoS: 1}}
				if err := s.PutSession(rec); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
	b.ReportMetric(float64(st.Batched)/float64(max(st.Commits, 1)), "writes/commit")
}

// BenchmarkReplay measures the worst replay a start can meet: a whole generation of the
// default checkpoint policy in the log (8192 writes, or 64 MiB), left by a crash just
// before its checkpoint. The log is made once; each iteration opens a copy of the files.
// go test -bench Replay -run '^$' ./pkg/store
func BenchmarkReplay(b *testing.B) {
	for _, tc := range []struct {
		name    string
		payload int
		session bool
	}{
		{"8192 session writes", 0, true},
		{"8192 enqueues of 8 KiB", 8 << 10, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "m.db")
			s, err := Open(path, Options{NoSync: true, CheckpointInterval: time.Hour, CheckpointWrites: 1 << 30, CheckpointBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			m := Message{Topic: "bench/topic", Payload: make([]byte, tc.payload), QoS: 1}
			for i := range 8192 {
				id := "dev-" + strconv.Itoa(i)
				wg.Add(1)
				if tc.session {
					go func() {
						defer wg.Done()
						if err := s.PutSession(Session{Key: SessionKey{ClientID: id}, Subscriptions: []Subscription{{Filter: "dev/" + id, QoS: 1}}}); err != nil {
							b.Error(err)
						}
					}()
					continue
				}
				s.EnqueueAsync([]SessionKey{{ClientID: strconv.Itoa(i % 500)}}, m, func(_ []uint64, err error) {
					if err != nil {
						b.Error(err)
					}
					wg.Done()
				})
			}
			wg.Wait()
			crashed := filepath.Join(dir, "crashed.db")
			copyStore(b, path, crashed)
			s.Close()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				run := filepath.Join(b.TempDir(), "run.db")
				copyStore(b, crashed, run)
				b.StartTimer()
				r, err := Open(run, Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				r.Close()
				b.StartTimer()
			}
		})
	}
}
