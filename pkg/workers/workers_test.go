package workers

import (
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// TestReusesWorkers: functions run one after another reuse the waiting worker; no more than
// maxIdle wait; Close ends them.
func TestReusesWorkers(t *testing.T) {
	p := New(2)
	var wg sync.WaitGroup
	ran := 0
	for range 100 {
		wg.Add(1)
		p.Go(func() { ran++; wg.Done() })
		wg.Wait() // one at a time: each finds the worker the last one left waiting
	}
	if ran != 100 {
		t.Fatalf("ran %d of 100", ran)
	}
	if n := p.started.Load(); n > 50 {
		t.Fatalf("%d workers started for 100 functions run one at a time: workers are not reused", n)
	}
	// A function given while the last worker is between its function and its wait starts a
	// second worker: one or two wait now, never more than maxIdle.
	eventually.True(t, eventually.Wait, "a worker waits again", func() bool { return p.Idle() >= 1 })

	release := make(chan struct{})
	for range 10 {
		wg.Add(1)
		p.Go(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	eventually.True(t, eventually.Wait, "two of the ten workers stay", func() bool { return p.Idle() == 2 })
	eventually.Never(t, 50*time.Millisecond, "more than maxIdle wait", func() bool { return p.Idle() > 2 })

	p.Close()
	p.Close()
	eventually.True(t, eventually.Wait, "Close ends the waiting workers", func() bool { return p.Idle() == 0 })
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
}
