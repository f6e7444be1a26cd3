package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live, floor uint64
		base, want  int
	}{
		{2 * mib, 32 * mib, 100, 800},  // goal max(2×9, 4×8) MiB = 32 MiB, not 2×16 with a 60 MiB minimum
		{4 * mib, 32 * mib, 100, 700},  // goal 4 MiB × 8 = 32 MiB
		{16 * mib, 32 * mib, 100, 100}, // goal already 32 MiB
		{30 * mib, 32 * mib, 100, 100}, // never below the base
		{64 * mib, 32 * mib, 100, 100}, // above the floor: as configured
		{8 * mib, 32 * mib, 50, 300},   // base other than 100
		{1, 32 * mib, 100, 800},        // nearly empty heap: bounded by the runtime's minimum
		{0, 32 * mib, 100, 800},        // no collection yet
		{64 * mib, 32 * mib, 200, 200}, // operator's base kept
	}
	for _, c := range cases {
		if got := Percent(c.live, c.floor, c.base); got != c.want {
			t.Errorf("Percent(%d, %d, %d) = %d, want %d", c.live, c.floor, c.base, got, c.want)
		}
	}
}

// gogc reads the runtime's own view of GOGC, not the tuner's.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitGOGC runs collections until the finalizer has re-tuned to what cond wants.
func waitGOGC(t *testing.T, cond func(int) bool) int {
	t.Helper()
	var p int
	if !eventually.Within(eventually.Wait, func() bool {
		runtime.GC() // the finalizer goroutine re-tunes after the cycle, hence the polling
		p = gogc()
		return cond(p)
	}) {
		t.Fatalf("GOGC stayed at %d", p)
	}
	return p
}

func TestTunerFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "") // Start treats a set GOGC as the operator's choice
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 64 << 20
	tu := Start(floor)
	if tu == nil {
		t.Fatal("Start returned nil with GOGC unset")
	}
	defer tu.Stop()
	// A test binary's live heap is well under 64 MiB: GOGC must rise.
	p := waitGOGC(t, func(p int) bool { return p > 200 })
	if p != tu.Current() {
		t.Fatalf("runtime GOGC %d, tuner says %d", p, tu.Current())
	}
	// The goal lands at the floor, not above it (GOGC also scales the runtime's 4 MiB minimum).
	if g := heapGoal(); g < floor*8/10 || g > floor*12/10 {
		t.Fatalf("heap goal %d MiB with GOGC %d, want about %d MiB", g>>20, p, floor>>20)
	}
	// Hold 96 MiB live: over the floor, back to the base.
	hold := make([][]byte, 96)
	for i := range hold {
		hold[i] = make([]byte, 1<<20)
		hold[i][0] = 1
	}
	waitGOGC(t, func(p int) bool { return p == 100 })
	runtime.KeepAlive(hold)
	waitGOGC(t, func(p int) bool { return p > 200 })

	tu.Stop()
	if p := gogc(); p != 100 {
		t.Fatalf("after Stop GOGC = %d, want 100", p)
	}
	// A running tuner re-tunes from the finalizer goroutine right after each cycle.
	eventually.Never(t, eventually.Settle, "a stopped tuner re-tuned GOGC", func() bool {
		runtime.GC()
		return gogc() != 100
	})
}

func TestStartRespectsOperator(t *testing.T) {
	t.Setenv("GOGC", "150")
	if tu := Start(64 << 20); tu != nil {
		tu.Stop()
		t.Fatal("Start must not override GOGC set in the environment")
	}
	t.Setenv("GOGC", "")
	if tu := Start(0); tu != nil {
		tu.Stop()
		t.Fatal("floor 0 must disable the tuner")
	}
}
