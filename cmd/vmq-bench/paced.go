package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// stepResult is one paced step: the delivered rate and its quality.
type stepResult struct {
	Rate        int // target delivered msg/s
	Expected    int64
	Received    int64
	Delivered   float64 // msg/s
	P50, P99    time.Duration
	BrokerCores float64
	GenCores    float64
	UsPerMsg    float64 // broker CPU µs per delivered message
}

func (s stepResult) ok() bool {
	return s.Received >= s.Expected*99/100 && s.P99 <= 100*time.Millisecond && s.Expected > 0
}

// tick is the pacing period: short enough to keep bursts small, long enough to batch writes.
const tick = 5 * time.Millisecond

// runStep paces the publishers so that rate messages/s are delivered for dur.
func (r *rig) runStep(step uint32, rate int, dur time.Duration, pid int) stepResult {
	r.reset(step)
	perPub := float64(rate) / float64(r.f.pubs)
	if r.f.fanout {
		perPub /= float64(r.f.subs)
	}
	total := int64(perPub * dur.Seconds()) // messages per publisher
	m := startCPU(pid)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range r.pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pace(i, step, perPub, total, start, dur)
		}()
	}
	wg.Wait()
	r.drain(3 * time.Second)
	_, _, bcpu := m.stop()
	gcpu := cpuTime(0) - m.self
	n, h := r.tally()
	exp := total * int64(r.f.pubs)
	if r.f.fanout {
		exp *= int64(r.f.subs)
	}
	res := stepResult{Rate: rate, Expected: exp, Received: n, Delivered: float64(n) / dur.Seconds(),
		P50: h.quantile(0.50), P99: h.quantile(0.99),
		BrokerCores: bcpu.Seconds() / dur.Seconds(), GenCores: gcpu.Seconds() / dur.Seconds()}
	if n > 0 {
		res.UsPerMsg = float64(bcpu.Microseconds()) / float64(n)
	}
	return res
}

// pace sends publisher i's share at perPub msg/s until total are sent or the step (plus 1 s grace) ends.
func (r *rig) pace(i int, step uint32, perPub float64, total int64, start time.Time, dur time.Duration) {
	payload := make([]byte, payloadSize)
	pkt := &packets.Publish{QoS: r.f.qos, Topic: r.f.topic(i), Payload: payload}
	var id uint16
	var sent int64
	hard := start.Add(dur + time.Second)
	for sent < total {
		now := time.Now()
		if now.After(hard) {
			return
		}
		due := min(int64(perPub*now.Sub(start).Seconds())+1, total)
		for sent < due {
			fill(payload, step)
			ok, err := r.publish(i, pkt, &id, false)
			if err != nil {
				return
			}
			if !ok {
				break // QoS 1 window full: the broker is behind, try next tick
			}
			sent++
		}
		if err := r.pubs[i].flush(); err != nil {
			return
		}
		time.Sleep(tick)
	}
}

// stepUp runs rates in order until one fails and returns every step run.
func stepUp(t target, f flow, tag string, rates []int, dur time.Duration, pid int, logf func(string, ...any)) ([]stepResult, error) {
	r, err := newRig(t, f, tag)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var out []stepResult
	for i, rate := range rates {
		s := r.runStep(uint32(i+1), rate, dur, pid)
		logf("  %s rate %d: delivered %.0f/s (%d/%d) p50 %v p99 %v broker %.2f cores gen %.2f cores %.2f µs/msg ok=%v",
			tag, rate, s.Delivered, s.Received, s.Expected, s.P50, s.P99, s.BrokerCores, s.GenCores, s.UsPerMsg, s.ok())
		out = append(out, s)
		if !s.ok() {
			break
		}
	}
	return out, nil
}

// best is the highest passing step, or the first step when none passed.
func best(steps []stepResult) (stepResult, bool) {
	var b stepResult
	found := false
	for _, s := range steps {
		if s.ok() && (!found || s.Delivered > b.Delivered) {
			b, found = s, true
		}
	}
	if !found && len(steps) > 0 {
		b = steps[0]
	}
	return b, found
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}
