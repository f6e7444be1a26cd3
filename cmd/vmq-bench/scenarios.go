package main

import (
	"fmt"
	"strconv"
)

// runScenarios runs the selected scenarios in order; a failing one yields a row saying why.
func runScenarios(o opts) []row {
	var rows []row
	add := func(r row) {
		r.Broker = o.broker
		rows = append(rows, r)
		o.logf("%s %s %s: %s", o.broker, r.ID, r.Scenario, cell(&r))
	}
	sensor := func(i int) string { return "sensor/" + strconv.Itoa(i) }
	paced := []struct {
		id, label string
		f         flow
		rates     []int
	}{
		{"1", fmt.Sprintf("fan-in QoS0 %d→1 (max msg/s, ≤1%% loss, p99 ≤100ms)", o.pubs),
			flow{pubs: o.pubs, subs: 1, qos: 0, filter: "sensor/#", topic: sensor}, o.rates},
		{"2", fmt.Sprintf("fan-in QoS1 %d→1", o.pubs),
			flow{pubs: o.pubs, subs: 1, qos: 1, filter: "sensor/#", topic: sensor}, o.rates},
		{"3", fmt.Sprintf("fan-in QoS1 %d→%d shared ($share/backend/sensor/#)", o.pubs, o.sharedSubs),
			flow{pubs: o.pubs, subs: o.sharedSubs, qos: 1, filter: "$share/backend/sensor/#", topic: sensor}, o.rates},
		{"4", fmt.Sprintf("fan-out QoS0 1→%d (delivered msg/s)", o.fanSubs),
			flow{pubs: 1, subs: o.fanSubs, qos: 0, filter: "bench/fanout", topic: func(int) string { return "bench/fanout" }, fanout: true}, o.fanRates},
	}
	for _, p := range paced {
		if !o.scenarios[p.id] {
			continue
		}
		steps, err := stepUp(o.t, p.f, o.broker+"-s"+p.id, p.rates, o.step, o.pid, o.logf)
		if err != nil {
			add(row{ID: p.id, Scenario: p.label, Failed: err.Error()})
			continue
		}
		b, ok := best(steps)
		r := row{ID: p.id, Scenario: p.label, Unit: "msg/s", BrokerCores: b.BrokerCores, GenCores: b.GenCores, Steps: stepsOf(steps)}
		if ok {
			r.Value = b.Delivered
			r.Detail = fmt.Sprintf("p99 %s, %.1f µs CPU/msg", fmtDur(b.P99), b.UsPerMsg)
		} else {
			r.Detail = fmt.Sprintf("no step passed; at %d/s got %.0f/s p99 %s", b.Rate, b.Delivered, fmtDur(b.P99))
		}
		add(r)
	}
	if o.scenarios["5"] {
		label := fmt.Sprintf("connect rate, %d clients %d at a time", o.conns, o.connsPar)
		add(connRow("5a", label+" (TCP)", o.t, o))
		if o.withTLS {
			add(connRow("5b", label+" (TLS)", o.tlsT, o))
		}
	}
	if o.scenarios["6"] {
		add(idleRow("6", fmt.Sprintf("RSS per idle connection, %d clients (lower is better)", o.idle), o.t, o))
	}
	if o.scenarios["6b"] {
		add(idleRow("6b", fmt.Sprintf("RSS per idle TLS connection, %d clients (lower is better)", o.idle), o.tlsT, o))
	}
	if o.scenarios["7"] {
		sensor := func(i int) string { return "sensor/" + strconv.Itoa(i) }
		for _, q := range []byte{0, 1} {
			id := "7a"
			if q == 1 {
				id = "7b"
			}
			label := fmt.Sprintf("overload QoS%d %d→1 unpaced %s (delivered msg/s)", q, o.pubs, o.overload)
			f := flow{pubs: o.pubs, subs: 1, qos: q, filter: "sensor/#", topic: sensor}
			res, err := overload(o.t, f, o.broker+"-s"+id, o.overload, o.pid)
			r := row{ID: id, Scenario: label, Value: res.Delivered, Unit: "msg/s", BrokerCores: res.BrokerCores, GenCores: res.GenCores}
			if err != nil {
				r.Failed = err.Error()
			} else {
				dropped := "n/a (no $SYS counter)"
				if res.Dropped >= 0 {
					dropped = strconv.FormatInt(res.Dropped, 10)
				}
				r.Detail = fmt.Sprintf("sent %s/s, dropped %s, peak RSS %.0f MiB", human(res.SentRate), dropped, float64(res.PeakRSSKiB)/1024)
			}
			add(r)
		}
	}
	if o.scenarios["8"] {
		label := fmt.Sprintf("offline enqueue: %d QoS1 publishers unpaced %s → %d offline persistent sessions (acked msg/s)", o.pubs, o.overload, o.offSubs)
		res, err := offlineEnqueue(o.t, o.broker+"-s8", o.offSubs, o.pubs, o.overload, o.pid)
		r := row{ID: "8", Scenario: label, Value: res.Rate, Unit: "msg/s", BrokerCores: res.BrokerCores, GenCores: res.GenCores}
		if err != nil {
			r.Failed = err.Error()
		} else {
			r.Detail = fmt.Sprintf("%d acked of %d sent, session 0 read back %d (≈%d expected), peak RSS %.0f MiB",
				res.Acked, res.Sent, res.Session0, res.Acked/int64(o.offSubs), float64(res.PeakRSSKiB)/1024)
		}
		add(r)
	}
	if o.scenarios["11"] {
		for _, r := range clusterRows(o) {
			add(r)
		}
	}
	if o.scenarios["10"] {
		for _, r := range authRows(o) {
			add(r)
		}
	}
	if o.scenarios["15"] {
		for _, r := range deliverRows(o) {
			add(r)
		}
	}
	return rows
}

// idleRow is scenario 6 (TCP) or 6b (TLS): RSS growth per idle client on a fresh broker.
func idleRow(id, label string, t target, o opts) row {
	if t.Addr == "" {
		return row{ID: id, Scenario: label, Failed: "no TLS address: pass -tls-addr and -ca"}
	}
	kib, used, note, err := idleMemory(t, o.idle, o.pid)
	r := row{ID: id, Scenario: label, Value: kib, Unit: "KiB/conn"}
	if err != nil {
		r.Failed = err.Error()
		return r
	}
	r.Detail = fmt.Sprintf("%d clients", used)
	if note != "" {
		r.Detail += "; " + note
	}
	return r
}

func connRow(id, label string, t target, o opts) row {
	rate, bc, gc, err := connRate(t, o.broker+"-c"+id, o.conns, o.connsPar, o.pid)
	r := row{ID: id, Scenario: label, Value: rate, Unit: "conn/s", BrokerCores: bc, GenCores: gc}
	if err != nil {
		r.Failed = err.Error()
	}
	return r
}
