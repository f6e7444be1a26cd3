package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Scenario 13 (issue 19): many subscriptions, wildcards included, spread over persistent sessions
// (1,000,000 over 100,000 in the recorded run): every session iot-<n> subscribes once, at QoS 1
// (so that every match is queued while it is offline and can be checked), to the ten filters of
// subFilters. Like 12 it spans a restart: `subs` creates the sessions (13a RSS per subscription,
// 13b subscriptions per second), the script restarts the broker on the same data, and `subs-probe`
// times the port (13c), publishes a sample of topics (13e: start → all acked), reads RSS (13d) and
// then the queue of every session that should hold one of them and of others that should not:
// each must hold exactly the sample topics one of its filters matches (topicMatch decides).

const (
	subsPerSession = 10
	fleetSize      = 100 // fleet/<g>: devices g*100 .. g*100+99
	regions        = 100 // region/<r>: devices with n%100 == r, N/100 of them
)

// subFilters is device n's subscriptions: a realistic IoT mix of per-device filters (exact and
// wildcard), filters a whole fleet shares and one a whole region shares, which the subscription
// index must keep as one entry with many subscribers.
func subFilters(n int) []string {
	d, g, r := strconv.Itoa(n), strconv.Itoa(n/fleetSize), strconv.Itoa(n%regions)
	return []string{
		"dev/" + d + "/#",                    // everything addressed to the device
		"dev/" + d + "/+/cmd",                // commands to any of its components
		"dev/" + d + "/config",               // exact
		"dev/" + d + "/ota/firmware",         // exact
		"things/" + d + "/shadow/+/accepted", // device-shadow replies
		"things/" + d + "/shadow/+/rejected",
		"fleet/" + g + "/+/status", // status of the other devices of its fleet
		"fleet/" + g + "/broadcast",
		"region/" + r + "/alerts/#",  // alerts for its region
		"+/devices/" + d + "/events", // its events as any tenant's backend republishes them
	}
}

// markTopic is what subs-probe publishes to each checked session after the sample: the session's
// queue is read up to it (it matches two of the session's filters; the sample never uses it).
func markTopic(n int) string { return "dev/" + strconv.Itoa(n) + "/ota/firmware" }

// topicMatch is MQTT filter matching (no $-topics here), written apart from the broker's index
// so that the check does not trust the code it checks.
func topicMatch(filter, topic string) bool {
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) || f != "+" && f != ts[i] {
			return false
		}
	}
	return len(fs) == len(ts)
}

// subsCmd: vmq-bench subs -addr A -sessions N -timeout D -pid P -out F.
func subsCmd(args []string) error {
	fs := flag.NewFlagSet("subs", flag.ExitOnError)
	f := newOfflineFlags(fs, "persistent sessions iot-<n>, each with the 10 filters of scenario 13")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up creating sessions after this long (the row says how far it got)")
	_ = fs.Parse(args)
	subs := human(float64(*f.sessions * subsPerSession))
	label := fmt.Sprintf("%s subscriptions (10 per session, IoT mix with wildcards, QoS1) over %s persistent sessions", subs, human(float64(*f.sessions)))
	mem := row{Broker: *f.broker, ID: "13a", Unit: "B", Scenario: label + ": RSS per subscription (bytes, lower is better)"}
	rate := row{Broker: *f.broker, ID: "13b", Unit: "subs/s",
		Scenario: label + ", created (CONNECT, one SUBSCRIBE, DISCONNECT; 50 at a time): subscriptions/s"}
	return createSessions(f, &mem, &rate, subsPerSession, *timeout, "iot", subFilters)
}

// subsProbe is the sample subs-probe publishes and the sessions whose queues it reads.
type subsProbe struct {
	topics  []string
	checked []int // sessions to read, sorted
}

// newSubsProbe picks sample devices (the first, the last, the middle and a few fixed-seed random
// ones) and, for each, topics that its own filters match, topics that its fleet's and region's
// filters match, and near misses that no filter matches. The sessions checked are every session
// that can hold one of them (the samples, their fleets, the first two samples' regions) plus
// neighbours and random others that must hold none.
func newSubsProbe(n, samples, controls int) subsProbe {
	rng := rand.New(rand.NewPCG(13, uint64(n)))
	devs := []int{0, n - 1, n / 2}
	for len(devs) < samples {
		devs = append(devs, rng.IntN(n))
	}
	var p subsProbe
	seen := map[string]bool{}
	add := func(topics ...string) {
		for _, tp := range topics {
			if !seen[tp] {
				seen[tp] = true
				p.topics = append(p.topics, tp)
			}
		}
	}
	set := map[int]bool{}
	for k, dev := range devs {
		d, g, r := strconv.Itoa(dev), strconv.Itoa(dev/fleetSize), strconv.Itoa(dev%regions)
		add("dev/"+d+"/telemetry", "dev/"+d+"/valve/cmd", "dev/"+d+"/config",
			"things/"+d+"/shadow/update/accepted", "acme/devices/"+d+"/events",
			"things/"+d+"/shadow/update/delta", "acme/devices/"+d+"/events/raw", "devices/"+d+"/events", // match nothing
			"fleet/"+g+"/gw-7/status", "fleet/"+g+"/broadcast",
			"fleet/"+g+"/status") // matches nothing
		for m := dev / fleetSize * fleetSize; m < min(n, (dev/fleetSize+1)*fleetSize); m++ {
			set[m] = true
		}
		for _, m := range []int{dev - 1, dev, dev + 1} {
			if m >= 0 && m < n {
				set[m] = true
			}
		}
		if k < 2 {
			add("region/"+r+"/alerts/flood", "region/"+r+"/info") // the second matches nothing
			for m := dev % regions; m < n; m += regions {
				set[m] = true
			}
		}
	}
	for range controls {
		set[rng.IntN(n)] = true
	}
	for m := range set {
		p.checked = append(p.checked, m)
	}
	slices.Sort(p.checked)
	return p
}

// want is the sample topics session m must hold, in publish order.
func (p subsProbe) want(m int) []string {
	var out []string
	fs := subFilters(m)
	for _, tp := range p.topics {
		for _, f := range fs {
			if topicMatch(f, tp) {
				out = append(out, tp)
				break
			}
		}
	}
	return out
}

// subsProbeCmd: vmq-bench subs-probe -addr A -t0 NS -sessions N -pid P -out F, after a restart.
func subsProbeCmd(args []string) error {
	fs := flag.NewFlagSet("subs-probe", flag.ExitOnError)
	f := newOfflineFlags(fs, "sessions made by subs before the restart")
	t0 := fs.Int64("t0", 0, "Unix time in ns when the broker was started")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the port, the sample and the queues")
	samples := fs.Int("samples", 5, "sample devices (each gives 11 topics; the first two also their region)")
	controls := fs.Int("controls", 200, "random sessions checked besides those the sample reaches")
	_ = fs.Parse(args)
	if *t0 == 0 {
		return errors.New("subs-probe needs -t0 (date +%s%N when the broker was started)")
	}
	if *f.sessions < 1 {
		return errors.New("subs-probe needs -sessions")
	}
	start := time.Unix(0, *t0)
	subs := human(float64(*f.sessions * subsPerSession))
	acc := row{Broker: *f.broker, ID: "13c", Unit: "s",
		Scenario: fmt.Sprintf("restart with %s subscriptions: start → MQTT port accepts (s, lower is better)", subs)}
	mem := row{Broker: *f.broker, ID: "13d", Unit: "MiB",
		Scenario: fmt.Sprintf("restart with %s subscriptions: RSS once the sample below is queued (MiB, lower is better)", subs)}
	p := newSubsProbe(*f.sessions, *samples, *controls)
	route := row{Broker: *f.broker, ID: "13e", Unit: "s",
		Scenario: fmt.Sprintf("restart with %s subscriptions: start → %d sample publishes acked; then each checked session holds exactly those its filters match (s, lower is better)", subs, len(p.topics))}
	t := f.target()
	deadline := time.Now().Add(*wait)
	fail := func(err error, rows ...*row) error {
		for _, r := range rows {
			r.Failed = err.Error()
		}
		return emit(*f.out, acc, mem, route)
	}
	if err := waitPort(t.Addr, deadline); err != nil {
		return fail(err, &acc, &mem, &route)
	}
	acc.Value = time.Since(start).Seconds()
	if err := publishAll(t, p.topics, deadline); err != nil {
		return fail(err, &mem, &route)
	}
	route.Value = time.Since(start).Seconds()
	mem.Value = float64(rssKiB(*f.pid)) / 1024
	mem.Detail = strings.TrimPrefix(rssBefore(*f.out, *f.broker, "13a"), "; ")
	marks := make([]string, len(p.checked))
	for i, m := range p.checked {
		marks[i] = markTopic(m)
	}
	if err := publishAll(t, marks, deadline); err != nil {
		return fail(fmt.Errorf("marks: %w", err), &route)
	}
	wrong, reordered, copies, err := checkQueues(t, p, deadline)
	switch {
	case err != nil:
		route.Failed = err.Error()
	case len(wrong) > 0:
		route.Failed = fmt.Sprintf("routing wrong in %d of %d sessions checked: %s", len(wrong), len(p.checked), strings.Join(wrong[:min(3, len(wrong))], "; "))
	default:
		route.Detail = fmt.Sprintf("%d sessions checked, all exact (%d in another order than published); copies of one publish where filters overlap: %d", len(p.checked), reordered, copies)
	}
	return emit(*f.out, acc, mem, route)
}

// checkQueues reconnects every checked session, 50 at a time, reads its queue up to its mark and
// compares the sample topics it held with want. It returns one line per wrong session, how many
// held the right ones in another order than published, and the most copies of one publish a
// session got (where filters overlap: 1 or 2, the broker's choice).
func checkQueues(t target, p subsProbe, deadline time.Time) (wrong []string, reordered, copies int, err error) {
	var mu sync.Mutex
	_, err = forEach(len(p.checked), 50, deadline, "13 check", func(i int) error {
		m := p.checked[i]
		got, most, err := readToMark(t, m, deadline)
		if err != nil {
			return err
		}
		want := p.want(m)
		mu.Lock()
		defer mu.Unlock()
		copies = max(copies, most)
		if slices.Equal(got, want) {
			return nil
		}
		sorted, sortedWant := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if slices.Equal(sorted, sortedWant) {
			reordered++
			return nil
		}
		wrong = append(wrong, fmt.Sprintf("iot-%d held %v, want %v", m, got, want))
		return nil
	})
	return wrong, reordered, copies, err
}

// readToMark reconnects session iot-<m> and reads its queue until its mark arrives. It returns the
// distinct topics before the mark in arrival order and the most copies of one of them.
func readToMark(t target, m int, deadline time.Time) (topics []string, most int, err error) {
	id := "iot-" + strconv.Itoa(m)
	c, err := dialConnect(t, persistentConnect(t, id), 10*time.Second)
	if err != nil {
		return nil, 0, fmt.Errorf("reconnect %s: %w", id, err)
	}
	defer c.close()
	_ = c.conn.SetReadDeadline(deadline)
	mark, count := markTopic(m), map[string]int{}
	for {
		pk, err := packets.ReadPacket(c.br, c.version, maxPacket)
		if err != nil {
			return nil, 0, fmt.Errorf("read %s's queue up to its mark: %w", id, err)
		}
		pub, ok := pk.(*packets.Publish)
		if !ok {
			continue
		}
		if pub.QoS == 1 {
			if err := c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID}, true); err != nil {
				return nil, 0, fmt.Errorf("ack %s's queue: %w", id, err)
			}
		}
		if pub.Topic == mark {
			return topics, most, nil
		}
		if count[pub.Topic] == 0 {
			topics = append(topics, pub.Topic)
		}
		count[pub.Topic]++
		most = max(most, count[pub.Topic])
	}
}
