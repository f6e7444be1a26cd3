package cluster_test

import (
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// afterCrashWindow is how long the probes go on after the kill: beyond serf's failure
// detection (about 5 s), when the whole cluster used to refuse CONNECTs.
const afterCrashWindow = 10 * time.Second

// kill -9 of one node stops only what needs that node: clients whose sessions live
// elsewhere (or nowhere) register at once on the others, also while serf reports the
// netsplit; a client whose session lived on the dead node is refused (server
// unavailable) while allow_register_during_netsplit is off, and gets a fresh session
// when it is on.
func TestCrashRefusesOnlyItsOwnSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	grace := placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=60s"}}
	a := startNodeAt(t, "crashA", "crash-cookie", "", grace)
	b := startNodeAt(t, "crashB", "crash-cookie", a.data, grace)
	c := startNodeAt(t, "crashC", "crash-cookie", a.data, grace)
	clusterOf(t, a, b, c)

	onC := connect(t, c.mqtt, "lived-on-c", false, nil)
	subscribe(t, onC, "crash/#", 1, &inbox{})
	onC.Disconnect(100)
	onA := connect(t, a.mqtt, "lived-on-a", false, nil)
	subscribe(t, onA, "crash/#", 1, &inbox{})
	onA.Disconnect(100)
	// Helpers subscribed after them: once both routes work, every table lists both sessions.
	hc, ha := &inbox{}, &inbox{}
	subscribe(t, connect(t, c.mqtt, "crash-helper-c", true, hc), "crash/#", 1, hc)
	subscribe(t, connect(t, a.mqtt, "crash-helper-a", true, ha), "crash/#", 1, ha)
	pub := connect(t, b.mqtt, "crash-pub", true, nil)
	untilReceived(t, pub, "crash/probe", hc, "crash/probe")
	untilReceived(t, pub, "crash/probe", ha, "crash/probe")
	pub.Disconnect(0)

	killed := time.Now()
	c.kill9(t)
	pa, pb := startProber("a", a.mqtt), startProber("b", b.mqtt)
	// Its session lived on a running node: moved to b at once.
	start := time.Now()
	connect(t, b.mqtt, "lived-on-a", false, nil)
	movedIn := time.Since(start)

	code := func(n *node, id string) byte {
		o := mqtt.NewClientOptions().AddBroker("tcp://" + n.mqtt).SetClientID(id).SetCleanSession(false).
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(8 * time.Second)
		cl := mqtt.NewClient(o)
		tok := cl.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			return 0xFF
		}
		defer cl.Disconnect(0)
		return tok.(*mqtt.ConnectToken).ReturnCode()
	}
	// Its session lived on the dead node: refused (3 = server unavailable), as soon as a's link to c is down.
	eventually.True(t, 5*time.Second, "a's data link to crashC down", func() bool { return a.logHas("cluster link down", "peer="+c.name) })
	if rc := code(a, "lived-on-c"); rc != 3 {
		t.Errorf("CONNECT of a client whose session is on the dead node: return code %d, want 3 (server unavailable)", rc)
	}
	time.Sleep(time.Until(killed.Add(afterCrashWindow))) // the negative check's window, see afterCrashWindow
	if !a.logHas("cluster member unreachable", "node="+c.name) {
		t.Errorf("serf on crashA did not detect the crash within %v", afterCrashWindow)
	}
	if rc := code(a, "lived-on-c"); rc != 3 {
		t.Errorf("CONNECT of a client whose session is on the dead node during the netsplit: return code %d, want 3", rc)
	}
	pa.end()
	pb.end()
	for _, p := range []*prober{pa, pb} {
		ok, refused := p.counts()
		t.Logf("after kill -9: probes on %s: %d accepted, %d refused, slowest %v; a session moved from a live node in %v",
			p.addr, ok, refused, p.slowest, movedIn)
		if refused > 0 {
			t.Errorf("%d CONNECTs of clients without a session on the dead node refused on %s: %v", refused, p.addr, p.refused)
		}
	}
	if out, err := vmqAdmin(t, b, "set", "allow_register_during_netsplit=on"); err != nil {
		t.Fatalf("set: %v %s", err, out)
	}
	if rc := code(b, "lived-on-c"); rc != 0 {
		t.Errorf("with allow_register_during_netsplit on: return code %d, want 0 (a fresh session)", rc)
	}
	if !strings.Contains(tail(readLog(a), 400), "refusing clients") {
		t.Errorf("crashA did not log the refusal")
	}
}
