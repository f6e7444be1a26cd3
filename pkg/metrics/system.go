package metrics

import (
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// VerneMQ exports the Erlang VM's health as system_* and vm_memory_*; its dashboard and
// alert rules query them. Here each name carries the nearest Go runtime or process
// measure (docs/deployment.md, "Metric equivalents", says which):
//
//	system_utilization             % of GOMAXPROCS × wall time the process spent on CPU since the last sample
//	system_utilization_scheduler_N % CPU of the process's N-th busiest OS thread since the last sample
//	                               (N = 1..2×GOMAXPROCS: VerneMQ's schedulers + dirty CPU schedulers)
//	system_run_queue               goroutines ready to run but not running
//	system_process_count           goroutines
//	system_reductions              CPU time of the process in µs (work done; Erlang counts reductions)
//	system_exact_reductions        the same
//	system_runtime                 CPU time of the process in ms (user + system)
//	system_wallclock               ms since the node started
//	system_context_switches        OS context switches of the process (voluntary + involuntary)
//	system_io_in / system_io_out   bytes read / written by the process's read and write calls (/proc/self/io)
//	system_gc_count                completed GC cycles
//	system_words_reclaimed_by_gc   bytes freed by the GC / 8
//	vm_memory_*                    the Go runtime's memory classes (see sysMemory)
//
// Utilization is sampled at most once a second whoever reads it (Prometheus, $SYS, vmq-admin).

// sampleEvery bounds how often the utilization window restarts; reads in between reuse it.
const sampleEvery = time.Second

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/task/<tid>/stat times (100 on every
// architecture Go supports; sysconf would need cgo).
const clockTicks = 100

type system struct {
	start   time.Time
	threads int // scheduler series: 2 × GOMAXPROCS at start

	mu       sync.Mutex
	last     time.Time
	lastCPU  time.Duration
	lastTick map[int]uint64 // thread id → CPU ticks at the last sample
	util     int64
	perSched []int64
	rm       []metrics.Sample
}

var runtimeNames = []string{
	"/sched/goroutines/runnable:goroutines",
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/frees:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
}

const (
	rmRunnable = iota
	rmGoroutines
	rmGCCycles
	rmFreedBytes
	rmTotal
	rmHeapObjects
	rmHeapUnused
	rmHeapFree
	rmStacks
	rmOSStacks
)

// RegisterSystem adds the system_* and vm_memory_* metrics to reg. router and retain give
// the estimated bytes of the routing index and retained messages (vm_memory_ets), or nil.
func RegisterSystem(reg *Registry, router, retain *Gauge) {
	s := &system{start: time.Now(), threads: 2 * runtime.GOMAXPROCS(0), lastTick: map[int]uint64{}}
	s.rm = make([]metrics.Sample, len(runtimeNames))
	for i, n := range runtimeNames {
		s.rm[i].Name = n
	}
	s.last = s.start
	s.lastCPU = processCPU()
	s.lastTick = threadTicks()

	g := func(name, help string, fn func() int64) { reg.Gauge(name, help, nil).Func(fn) }
	c := func(name, help string, fn func() uint64) { reg.CounterFunc(name, help, nil, fn) }
	rt := func(i int) uint64 { return s.runtime()[i].Value.Uint64() }

	g("system_utilization", "CPU used by the process as % of GOMAXPROCS × wall time since the last sample (Erlang: average scheduler utilization).",
		func() int64 { u, _ := s.utilization(); return u })
	for i := 0; i < s.threads; i++ {
		i := i
		g("system_utilization_scheduler_"+strconv.Itoa(i+1),
			"CPU % of the process's "+strconv.Itoa(i+1)+". busiest OS thread since the last sample (Erlang: scheduler utilization).",
			func() int64 { _, per := s.utilization(); return per[i] })
	}
	g("system_run_queue", "Goroutines ready to run but not running (Erlang: processes in the run queues).",
		func() int64 { return int64(rt(rmRunnable)) })
	g("system_process_count", "Goroutines (Erlang: processes).", func() int64 { return int64(rt(rmGoroutines)) })
	cpuMicros := func() uint64 { return uint64(processCPU() / time.Microsecond) }
	c("system_reductions", "CPU time of the process in microseconds (Erlang: reductions, units of work).", cpuMicros)
	c("system_exact_reductions", "CPU time of the process in microseconds (Erlang: exact reductions).", cpuMicros)
	c("system_runtime", "CPU time of the process in milliseconds, user + system.",
		func() uint64 { return uint64(processCPU() / time.Millisecond) })
	c("system_wallclock", "Milliseconds since the node started.",
		func() uint64 { return uint64(time.Since(s.start) / time.Millisecond) })
	c("system_context_switches", "OS context switches of the process, voluntary and involuntary.", contextSwitches)
	c("system_io_in", "Bytes the process read through read calls: sockets, files (Erlang: bytes received through ports).",
		func() uint64 { in, _ := procIO(); return in })
	c("system_io_out", "Bytes the process wrote through write calls: sockets, files (Erlang: bytes sent through ports).",
		func() uint64 { _, out := procIO(); return out })
	c("system_gc_count", "Completed garbage collection cycles.", func() uint64 { return rt(rmGCCycles) })
	c("system_words_reclaimed_by_gc", "Bytes freed by the garbage collector / 8 (machine words).",
		func() uint64 { return rt(rmFreedBytes) / 8 })

	mem := func(name, help string, fn func(r []metrics.Sample) uint64) {
		g(name, help, func() int64 { return int64(fn(s.runtime())) })
	}
	v := func(r []metrics.Sample, i int) uint64 { return r[i].Value.Uint64() }
	heap := func(r []metrics.Sample) uint64 {
		return v(r, rmHeapObjects) + v(r, rmHeapUnused) + v(r, rmHeapFree) + v(r, rmStacks) + v(r, rmOSStacks)
	}
	mem("vm_memory_total", "Memory mapped by the Go runtime, in bytes.", func(r []metrics.Sample) uint64 { return v(r, rmTotal) })
	mem("vm_memory_processes", "Heap and goroutine stacks, in bytes (Erlang: process memory).", heap)
	mem("vm_memory_processes_used", "Live heap objects and stacks in use, in bytes.",
		func(r []metrics.Sample) uint64 { return v(r, rmHeapObjects) + v(r, rmStacks) + v(r, rmOSStacks) })
	mem("vm_memory_system", "Runtime memory outside heap and stacks (metadata, buffers), in bytes.",
		func(r []metrics.Sample) uint64 { return v(r, rmTotal) - heap(r) })
	code := int64(executableBytes())
	g("vm_memory_code", "Executable code mapped by the process, in bytes.", func() int64 { return code })
	zero := func() int64 { return 0 }
	g("vm_memory_atom", "Always 0: Go has no atom table.", zero)
	g("vm_memory_atom_used", "Always 0: Go has no atom table.", zero)
	g("vm_memory_binary", "Always 0: payloads live on the heap (vm_memory_processes).", zero)
	g("vm_memory_ets", "Estimated bytes of the routing index and retained messages (VerneMQ keeps both in ETS).", func() int64 {
		var n int64
		for _, g := range []*Gauge{router, retain} {
			if g != nil {
				n += g.Read()
			}
		}
		return n
	})
}

// runtime reads the Go runtime metrics; cheap enough to do per read.
func (s *system) runtime() []metrics.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.rm)
	out := make([]metrics.Sample, len(s.rm))
	copy(out, s.rm)
	for i := range out {
		if out[i].Value.Kind() != metrics.KindUint64 {
			out[i].Value = metrics.Value{} // unsupported by this Go: reads as 0 below
		}
	}
	return out
}

// utilization is the process's CPU share and its busiest threads' shares, in percent,
// over the window that ended at the latest sample (at most sampleEvery old).
func (s *system) utilization() (int64, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.perSched != nil && now.Sub(s.last) < sampleEvery {
		return s.util, s.perSched
	}
	wall := now.Sub(s.last)
	if wall <= 0 {
		wall = time.Nanosecond
	}
	cpu := processCPU()
	s.util = min(100, int64(100*float64(cpu-s.lastCPU)/(float64(wall)*float64(runtime.GOMAXPROCS(0)))+0.5))
	ticks := threadTicks()
	var busy []int64
	for tid, t := range ticks {
		d := t - min(t, s.lastTick[tid])
		pct := int64(100*float64(d)/clockTicks/wall.Seconds() + 0.5)
		busy = append(busy, min(100, pct))
	}
	slices.SortFunc(busy, func(a, b int64) int { return int(b - a) })
	per := make([]int64, s.threads)
	copy(per, busy)
	s.perSched, s.last, s.lastCPU, s.lastTick = per, now, cpu, ticks
	return s.util, s.perSched
}

// processCPU is the process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func contextSwitches() uint64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Nvcsw + ru.Nivcsw)
}

// threadTicks reads each thread's user + system CPU ticks from /proc (empty off Linux).
func threadTicks() map[int]uint64 {
	out := map[int]uint64{}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return out
	}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		// Fields after "(comm)": state is the first, utime the 12th, stime the 13th.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseUint(string(f[11]), 10, 64)
		st, _ := strconv.ParseUint(string(f[12]), 10, 64)
		out[tid] = ut + st
	}
	return out
}

// procIO returns rchar and wchar of /proc/self/io (0, 0 where it is missing).
func procIO() (in, out uint64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, val, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(string(bytes.TrimSpace(val)), 10, 64)
		switch string(k) {
		case "rchar":
			in = n
		case "wchar":
			out = n
		}
	}
	return in, out
}

// executableBytes sums the executable mappings of /proc/self/maps (0 where it is missing).
func executableBytes() uint64 {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	var n uint64
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 2 || len(f[1]) < 3 || f[1][2] != 'x' {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(string(lo), 16, 64)
		z, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 == nil && err2 == nil && z > a {
			n += z - a
		}
	}
	return n
}
