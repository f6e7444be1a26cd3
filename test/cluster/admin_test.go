package cluster_test

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vmqAdmin runs the built vmq-admin against a node's conf (its admin socket).
func vmqAdmin(t *testing.T, n *node, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(filepath.Dir(vernemqBin(t)), "vmq-admin")
	if _, err := os.Stat(bin); err != nil {
		out := filepath.Join(t.TempDir(), "vmq-admin")
		if b, err := exec.Command("go", "build", "-o", out, "../../cmd/vmq-admin").CombinedOutput(); err != nil {
			t.Fatalf("build vmq-admin: %v\n%s", err, b)
		}
		bin = out
	}
	cmd := exec.Command(bin, append([]string{"-c", filepath.Join(n.dir, "vernemq.conf")}, args...)...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// Operators join and leave with vmq-admin, as in VerneMQ, and cluster show lists the members.
func TestVmqAdminClusterJoinLeave(t *testing.T) {
	a := startNode(t, "adminA", "cookie-1", "")
	b := startNode(t, "adminB", "cookie-1", "")
	out, err := vmqAdmin(t, b, "cluster", "join", "discovery-node="+a.data)
	if err != nil {
		t.Fatalf("cluster join: %v\n%s", err, out)
	}
	eventually.True(t, 15*time.Second, "both nodes in cluster show", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return strings.Contains(out, a.name) && strings.Contains(out, b.name) && strings.Count(out, "true") == 2
	})
	out, err = vmqAdmin(t, a, "cluster", "leave", "node="+b.name)
	if err != nil {
		t.Fatalf("cluster leave: %v\n%s", err, out)
	}
	eventually.True(t, 15*time.Second, "the leaving node gone from cluster show", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return !strings.Contains(out, b.name)
	})

	// Unlike a node that was stopped, a node that left does not rejoin its snapshot's members when started again.
	b.cmd.Process.Signal(syscall.SIGTERM)
	<-b.exited
	b.start(t, filepath.Join(b.dir, "vernemq.conf"))
	eventually.True(t, 10*time.Second, b.name+" starting as a node that left", func() bool {
		return b.logHas("not rejoining the members of its snapshot")
	})
	if out, _ := vmqAdmin(t, a, "cluster", "show"); strings.Contains(out, b.name) {
		t.Fatalf("%s is back in cluster show after a restart:\n%s", b.name, out)
	}
}
