package cluster_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// gossipSettle bounds the negative checks below: a member that joined is gossiped to
// every node within a few gossip intervals (200 ms), far less than this.
const gossipSettle = 3 * time.Second

// A node acquires every local resource before it contacts its cluster: a node whose
// admin socket is taken fails to start without rejoining the members of its serf
// snapshot, so the others see no join, no dead member and no netsplit.
func TestFailedStartNeverJoins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	grace := placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=30s"}}
	a := startNodeAt(t, "failA", "fail-cookie", "", grace)
	b := startNodeAt(t, "failB", "fail-cookie", a.data, grace)
	c := startNodeAt(t, "failC", "fail-cookie", a.data, grace)
	clusterOf(t, a, b, c)
	// Stopped, c keeps its snapshot naming a and b (and its discovery_node): started again it would rejoin.
	c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.exited
	clusterOf(t, a, b)
	joined := a.logCount("cluster member joined", "node="+c.name)

	sock := filepath.Join(c.dir, "data", "vmq-admin.sock")
	os.Remove(sock)
	squat, err := net.Listen("unix", sock) // something else now holds c's admin socket
	if err != nil {
		t.Fatal(err)
	}
	defer squat.Close()
	c.spawn(t, filepath.Join(c.dir, "vernemq.conf"))
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("failC started although its admin socket is taken")
	}
	if code := c.cmd.ProcessState.ExitCode(); code == 0 {
		t.Fatalf("failC exited with 0 on a failed start")
	}
	if !c.logHas("node failed to start", "admin socket") {
		t.Fatalf("failC's log does not name the admin socket as the reason")
	}
	if c.logCount("cluster started") > 1 { // once in its first run
		t.Errorf("failC started its cluster side before failing")
	}
	// Negative check: a join by failC would be known to failA within gossipSettle.
	eventually.Never(t, gossipSettle, "failA seeing failC join during its failed start", func() bool {
		return a.logCount("cluster member joined", "node="+c.name) != joined
	})
	for _, n := range []*node{a, b} {
		if n.logHas("cluster member unreachable", "node="+c.name) {
			t.Errorf("%s saw failC fail: a failed start made a netsplit", n.name)
		}
		out, _ := vmqAdmin(t, n, "cluster", "show")
		if strings.Contains(out, c.name) {
			t.Errorf("cluster show on %s lists failC:\n%s", n.name, out)
		}
		connect(t, n.mqtt, "after-failed-start-"+n.name, true, nil) // accepted: no netsplit
	}
}
