package main

import (
	"bufio"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"time"
)

// hist is a log-linear latency histogram in microseconds (16 sub-buckets per
// power of two, ~6% precision); one per goroutine, merged at the end, so no atomics.
type hist struct {
	b [64 * 16]uint64
	n uint64
}

func bucketOf(us uint64) int {
	if us < 16 {
		return int(us)
	}
	e := 63 - bits.LeadingZeros64(us) // >= 4
	m := (us >> (e - 4)) & 15
	return (e-3)*16 + int(m)
}

func lowerOf(b int) uint64 {
	if b < 16 {
		return uint64(b)
	}
	e := b/16 + 3
	m := uint64(b % 16)
	return (16 + m) << (e - 4)
}

func (h *hist) add(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.b[bucketOf(uint64(us))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i := range h.b {
		h.b[i] += o.b[i]
	}
	h.n += o.n
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.b {
		seen += c
		if seen > want {
			return time.Duration(lowerOf(i+1)) * time.Microsecond
		}
	}
	return time.Duration(lowerOf(len(h.b)-1)) * time.Microsecond
}

// clkTck is USER_HZ; it is 100 on every Linux architecture Go supports.
const clkTck = 100

// cpuTime reads utime+stime of pid (0 = this process) from /proc.
func cpuTime(pid int) time.Duration {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the ")" closing comm: state is field 3, utime 14, stime 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / clkTck
}

// rssKiB reads VmRSS of pid in KiB (0 when unknown).
func rssKiB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// cpuMeter measures broker and generator CPU (in cores) over a window.
type cpuMeter struct {
	pid          int
	start        time.Time
	broker, self time.Duration
}

func startCPU(pid int) cpuMeter {
	return cpuMeter{pid: pid, start: time.Now(), broker: cpuTime(pid), self: cpuTime(0)}
}

// stop returns broker cores, generator cores and broker CPU seconds used.
func (m cpuMeter) stop() (brokerCores, genCores float64, brokerCPU time.Duration) {
	wall := time.Since(m.start).Seconds()
	if wall <= 0 {
		return 0, 0, 0
	}
	b := cpuTime(m.pid) - m.broker
	if m.pid <= 0 {
		b = 0
	}
	g := cpuTime(0) - m.self
	return b.Seconds() / wall, g.Seconds() / wall, b
}
