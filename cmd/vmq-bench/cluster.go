package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 11 ("cluster", this broker only) needs two nodes that scripts/bench.sh starts:
// node A at -addr, node B at $BENCH_NODE_B (not yet joined) and $BENCH_JOIN, the command
// that joins B to A. $BENCH_CLUSTER_SUBS is the subscription count of the convergence part.
const filtersPerClient = 100

// clusterRows measures (11a) the cross-node forwarding rate as a ratio of node A alone and
// (11b) how long a joining node takes to route to the last of many subscriptions.
func clusterRows(o opts) []row {
	subs := 100000
	if v, err := strconv.Atoi(os.Getenv("BENCH_CLUSTER_SUBS")); err == nil && v >= filtersPerClient {
		subs = v
	}
	labelA := fmt.Sprintf("cluster: fan-in QoS0 %d→1, publishers on node A, subscriber on node B (max msg/s)", o.pubs)
	labelB := fmt.Sprintf("cluster: node B joins A holding %d subscriptions; until B routes to the last one (lower is better)", subs)
	bAddr, join := os.Getenv("BENCH_NODE_B"), strings.Fields(os.Getenv("BENCH_JOIN"))
	if bAddr == "" || len(join) == 0 {
		why := "needs two nodes: run it through scripts/bench.sh, which sets BENCH_NODE_B and BENCH_JOIN"
		return []row{{ID: "11a", Scenario: labelA, Failed: why}, {ID: "11b", Scenario: labelB, Failed: why}}
	}
	tB := target{Addr: bAddr, Version: o.t.Version}
	sensor := func(i int) string { return "sensor/" + strconv.Itoa(i) }
	f := flow{pubs: o.pubs, subs: 1, qos: 0, filter: "sensor/#", topic: sensor}

	// The single-node figure: the same paced fan-in on node A before B joins.
	singleSteps, singleErr := stepUp(o.t, f, "this-s11-single", o.rates, o.step, o.pid, o.logf)

	conv, convClients, err := convergence(o, tB, join, subs)
	defer closeAll(convClients)
	rowB := row{ID: "11b", Scenario: labelB, Value: conv.total.Seconds(), Unit: "s"}
	if err != nil {
		rowB.Failed = err.Error()
	} else {
		rowB.Detail = fmt.Sprintf("%d clients × %d filters subscribed on A in %s; join command took %s",
			subs/filtersPerClient, filtersPerClient, conv.subscribe.Round(time.Millisecond), conv.join.Round(time.Millisecond))
	}

	rowA := row{ID: "11a", Scenario: labelA, Unit: "msg/s"}
	switch {
	case singleErr != nil:
		rowA.Failed = "single-node baseline: " + singleErr.Error()
	case err != nil:
		rowA.Failed = "B never joined: " + err.Error()
	default:
		crossSteps, err := crossStepUp(o, tB, f)
		if err != nil {
			rowA.Failed = err.Error()
			break
		}
		s, sok := best(singleSteps)
		c, cok := best(crossSteps)
		rowA.Value, rowA.BrokerCores, rowA.GenCores = c.Delivered, c.BrokerCores, c.GenCores
		ratio := 0.0
		if s.Delivered > 0 {
			ratio = c.Delivered / s.Delivered
		}
		rowA.Detail = fmt.Sprintf("%.2f× node A alone (%s msg/s, same run); p99 %s; broker cores: node A only",
			ratio, human(s.Delivered), fmtDur(c.P99))
		if !sok || !cok {
			rowA.Detail += fmt.Sprintf("; a step failed at the lowest rate (single ok=%v, cross ok=%v)", sok, cok)
		}
	}
	return []row{rowA, rowB}
}

type convResult struct{ subscribe, join, total time.Duration }

// convergence subscribes subs filters on A, runs the join and probes B until it routes the last filter.
// The subscribing clients are returned open so that their subscriptions stay.
func convergence(o opts, tB target, join []string, subs int) (convResult, []*client, error) {
	var res convResult
	n := subs / filtersPerClient
	start := time.Now()
	cs, err := connectMany(o.t, "this-s11-conv", n, 50, 10*time.Second)
	if err != nil {
		return res, nil, err
	}
	if err := subscribeAll(cs, 3*time.Minute); err != nil {
		return res, cs, err
	}
	res.subscribe = time.Since(start)
	o.logf("  this-s11: %d subscriptions on A in %s", subs, res.subscribe.Round(time.Millisecond))
	last := cs[n-1]
	lastTopic := fmt.Sprintf("conv/%d/%d", n-1, filtersPerClient-1)
	var got atomic.Bool
	go func() {
		_ = last.readLoop(func(p packets.Packet) {
			if pub, ok := p.(*packets.Publish); ok && pub.Topic == lastTopic {
				got.Store(true)
			}
		})
	}()
	probe, err := dial(tB, "this-s11-probe", 10*time.Second)
	if err != nil {
		return res, cs, err
	}
	defer probe.close()

	t0 := time.Now()
	if out, err := exec.Command(join[0], join[1:]...).CombinedOutput(); err != nil {
		return res, cs, fmt.Errorf("join command %q: %v: %s", strings.Join(join, " "), err, strings.TrimSpace(string(out)))
	}
	res.join = time.Since(t0)
	pkt := &packets.Publish{Topic: lastTopic, Payload: []byte("probe")}
	deadline := t0.Add(2 * time.Minute)
	for !got.Load() {
		if time.Now().After(deadline) {
			return res, cs, fmt.Errorf("node B did not route %s within 2 min of the join", lastTopic)
		}
		if err := probe.send(pkt, true); err != nil { // B may drop a client while it settles: dial again
			probe.close()
			if probe, err = dial(tB, "this-s11-probe", 5*time.Second); err != nil {
				return res, cs, err
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.total = time.Since(t0)
	o.logf("  this-s11: B routes %s %s after the join started (join command %s)", lastTopic, res.total.Round(time.Millisecond), res.join.Round(time.Millisecond))
	return res, cs, nil
}

// subscribeAll sends each client one SUBSCRIBE with its filtersPerClient filters, 50 clients at a time.
func subscribeAll(cs []*client, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var wg sync.WaitGroup
	idx := make(chan int)
	errs := make(chan error, len(cs))
	for range min(50, len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := subscribeMany(cs[i], i, deadline); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range cs {
		idx <- i
	}
	close(idx)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

func subscribeMany(c *client, i int, deadline time.Time) error {
	s := &packets.Subscribe{PacketID: 1}
	for j := 0; j < filtersPerClient; j++ {
		s.Subscriptions = append(s.Subscriptions, packets.Subscription{Filter: fmt.Sprintf("conv/%d/%d", i, j)})
	}
	_ = c.conn.SetReadDeadline(deadline)
	defer c.conn.SetReadDeadline(time.Time{})
	if err := c.send(s, true); err != nil {
		return err
	}
	p, err := packets.ReadPacket(c.br, c.version, maxPacket)
	if err != nil {
		return fmt.Errorf("subscribe %d filters: %w (raise the time limit or lower BENCH_CLUSTER_SUBS)", filtersPerClient, err)
	}
	if sa, ok := p.(*packets.Suback); !ok || len(sa.ReasonCodes) != filtersPerClient || sa.ReasonCodes[0] > 2 {
		return fmt.Errorf("subscribe %d filters: refused: %T %+v", filtersPerClient, p, p)
	}
	return nil
}

// crossStepUp is stepUp with the publishers on node A and the subscriber on node B.
func crossStepUp(o opts, tB target, f flow) ([]stepResult, error) {
	sub := f
	sub.pubs = 0
	r, err := newRig(tB, sub, "this-s11-cross")
	if err != nil {
		return nil, err
	}
	defer r.close()
	if r.pubs, err = connectMany(o.t, "this-s11-cross-pub", f.pubs, 50, 10*time.Second); err != nil {
		return nil, err
	}
	r.f.pubs, r.inflight = f.pubs, make([]atomic.Int32, f.pubs)
	// Wait until A routes to B's subscriber: step-0 probes count in the sink until the first reset.
	payload := make([]byte, payloadSize)
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := r.tally(); n == 0; n, _ = r.tally() {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("node A did not route to B's subscriber within 30 s")
		}
		fill(payload, 0)
		if err := r.pubs[0].send(&packets.Publish{Topic: f.topic(0), Payload: payload}, true); err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	var out []stepResult
	for i, rate := range o.rates {
		s := r.runStep(uint32(i+1), rate, o.step, o.pid)
		o.logf("  this-s11-cross rate %d: delivered %.0f/s (%d/%d) p50 %v p99 %v broker(A) %.2f cores ok=%v",
			rate, s.Delivered, s.Received, s.Expected, s.P50, s.P99, s.BrokerCores, s.ok())
		out = append(out, s)
		if !s.ok() {
			break
		}
	}
	return out, nil
}
