package cluster_test

import (
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// netns is a network namespace joined to this one by a veth pair: host side hostIP, inside peerIP.
type netns struct {
	name, hostIF, hostIP, peerIP string
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates the namespace and its veth link; it is removed when the test ends.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatal("ip (iproute2) not installed")
		}
		t.Skip("ip (iproute2) not installed")
	}
	id := rand.Intn(200) + 20
	ns := &netns{name: fmt.Sprintf("vmqtest%d", id), hostIF: fmt.Sprintf("vmqh%d", id),
		hostIP: fmt.Sprintf("10.201.%d.1", id), peerIP: fmt.Sprintf("10.201.%d.2", id)}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatalf("ip netns add (needs root / CAP_NET_ADMIN): %v\n%s", err, out)
		}
		t.Skipf("cannot create a network namespace: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", ns.hostIF).Run()
		exec.Command("ip", "netns", "del", ns.name).Run()
	})
	peerIF := ns.hostIF + "p"
	run(t, "ip", "link", "add", ns.hostIF, "type", "veth", "peer", "name", peerIF)
	run(t, "ip", "link", "set", peerIF, "netns", ns.name)
	run(t, "ip", "addr", "add", ns.hostIP+"/24", "dev", ns.hostIF)
	run(t, "ip", "link", "set", ns.hostIF, "up")
	run(t, "ip", "netns", "exec", ns.name, "ip", "addr", "add", ns.peerIP+"/24", "dev", peerIF)
	run(t, "ip", "netns", "exec", ns.name, "ip", "link", "set", peerIF, "up")
	run(t, "ip", "netns", "exec", ns.name, "ip", "link", "set", "lo", "up")
	return ns
}

func (ns *netns) cut(t *testing.T)  { run(t, "ip", "link", "set", ns.hostIF, "down") }
func (ns *netns) heal(t *testing.T) { run(t, "ip", "link", "set", ns.hostIF, "up") }

// A real partition of the node-to-node traffic: node C runs in its own network namespace,
// its link is cut and restored. During the split A follows the netsplit switches (defaults
// off: subscriptions 0x80, registrations of sessions on C refused, 3.1.1 publishers disconnected); after healing,
// without any manual step, C routes to a subscription made on A during the split, and A to
// one on C, within the bound T = 30 s (serf re-contacts failed members every 5 s).
func TestNetworkPartitionHeals(t *testing.T) {
	ns := newNetns(t)
	a := startNodeAt(t, "partA", "cookie-p", "", placement{
		data: fmt.Sprintf("%s:%d", ns.hostIP, freePort(t, true))})
	b := startNodeAt(t, "partB", "cookie-p", a.data, placement{
		data: fmt.Sprintf("%s:%d", ns.hostIP, freePort(t, true))})
	c := startNodeAt(t, "partC", "cookie-p", a.data, placement{netns: ns.name,
		mqtt: ns.peerIP + ":1883", data: ns.peerIP + ":44053"})
	eventually.True(t, 20*time.Second, "three members running", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return strings.Count(out, "true") == 3
	})
	boxA, boxB, boxC := &inbox{}, &inbox{}, &inbox{}
	subA := connect(t, a.mqtt, "sub-a", true, boxA)
	subB := connect(t, b.mqtt, "sub-b", true, boxB)
	subC := connect(t, c.mqtt, "sub-c", true, boxC)
	pubA := connect(t, a.mqtt, "pub-a", true, nil)
	pubB := connect(t, b.mqtt, "pub-b", true, nil)
	subscribe(t, subB, "ab/#", 1, boxB)
	subscribe(t, subC, "to-c/#", 1, boxC)
	untilReceived(t, pubB, "to-c/x", boxC, "to-c/x")
	untilReceived(t, pubA, "ab/x", boxB, "ab/x")

	ns.cut(t)
	eventually.True(t, 30*time.Second, "A refusing subscriptions during the split", func() bool {
		return subackCode(subA, "during/#") == 0x80
	})
	// With the other switches at their defaults too, A refuses the registration of a client
	// whose session is on C (CONNACK 3), registers one that needs no unreachable node, and
	// disconnects a 3.1.1 publisher, as VerneMQ does.
	refused := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + a.mqtt).SetClientID("sub-c").
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4))
	if tok := refused.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		refused.Disconnect(0)
		t.Fatal("a client whose session is on C registered on A during the netsplit (allow_register_during_netsplit = off)")
	}
	connect(t, a.mqtt, "late", true, nil)
	pubA.Publish("ab/during", 1, false, "x").WaitTimeout(5 * time.Second)
	eventually.True(t, 10*time.Second, "the 3.1.1 publisher disconnected", func() bool { return !pubA.IsConnected() })

	ns.heal(t)
	healed := time.Now()
	eventually.True(t, 30*time.Second, "A accepting subscriptions again", func() bool {
		return subackCode(subA, "after/#") == 1
	})
	// C sees the split end a moment later than A; until then it refuses publishes (and
	// disconnects a 3.1.1 publisher).
	var pubC mqtt.Client
	eventually.True(t, 30*time.Second, "C accepting publishes again", func() bool {
		cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + c.mqtt).SetClientID("pub-c").
			SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4))
		if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			return false
		}
		if tok := cl.Publish("after/probe", 1, false, "p"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil || !cl.IsConnected() {
			cl.Disconnect(0)
			return false
		}
		pubC = cl
		return true
	})
	defer pubC.Disconnect(10)
	untilReceived(t, pubC, "after/x", boxA, "after/x")
	pubA = connect(t, a.mqtt, "pub-a2", true, nil)
	untilReceived(t, pubA, "ab/after", boxB, "ab/after")
	untilReceived(t, pubB, "to-c/y", boxC, "to-c/y")
	if d := time.Since(healed); d > 30*time.Second {
		t.Fatalf("converged %v after healing, more than the 30 s bound", d)
	} else {
		t.Logf("routing converged %v after the link came back", d.Round(time.Millisecond))
	}
}
