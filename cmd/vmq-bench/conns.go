package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// connRate connects n clients par at a time, keeps them open until all are in, and returns conn/s.
func connRate(t target, tag string, n, par, pid int) (rate float64, bCores, gCores float64, err error) {
	m := startCPU(pid)
	start := time.Now()
	cs, err := connectMany(t, tag, n, par, 10*time.Second)
	el := time.Since(start)
	bCores, gCores, _ = m.stop()
	if err != nil {
		return 0, 0, 0, err
	}
	closeAll(cs)
	return float64(n) / el.Seconds(), bCores, gCores, nil
}

// fdLimit raises this process's open-file limit to its hard limit and returns the soft limit.
func fdLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Cur
}

// procFdLimit reads the soft "Max open files" of pid (0 when unknown or unlimited).
func procFdLimit(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(line, "Max open files"); ok {
			v, _ := strconv.ParseUint(strings.Fields(f)[0], 10, 64)
			return v
		}
	}
	return 0
}

// idleMemory connects n idle clients to a fresh broker and returns its RSS growth per client in KiB.
// The count shrinks (with a note) when either side's fd limit is too low.
func idleMemory(t target, n, pid int) (perConn float64, used int, note string, err error) {
	limit := fdLimit()
	if bl := procFdLimit(pid); bl > 0 && bl < limit {
		limit = bl
	}
	used = n
	if uint64(n)+100 > limit {
		used = int(limit) - 100
		note = fmt.Sprintf("fd limit %d: %d clients instead of %d", limit, used, n)
	}
	if used < 100 {
		return 0, used, note, fmt.Errorf("open-file limit %d is too low: raise ulimit -n", limit)
	}
	before := rssKiB(pid)
	cs, err := connectMany(t, "idle", used, 50, 10*time.Second)
	if err != nil {
		return 0, used, note, err
	}
	defer closeAll(cs)
	// Let the broker settle: poll until RSS stops moving (2 reads within 0.5%) or 5 s.
	after, prev := rssKiB(pid), int64(0)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		prev, after = after, rssKiB(pid)
		if d := after - prev; d*200 <= after && d*200 >= -after {
			break
		}
	}
	return float64(after-before) / float64(used), used, note, nil
}
