package store

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
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
