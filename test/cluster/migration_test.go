package cluster_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// dial connects without failing the test: both halves of a double connect may lose.
func dial(addr, id string, clean bool, box *inbox) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second)
	if box != nil {
		o.SetDefaultPublishHandler(box.handler)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return c, fmt.Errorf("connect %s to %s: timed out", id, addr)
	}
	return c, tok.Error()
}

// sessionRows counts the rows of `vmq-admin session show` on n that name client id.
func sessionRows(t *testing.T, n *node, id string) int {
	t.Helper()
	out, err := vmqAdmin(t, n, "session", "show", "--node="+n.name, "--client_id", "--is_online") // this node only
	if err != nil {
		t.Fatalf("session show on %s: %v\n%s", n.name, err, out)
	}
	return len(regexp.MustCompile(`(?m)\b`+regexp.QuoteMeta(id)+`\b`).FindAllString(out, -1))
}

func TestClusterMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	n1 := startNode(t, "m1", "mig-cookie", "")
	n2 := startNode(t, "m2", "mig-cookie", n1.data)
	n3 := startNode(t, "m3", "mig-cookie", n1.data)
	nodes := []*node{n1, n2, n3}
	eventually.True(t, 20*time.Second, "three members on every node", func() bool {
		for _, n := range nodes {
			out, _ := vmqAdmin(t, n, "cluster", "show")
			if strings.Count(out, "true") != 3 {
				return false
			}
		}
		return true
	})

	// coordinate_registrations: two CONNECTs of one client id on two nodes at the same
	// moment end with exactly one connected client and one session in the cluster.
	t.Run("concurrent_connect", func(t *testing.T) {
		type pair struct {
			id   string
			a, b mqtt.Client
		}
		var pairs []pair
		for i := 0; i < 20; i++ {
			id := fmt.Sprintf("dup-%02d", i)
			clean := i%2 == 0 // both a clean and a persistent session each round
			var wg sync.WaitGroup
			var ca, cb mqtt.Client
			wg.Add(2)
			go func() { defer wg.Done(); ca, _ = dial(n1.mqtt, id, clean, nil) }()
			go func() { defer wg.Done(); cb, _ = dial(n2.mqtt, id, clean, nil) }()
			wg.Wait()
			t.Cleanup(func() { ca.Disconnect(0); cb.Disconnect(0) })
			pairs = append(pairs, pair{id, ca, cb})
		}
		for _, p := range pairs {
			eventually.True(t, 10*time.Second, "one connection of "+p.id, func() bool {
				return p.a.IsConnected() != p.b.IsConnected()
			})
		}
		// The sessions settle on the winner's node; session show of both nodes lists each once.
		for _, p := range pairs {
			eventually.True(t, 10*time.Second, p.id+" listed once on n1 and n2 together", func() bool {
				return sessionRows(t, n1, p.id)+sessionRows(t, n2, p.id) == 1
			})
			if p.a.IsConnected() == p.b.IsConnected() {
				t.Fatalf("%s: connected on n1 %v, on n2 %v; want exactly one", p.id, p.a.IsConnected(), p.b.IsConnected())
			}
		}
	})

	// A client moves from n1 to n2 while n3 publishes continuously: every QoS 1 message
	// n3 had acknowledged reaches the client, on the old or the new connection.
	t.Run("move_under_load", func(t *testing.T) {
		box := &inbox{}
		mover := connect(t, n1.mqtt, "roamer", false, box)
		subscribe(t, mover, "load/#", 1, box)
		pub := connect(t, n3.mqtt, "load-pub", true, nil)
		untilReceived(t, pub, "load/probe", box, "load/probe")

		var mu sync.Mutex
		var acked []string
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tok := pub.Publish("load/data", 1, false, fmt.Sprint(i))
				if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
					mu.Lock()
					acked = append(acked, fmt.Sprintf("load/data=%d", i))
					mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond) // load pacing, not synchronisation
			}
		}()
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
		eventually.True(t, 10*time.Second, "traffic before the move", func() bool { return count() >= 50 })
		back := &inbox{}
		connect(t, n2.mqtt, "roamer", false, back) // the load balancer sent it elsewhere
		before := count()
		eventually.True(t, 10*time.Second, "traffic after the move", func() bool { return count() >= before+100 })
		close(stop)
		<-done
		mu.Lock()
		want := slices.Clone(acked)
		mu.Unlock()
		missing := func() []string {
			got := map[string]bool{}
			for _, m := range append(box.with("load/data"), back.with("load/data")...) {
				got[m] = true
			}
			var out []string
			for _, w := range want {
				if !got[w] {
					out = append(out, w)
				}
			}
			return out
		}
		eventually.Within(15*time.Second, func() bool { return len(missing()) == 0 })
		if m := missing(); len(m) > 0 {
			t.Fatalf("%d of %d acknowledged messages never reached the client: %v", len(m), len(want), m[:min(len(m), 20)])
		}
		if len(back.with("load/data")) == 0 {
			t.Fatal("nothing reached the client on n2 after the move")
		}
	})

	// cluster leave node=n3 moves n3's offline persistent sessions to the others.
	t.Run("leave_moves_queues", func(t *testing.T) {
		box := &inbox{}
		c := connect(t, n3.mqtt, "stayer", false, box)
		subscribe(t, c, "leave/#", 1, box)
		helperBox := &inbox{} // subscribed after the stayer on n3: when it gets messages, so does the stayer
		h := connect(t, n3.mqtt, "leave-helper", true, helperBox)
		subscribe(t, h, "leave/#", 1, helperBox)
		pub := connect(t, n1.mqtt, "leave-pub", true, nil)
		untilReceived(t, pub, "leave/probe", helperBox, "leave/probe")
		c.Disconnect(100)
		var want []string
		for i := 0; i < 20; i++ {
			publish(t, pub, "leave/data", 1, false, fmt.Sprint(i))
			want = append(want, fmt.Sprintf("leave/data=%d", i))
		}
		eventually.True(t, 10*time.Second, "the helper on n3 to get every message", func() bool { return len(helperBox.with("leave/data")) >= 20 })
		if out, err := vmqAdmin(t, n1, "cluster", "leave", "node="+n3.name); err != nil {
			t.Fatalf("cluster leave: %v\n%s", err, out)
		}
		eventually.True(t, 20*time.Second, "n3 gone from cluster show", func() bool {
			out, _ := vmqAdmin(t, n1, "cluster", "show")
			return !strings.Contains(out, n3.name)
		})
		again := &inbox{}
		connect(t, n1.mqtt, "stayer", false, again)
		eventually.True(t, 10*time.Second, "the queued messages on n1", func() bool { return len(again.with("leave/data")) >= 20 })
		if got := again.with("leave/data"); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v in order", got, want)
		}
	})
}

// A node stopped with SIGTERM and started again with the same data dir and no
// discovery_node rejoins its cluster from the serf snapshot.
func TestRestartRejoins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	a := startNode(t, "r1", "rejoin", "")
	b := startNode(t, "r2", "rejoin", a.data)
	twoRunning := func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return strings.Contains(out, b.name) && strings.Count(out, "true") == 2
	}
	eventually.True(t, 20*time.Second, "a cluster of two", twoRunning)
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("r2 did not stop on SIGTERM")
	}
	conf := filepath.Join(b.dir, "vernemq.conf")
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "cluster.discovery_node") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(conf, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 20*time.Second, "r1 to see r2 down", func() bool { return !twoRunning() })
	b.start(t, conf)
	eventually.True(t, 20*time.Second, "r2 back in the cluster by itself", twoRunning)
	box := &inbox{}
	sub := connect(t, b.mqtt, "rejoin-sub", true, box)
	subscribe(t, sub, "rj/#", 1, box)
	pub := connect(t, a.mqtt, "rejoin-pub", true, nil)
	untilReceived(t, pub, "rj/x", box, "rj/x")
}
