package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Scenario 14 (issue 19): a storm of clean-session connects, 100 at a time, against an empty node
// (14a, 14b) and against a node holding N offline persistent sessions (14c, 14d; the script runs
// it after scenario 12's `park`, or parks N sessions itself), and the ratio of the two rates (14e):
// sessions the node holds must not slow down connects that do not touch them.

// stormCmd: vmq-bench storm -addr A -clients 10000 -par 100 -sessions N -pid P -out F.
func stormCmd(args []string) error {
	fs := flag.NewFlagSet("storm", flag.ExitOnError)
	f := newOfflineFlags(fs, "offline persistent sessions the node holds (0: an empty node)")
	clients := fs.Int("clients", 10000, "clean-session clients storm-<i>, kept open until all are in")
	par := fs.Int("par", 100, "connects in flight at a time")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	_ = fs.Parse(args)
	used, note := *clients, ""
	limit := fdLimit()
	if bl := procFdLimit(*f.pid); bl > 0 && bl < limit {
		limit = bl
	}
	if uint64(used)+200 > limit {
		used = max(int(limit)-200, 0)
		note = fmt.Sprintf("; fd limit %d: %d clients instead of %d", limit, used, *clients)
	}
	where, ids := "an empty node", [2]string{"14a", "14b"}
	if *f.sessions > 0 {
		where, ids = fmt.Sprintf("a node holding %s offline sessions", human(float64(*f.sessions))), [2]string{"14c", "14d"}
	}
	label := fmt.Sprintf("clean-session connect storm, %s clients %d at a time, on %s", human(float64(*clients)), *par, where)
	rate := row{Broker: *f.broker, ID: ids[0], Unit: "conn/s", Scenario: label + ": connects/s"}
	lat := row{Broker: *f.broker, ID: ids[1], Unit: "ms", Scenario: label + ": p99 CONNACK latency (ms, lower is better)"}
	rows := []row{rate, lat}
	if used < 100 {
		rows[0].Failed = fmt.Sprintf("open-file limit %d is too low: raise ulimit -n", limit)
		rows[1].Failed = rows[0].Failed
		return emit(*f.out, rows...)
	}
	res, err := storm(f.target(), used, *par, time.Now().Add(*timeout), *f.pid)
	if err != nil {
		rows[0].Failed, rows[1].Failed = err.Error(), err.Error()
	} else {
		rows[0].Value, rows[0].BrokerCores, rows[0].GenCores = res.rate, res.bc, res.gc
		rows[0].Detail = fmt.Sprintf("%d in %.2fs%s", used, res.el.Seconds(), note)
		rows[1].Value = float64(res.p99.Microseconds()) / 1000
		rows[1].Detail = fmt.Sprintf("p50 %.1f ms, max %.1f ms (dial → CONNACK)", float64(res.p50.Microseconds())/1000, float64(res.max.Microseconds())/1000)
	}
	if *f.sessions > 0 {
		ratio := row{Broker: *f.broker, ID: "14e", Unit: "×",
			Scenario: fmt.Sprintf("connect storm: rate with %s offline sessions / on an empty node (higher is better, goal ≥ 1)", human(float64(*f.sessions)))}
		switch empty := findRow(*f.out, *f.broker, "14a"); {
		case err != nil:
			ratio.Failed = "the storm failed"
		case empty == nil:
			ratio.Failed = "no empty-node figure (14a) in this run"
		default:
			ratio.Value = res.rate / empty.Value
			ratio.Detail = fmt.Sprintf("%.0f / %.0f conn/s", res.rate, empty.Value)
		}
		rows = append(rows, ratio)
	}
	return emit(*f.out, rows...)
}

type stormResult struct {
	rate, bc, gc  float64
	el            time.Duration
	p50, p99, max time.Duration
}

// storm connects n clean-session clients par at a time, timing each from dial to CONNACK, keeps
// them all open until the last is in, then closes them.
func storm(t target, n, par int, deadline time.Time, pid int) (stormResult, error) {
	var res stormResult
	cs := make([]*client, n)
	lat := make([]time.Duration, n)
	m := startCPU(pid)
	start := time.Now()
	done, err := forEach(n, par, deadline, "", func(i int) error {
		t0 := time.Now()
		c, err := dial(t, "storm-"+strconv.Itoa(i), 10*time.Second)
		if err != nil {
			return fmt.Errorf("connect storm-%d: %w", i, err)
		}
		lat[i], cs[i] = time.Since(t0), c
		return nil
	})
	res.el = time.Since(start)
	res.bc, res.gc, _ = m.stop()
	closeAll(cs)
	if err != nil {
		return res, fmt.Errorf("%d of %d connected, then: %w", done, n, err)
	}
	res.rate = float64(n) / res.el.Seconds()
	slices.Sort(lat)
	res.p50, res.p99, res.max = lat[n/2], lat[n*99/100], lat[n-1]
	return res, nil
}
