package cluster_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// prober connects and disconnects clean clients to one node in a loop and counts
// the CONNECTs refused (any CONNACK other than accepted, or no CONNACK in 5 s).
type prober struct {
	addr string
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	ok       int
	refused  []string // first few reasons
	nRefused int
	slowest  time.Duration
}

// maxProbes bounds one prober's loop (about 20 connects a second; a test runs it well under a minute).
const maxProbes = 3000

func startProber(name, addr string) *prober {
	p := &prober{addr: addr, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; i < maxProbes; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("probe-%s-%d", name, i)).
				SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
			c := mqtt.NewClient(o)
			start := time.Now()
			tok := c.Connect()
			waited := tok.WaitTimeout(6 * time.Second)
			took := time.Since(start)
			p.mu.Lock()
			if took > p.slowest {
				p.slowest = took
			}
			if !waited || tok.Error() != nil {
				p.nRefused++
				if len(p.refused) < 5 {
					p.refused = append(p.refused, fmt.Sprintf("%s after %v: %v", time.Now().Format("15:04:05.000"), took, tok.Error()))
				}
			} else {
				p.ok++
			}
			p.mu.Unlock()
			c.Disconnect(0)
			time.Sleep(50 * time.Millisecond) // pacing of the load, not synchronisation
		}
	}()
	return p
}

func (p *prober) counts() (ok, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok, p.nRefused
}

func (p *prober) end() {
	close(p.stop)
	<-p.done
}

// clusterOf waits until every node's cluster show lists all of them running.
func clusterOf(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		eventually.True(t, 30*time.Second, n.name+" seeing all members running", func() bool {
			out, err := vmqAdmin(t, n, "cluster", "show")
			if err != nil {
				return false
			}
			for _, m := range nodes {
				if !strings.Contains(out, m.name) {
					return false
				}
			}
			return strings.Count(out, "true") == len(nodes)
		})
	}
}

// afterStopWindow is how long the probes go on after the stopped node's process has
// exited: memberlist marks a silent member failed within about 5 s (probe interval 1 s,
// suspicion timeout 4 s for three nodes), and that is when a graceful stop mistaken
// for a netsplit made the others refuse (for the whole 30 s grace period).
const afterStopWindow = 10 * time.Second

// A graceful stop (SIGTERM) of one node is not a netsplit: the node leaves the gossip
// before it closes its links, and the other two accept every CONNECT throughout, with
// the default grace period of 30 s (issue 17: 113 of 132 probe connects were refused).
// Started again, it rejoins, and the probes still see no refusal.
func TestGracefulStopIsNotANetsplit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	grace := placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=30s"}}
	a := startNodeAt(t, "stopA", "stop-cookie", "", grace)
	b := startNodeAt(t, "stopB", "stop-cookie", a.data, grace)
	c := startNodeAt(t, "stopC", "stop-cookie", a.data, grace)
	clusterOf(t, a, b, c)

	pa, pb := startProber("a", a.mqtt), startProber("b", b.mqtt)
	eventually.True(t, 20*time.Second, "probes connecting on both healthy nodes", func() bool {
		oa, _ := pa.counts()
		ob, _ := pb.counts()
		return oa >= 5 && ob >= 5
	})
	start := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(40 * time.Second):
		t.Fatal("stopC did not stop on SIGTERM")
	}
	stopTook := time.Since(start)
	// The negative check ("no refusal") runs for afterStopWindow after the exit; see its bound above.
	time.Sleep(time.Until(start.Add(stopTook + afterStopWindow)))
	// Started again (the second half of a rolling restart), it rejoins and the probes go on.
	c.start(t, filepath.Join(c.dir, "vernemq.conf"))
	clusterOf(t, a, b, c)
	pa.end()
	pb.end()
	for _, p := range []*prober{pa, pb} {
		ok, refused := p.counts()
		t.Logf("probes on %s: %d accepted, %d refused, slowest %v (stop took %v)", p.addr, ok, refused, p.slowest, stopTook)
		if refused > 0 {
			t.Errorf("%d CONNECTs refused on healthy node %s: %v", refused, p.addr, p.refused)
		}
	}
	if !a.logHas("cluster member left", "node="+c.name) || !b.logHas("cluster member left", "node="+c.name) {
		t.Errorf("the others did not log that %s left", c.name)
	}
	for _, n := range []*node{a, b} {
		if n.logHas("cluster member unreachable", "node="+c.name) {
			t.Errorf("%s took the graceful stop of %s for a netsplit", n.name, c.name)
		}
	}
}

// A graceful stop hands the persistent sessions with their queued messages to the
// remaining nodes (committed there before they are acknowledged): a client that
// reconnects to another node gets every message queued for it while it was away
// (issue 17: 0 of 20 arrived before).
func TestGracefulStopHandsOverSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	grace := placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=30s"}}
	a := startNodeAt(t, "handA", "hand-cookie", "", grace)
	b := startNodeAt(t, "handB", "hand-cookie", a.data, grace)
	c := startNodeAt(t, "handC", "hand-cookie", a.data, grace)
	clusterOf(t, a, b, c)

	const clients, msgs = 3, 20
	for i := 0; i < clients; i++ {
		p := connect(t, c.mqtt, fmt.Sprintf("away-%d", i), false, nil)
		subscribe(t, p, "hand/#", 1, &inbox{})
		p.Disconnect(100)
	}
	// A clean helper subscribed after them: once a routes to it, a knows their subscriptions too.
	hbox := &inbox{}
	helper := connect(t, c.mqtt, "hand-helper", true, hbox)
	subscribe(t, helper, "hand/#", 1, hbox)
	pub := connect(t, a.mqtt, "hand-pub", true, nil)
	untilReceived(t, pub, "hand/probe", hbox, "hand/probe")
	for i := 0; i < msgs; i++ {
		publish(t, pub, "hand/data", 1, false, fmt.Sprint(i))
	}
	// The helper's copies travel in the same frames as the queued ones: when it has all, c queued all.
	eventually.True(t, 10*time.Second, "the helper on c to get every message", func() bool { return len(hbox.with("hand/data")) >= msgs })

	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(40 * time.Second):
		t.Fatal("handC did not stop on SIGTERM")
	}
	if !c.logHas("sessions handed to the remaining nodes", fmt.Sprintf("moved=%d", clients), "not_moved=0") {
		t.Errorf("handC did not log that it moved its %d sessions", clients)
	}
	lost, dups := 0, 0
	for i := 0; i < clients; i++ {
		box := &inbox{}
		to := []*node{a, b}[i%2] // wherever the load balancer sends it, not necessarily the node that took the session
		connect(t, to.mqtt, fmt.Sprintf("away-%d", i), false, box)
		eventually.True(t, 10*time.Second, fmt.Sprintf("away-%d to get its %d queued messages on %s", i, msgs, to.name), func() bool {
			return len(box.with("hand/data")) >= msgs
		})
		got := box.with("hand/data")
		seen := map[string]bool{}
		for _, m := range got {
			if seen[m] {
				dups++
			}
			seen[m] = true
		}
		for j := 0; j < msgs; j++ {
			if !seen[fmt.Sprintf("hand/data=%d", j)] {
				lost++
			}
		}
	}
	t.Logf("%d clients x %d queued QoS 1 messages after a graceful stop: %d lost, %d duplicates", clients, msgs, lost, dups)
	if lost > 0 {
		t.Fatalf("%d queued messages lost", lost)
	}
}
