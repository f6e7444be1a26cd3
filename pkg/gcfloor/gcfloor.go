// Package gcfloor keeps the garbage collector's heap goal above a floor while the
// live heap is small. A broker's live heap is a few MiB until it holds many
// sessions, so with the default GOGC=100 it collects every couple of MiB of
// garbage: at 80k QoS 1 messages/s that is ~20 cycles a second, each taking a
// core for the mark phase and adding latency on small machines. Raising GOGC
// only while the live heap is under the floor trades at most the floor in RSS
// for far fewer cycles; above the floor the collector behaves as configured.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// heapMinimum is the runtime's smallest heap goal at GOGC=100; it scales with GOGC,
// so the goal is max(live×(1+GOGC/100), heapMinimum×GOGC/100) and GOGC must stay at
// or under floor/heapMinimum×100 or a near-empty heap would get a goal far above floor.
const heapMinimum = 4 << 20

// Tuner re-computes GOGC after every collection.
type Tuner struct {
	floor uint64
	base  int // the GOGC the process started with

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// Start raises GOGC while the live heap is under floor bytes. It does nothing
// (returns nil) when floor is 0 or the operator set GOGC in the environment,
// which is taken as a deliberate choice. Stop undoes it.
func Start(floor uint64) *Tuner {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return nil
	}
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base <= 0 {
		return nil // GC off: nothing to raise
	}
	t := &Tuner{floor: floor, base: base, percent: base,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.arm()
	t.tune()
	return t
}

// arm sets a finalizer on a fresh object; it runs after the next GC cycle and re-arms.
func (t *Tuner) arm() {
	s := new(sentinel)
	runtime.SetFinalizer(s, func(*sentinel) {
		if t.tune() {
			t.arm()
		}
	})
}

type sentinel struct{ _ [16]byte } // not zero-sized: finalizers need a real allocation

// tune sets GOGC so the next goal is at least the floor; false once stopped.
func (t *Tuner) tune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	live := t.sample[0].Value.Uint64()
	p := Percent(live, t.floor, t.base)
	// Only write when it moves by more than 10%: each write re-paces the collector.
	if d := p - t.percent; d*10 > t.percent || -d*10 > t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// Percent is the GOGC that puts the heap goal at floor, never below base. live is
// 0 before the first collection.
func Percent(live, floor uint64, base int) int {
	if live >= floor {
		return base
	}
	p := int(floor * 100 / heapMinimum) // what a near-empty heap needs
	if live > 0 {
		p = min(p, int((floor-live)*100/live))
	}
	return max(p, base)
}

// Current is the GOGC in effect now.
func (t *Tuner) Current() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Stop restores the GOGC the process started with.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	debug.SetGCPercent(t.base)
	t.percent = t.base
}
