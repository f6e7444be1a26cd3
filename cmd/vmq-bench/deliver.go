package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/metrics"
	"time"
)

// Scenario 15 (issue 18): the delivery hot path with and without an on_deliver plugin.
// The same paced fan-out (QoS 0, then QoS 1) runs at one rate against this broker
// started by `vmq-bench serve -stats ADDR`, which reports the broker process's heap
// allocations; each row gives broker CPU and allocations per delivered message.
// -deliver-hook says how the broker was configured: none (no plugin), inactive
// (vmq_webhooks on with an endpoint for another hook: the hot path of every node
// without an on_deliver plugin) or webhook (on_deliver(_m5) registered). The endpoints
// at -hook-listen are served here by a loopback service that answers ok.

// allocStats is what `serve -stats` answers: the broker's cumulative heap allocations.
type allocStats struct {
	Objects uint64 `json:"objects"`
	Bytes   uint64 `json:"bytes"`
}

// serveStats answers GET / with the process's allocStats (runtime/metrics).
func serveStats(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("stats listener %s: %w", addr, err)
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(s)
		json.NewEncoder(w).Encode(allocStats{Objects: s[0].Value.Uint64(), Bytes: s[1].Value.Uint64()})
	}))
	return nil
}

func readAllocs(url string) (allocStats, error) {
	var s allocStats
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return s, fmt.Errorf("broker stats %s: %w", url, err)
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// hookService is a webhook service for on_deliver(_m5): ok, no modifiers.
func hookService(addr string) (func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hook listener %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"result":"ok"}`)
	})}
	go srv.Serve(l)
	return func() { srv.Close() }, nil
}

// deliverRows runs scenario 15 with the broker as configured (o.deliverHook says how).
func deliverRows(o opts) []row {
	mode := "no on_deliver plugin"
	ids := [2]string{"15a", "15b"}
	switch o.deliverHook {
	case "inactive":
		mode, ids = "vmq_webhooks on, no on_deliver endpoint", [2]string{"15c", "15d"}
	case "webhook":
		mode, ids = "on_deliver webhook (loopback, answers ok)", [2]string{"15e", "15f"}
	}
	if o.hookListen != "" {
		stop, err := hookService(o.hookListen)
		if err != nil {
			return []row{{ID: ids[0], Scenario: "on_deliver " + mode, Failed: err.Error()}}
		}
		defer stop()
	}
	var rows []row
	for i, q := range []byte{0, 1} {
		label := fmt.Sprintf("hot path, fan-out QoS%d 1→%d at %d msg/s, %s (broker CPU per message)", q, o.fanSubs, o.deliverRate, mode)
		r := row{ID: ids[i], Scenario: label, Unit: "µs/msg"}
		f := flow{pubs: 1, subs: o.fanSubs, qos: q, filter: "bench/deliver", topic: func(int) string { return "bench/deliver" }, fanout: true}
		rg, err := newRig(o.t, f, o.broker+"-s"+ids[i])
		if err != nil {
			r.Failed = err.Error()
			rows = append(rows, r)
			continue
		}
		rg.runStep(1, o.deliverRate, min(o.step, 2*time.Second), o.pid) // warm-up: buffers and free lists grow once
		before, err1 := readAllocs(o.statsURL)
		s := rg.runStep(2, o.deliverRate, o.step, o.pid)
		after, err2 := readAllocs(o.statsURL)
		rg.close()
		r.Value, r.BrokerCores, r.GenCores = s.UsPerMsg, s.BrokerCores, s.GenCores
		r.Steps = stepsOf([]stepResult{s})
		switch {
		case err1 != nil || err2 != nil:
			r.Failed = fmt.Sprintf("allocations not measured: %v %v", err1, err2)
		case s.Received == 0:
			r.Failed = "nothing delivered"
		default:
			n := float64(s.Received)
			r.Detail = fmt.Sprintf("%.2f allocs/msg, %.0f B/msg; delivered %.0f/s of %d (%d/%d), p99 %s",
				float64(after.Objects-before.Objects)/n, float64(after.Bytes-before.Bytes)/n, s.Delivered, o.deliverRate,
				s.Received, s.Expected, fmtDur(s.P99))
		}
		o.logf("  %s: %.2f µs/msg, %s", ids[i], r.Value, r.Detail)
		rows = append(rows, r)
	}
	return rows
}
