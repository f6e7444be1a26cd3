package cluster_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// roamer is a client that, when its node goes away, reconnects to the next node of the
// list (as clients behind a load balancer do), keeping its persistent session.
type roamer struct {
	t     *testing.T
	id    string
	nodes []*node
	clean bool
	onMsg mqtt.MessageHandler

	mu   sync.Mutex
	c    mqtt.Client
	at   int // index in nodes of the current connection
	hops int
}

// dial connects to the first node from index from that accepts, within a deadline.
func (r *roamer) dial(from int) bool {
	i := 0
	return eventually.Within(30*time.Second, func() bool {
		at := (from + i) % len(r.nodes)
		i++
		o := mqtt.NewClientOptions().AddBroker("tcp://" + r.nodes[at].mqtt).SetClientID(r.id).SetCleanSession(r.clean).
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(3 * time.Second).
			SetKeepAlive(5 * time.Second).SetOrderMatters(false)
		if r.onMsg != nil {
			o.SetDefaultPublishHandler(r.onMsg)
		}
		c := mqtt.NewClient(o)
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			r.mu.Lock()
			r.c, r.at = c, at
			r.mu.Unlock()
			return true
		}
		return false
	})
}

func (r *roamer) client() (mqtt.Client, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c, r.at
}

// ensure reconnects elsewhere when the connection is gone.
func (r *roamer) ensure() bool {
	c, at := r.client()
	if c != nil && c.IsConnectionOpen() {
		return true
	}
	r.mu.Lock()
	r.hops++
	r.mu.Unlock()
	return r.dial(at + 1)
}

func (r *roamer) close() {
	if c, _ := r.client(); c != nil {
		c.Disconnect(100)
	}
}

// tally counts what each subscriber received.
type tally struct {
	mu   sync.Mutex
	seen map[string]int
}

func (t *tally) add(_ mqtt.Client, m mqtt.Message) {
	t.mu.Lock()
	t.seen[string(m.Payload())]++
	t.mu.Unlock()
}

// A rolling restart of a three-node cluster under continuous load: QoS 1 publishers and
// persistent QoS 1 subscribers on every node, each reconnecting to the next node when its
// own stops; every node in turn gets SIGTERM and is started again. Figures: CONNECTs
// refused on the healthy nodes (goal 0), acknowledged messages lost (goal 0), duplicates.
func TestRollingRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	underLoad(t, false)
}

// The same load with kill -9 of one node (started again once the others detected the
// crash): no CONNECT refused on the healthy nodes (the clients' sessions are not on the
// dead node), no acknowledged message lost for the subscribers whose sessions are on
// surviving nodes. While the split lasts, publishes are refused
// (allow_publish_during_netsplit off), so they are not acknowledged.
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	underLoad(t, true)
}

func underLoad(t *testing.T, crash bool) {
	grace := placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=30s"}}
	a := startNodeAt(t, "rollA", "roll-cookie", "", grace)
	b := startNodeAt(t, "rollB", "roll-cookie", a.data, grace)
	c := startNodeAt(t, "rollC", "roll-cookie", a.data, grace)
	nodes := []*node{a, b, c}
	clusterOf(t, nodes...)

	const subsN = 3
	var subs []*roamer
	var tallies []*tally
	for i := 0; i < subsN; i++ {
		tl := &tally{seen: map[string]int{}}
		r := &roamer{t: t, id: fmt.Sprintf("roll-sub-%d", i), nodes: nodes, onMsg: tl.add}
		if !r.dial(i) {
			t.Fatalf("subscriber %d cannot connect", i)
		}
		cl, _ := r.client()
		if tok := cl.Subscribe("roll/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		subs, tallies = append(subs, r), append(tallies, tl)
	}
	// Every subscriber gets a probe from every node: the tables have converged.
	for i, n := range nodes {
		p := connect(t, n.mqtt, fmt.Sprintf("roll-probe-%d", i), true, nil)
		eventually.True(t, 30*time.Second, "probes from "+n.name+" reaching every subscriber", func() bool {
			publish(t, p, "roll/probe", 1, false, "probe-"+n.name)
			for _, tl := range tallies {
				tl.mu.Lock()
				got := tl.seen["probe-"+n.name]
				tl.mu.Unlock()
				if got == 0 {
					return false
				}
			}
			return true
		})
		p.Disconnect(0)
	}

	// Publishers: one per node, QoS 1, paced; what was acknowledged must arrive.
	var (
		ackMu   sync.Mutex
		acked   []string
		notAck  int
		stopPub = make(chan struct{})
		pubWG   sync.WaitGroup
	)
	var pubs []*roamer
	for i := 0; i < len(nodes); i++ {
		r := &roamer{t: t, id: fmt.Sprintf("roll-pub-%d", i), nodes: nodes, clean: true}
		from := i
		if crash {
			// A node acknowledges a publish before its links forward it: what the crashed node
			// acknowledged but had not sent yet is lost (docs/clustering.md). Measured here is
			// what the survivors acknowledged.
			from = i % 2
		}
		if !r.dial(from) {
			t.Fatalf("publisher %d cannot connect", i)
		}
		pubs = append(pubs, r)
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			for seq := 0; seq < 20000; seq++ { // bound; the test stops them long before
				select {
				case <-stopPub:
					return
				default:
				}
				if !r.ensure() {
					return
				}
				cl, _ := r.client()
				payload := fmt.Sprintf("p%d-%d", i, seq)
				tok := cl.Publish("roll/data", 1, false, payload)
				ackMu.Lock()
				if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
					acked = append(acked, payload)
				} else {
					notAck++
				}
				ackMu.Unlock()
				time.Sleep(20 * time.Millisecond) // load pacing: about 50 msg/s per publisher
			}
		}()
	}
	subWG := sync.WaitGroup{}
	stopSub := make(chan struct{})
	for _, r := range subs {
		subWG.Add(1)
		go func() {
			defer subWG.Done()
			for {
				select {
				case <-stopSub:
					return
				case <-time.After(50 * time.Millisecond): // reconnect check period
				}
				r.ensure()
			}
		}()
	}

	refused, probed := 0, 0
	var slowest time.Duration
	started := time.Now()
	victims := []*node{c, b, a}
	if crash {
		victims = []*node{c}
	}
	for _, n := range victims {
		var healthy []*prober
		for _, m := range nodes {
			if m != n {
				healthy = append(healthy, startProber("roll-"+m.name, m.mqtt))
			}
		}
		if crash {
			n.kill9(t)
			eventually.True(t, 20*time.Second, "the others to detect the crash", func() bool {
				return a.logHas("cluster member unreachable", "node="+n.name) && b.logHas("cluster member unreachable", "node="+n.name)
			})
		} else {
			n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.exited:
			case <-time.After(40 * time.Second):
				t.Fatalf("%s did not stop", n.name)
			}
		}
		n.start(t, filepath.Join(n.dir, "vernemq.conf"))
		clusterOf(t, nodes...)
		for _, p := range healthy {
			p.end()
			ok, bad := p.counts()
			probed += ok + bad
			refused += bad
			if p.slowest > slowest {
				slowest = p.slowest
			}
			if bad > 0 {
				t.Logf("refused on %s: %v", p.addr, p.refused)
			}
		}
	}
	rollTook := time.Since(started)
	close(stopPub)
	pubWG.Wait()
	ackMu.Lock()
	want := append([]string(nil), acked...)
	unacked := notAck
	ackMu.Unlock()

	// With a crash, the subscriber whose session was on the dead node is reported apart.
	survivors := tallies
	if crash {
		survivors = tallies[:2]
	}
	lostOf := func(tls []*tally) int {
		n := 0
		for _, tl := range tls {
			tl.mu.Lock()
			for _, p := range want {
				if tl.seen[p] == 0 {
					n++
				}
			}
			tl.mu.Unlock()
		}
		return n
	}
	lost := func() int { return lostOf(tallies) }
	// Queued messages drain within ms of the last reconnects; what is still lost after the
	// bound is reported below.
	eventually.Within(10*time.Second, func() bool { return lostOf(survivors) == 0 })
	close(stopSub)
	subWG.Wait()
	dups, hops := 0, 0
	for i, tl := range tallies {
		tl.mu.Lock()
		for _, p := range want {
			if tl.seen[p] > 1 {
				dups += tl.seen[p] - 1
			}
		}
		tl.mu.Unlock()
		hops += subs[i].hops
	}
	for _, r := range append(subs, pubs...) {
		r.close()
	}
	missing, missingSurvivors := lost(), lostOf(survivors)
	what := "rolling restart of 3 nodes"
	if crash {
		what = "kill -9 of 1 node and its restart"
	}
	t.Logf("%s: subscribers on surviving nodes lost %d deliveries (all subscribers: %d)", what, missingSurvivors, missing)
	t.Logf("%s in %v: %d probe CONNECTs on healthy nodes, %d refused, slowest %v; "+
		"%d messages acknowledged (%d publishes not acknowledged), %d subscribers x %d = %d deliveries due: %d lost, %d duplicates; subscriber reconnects %d",
		what, rollTook.Round(time.Second), probed, refused, slowest.Round(time.Millisecond), len(want), unacked, subsN, len(want), subsN*len(want), missing, dups, hops)
	if refused > 0 {
		t.Errorf("%d CONNECTs refused on healthy nodes during the rolling restart", refused)
	}
	for i, tl := range tallies {
		tl.mu.Lock()
		var miss []string
		for _, p := range want {
			if tl.seen[p] == 0 {
				miss = append(miss, p)
			}
		}
		tl.mu.Unlock()
		if len(miss) > 0 {
			if len(miss) > 12 {
				miss = append(miss[:6], miss[len(miss)-6:]...)
			}
			t.Logf("subscriber %d (last on %s) misses %v", i, nodes[subs[i].at].name, miss)
		}
	}
	if missingSurvivors > 0 {
		t.Errorf("%d acknowledged deliveries to subscribers whose sessions were on running nodes lost", missingSurvivors)
	}
	if !crash && missing > 0 {
		t.Errorf("%d acknowledged deliveries lost in a rolling restart", missing)
	}
}
