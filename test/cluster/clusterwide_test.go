package cluster_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// vmq-admin sees the whole cluster as VerneMQ's does (issue 17): session show and
// session disconnect (and reauthorize) reach clients on other nodes, set/show --all act on every node,
// cluster join refuses this node and names an unreachable target once, listener show
// lists the clustering listener and listener stop explains why it cannot stop it, and
// a node that left lists itself in cluster show.
func TestAdminClusterWide(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	a := startNode(t, "wideA", "cookie-wide", "")
	b := startNode(t, "wideB", "cookie-wide", a.data)
	clusterOf(t, a, b)
	onB := connect(t, b.mqtt, "wide-on-b", false, nil)

	eventually.True(t, 20*time.Second, "session show on A (no --all) listing B's client", func() bool {
		rows, err := adminTable(t, a, "session", "show", "--client_id")
		return err == nil && slices0(rows, "client_id", "wide-on-b")
	})
	if rows, _ := adminTable(t, a, "session", "show", "--client_id"); len(rows) > 0 {
		if _, ok := rows[0]["node"]; ok {
			t.Errorf("session show without --all has a node column (VerneMQ's table has none): %v", rows)
		}
	}
	if out, err := vmqAdmin(t, a, "session", "reauthorize", "username=anyone", "client-id=wide-on-b"); err != nil || strings.TrimSpace(out) != "Unchanged" {
		t.Errorf("session reauthorize on A of a client on B: %v\n%s", err, out)
	}
	if out, err := vmqAdmin(t, a, "session", "disconnect", "batch", "count=0", "--node="+b.name); err != nil || strings.TrimSpace(out) != "Disconnected 0 of 0" {
		t.Errorf("session disconnect batch --node=B from A: %v\n%s", err, out)
	}
	if out, err := vmqAdmin(t, a, "session", "disconnect", "client-id=wide-on-b"); err != nil {
		t.Fatalf("session disconnect on A of a client on B: %v\n%s", err, out)
	}
	eventually.True(t, 10*time.Second, "B's client disconnected", func() bool { return !onB.IsConnected() })
	if out, err := vmqAdmin(t, a, "session", "disconnect", "client-id=nobody-anywhere"); err == nil || !strings.Contains(out, "on any node") {
		t.Errorf("session disconnect of an unknown client: want an error saying no node has it, got %v\n%s", err, out)
	}

	if out, err := vmqAdmin(t, a, "set", "max_offline_messages=7", "--all"); err != nil {
		t.Fatalf("set --all: %v\n%s", err, out)
	}
	rows, err := adminTable(t, a, "show", "max_offline_messages", "--all")
	if err != nil || len(rows) != 2 {
		t.Fatalf("show --all: want a row per node, got %v %v", err, rows)
	}
	for _, r := range rows {
		if r["max_offline_messages"] != "7" {
			t.Errorf("show --all: %s has max_offline_messages=%s, want 7", r["node"], r["max_offline_messages"])
		}
	}
	if out, err := vmqAdmin(t, a, "set", "max_offline_messages=many", "--all"); err == nil || !containsAll(out, a.name, b.name) {
		t.Errorf("set --all of a bad value: want an error naming both nodes, got %v\n%s", err, out)
	}

	if out, err := vmqAdmin(t, a, "cluster", "join", "discovery-node="+a.name); err == nil || !strings.Contains(out, "this node") {
		t.Errorf("cluster join of its own name: want a refusal, got %v\n%s", err, out)
	}
	if out, err := vmqAdmin(t, a, "cluster", "join", "discovery-node="+a.data); err == nil || !strings.Contains(out, "own address") {
		t.Errorf("cluster join of its own address: want a refusal, got %v\n%s", err, out)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t, true))
	out, err := vmqAdmin(t, a, "cluster", "join", "discovery-node="+dead)
	if err == nil || strings.Count(out, "refused") != 1 || !strings.Contains(out, dead) {
		t.Errorf("cluster join of an unreachable address: want one error naming %s and the cause once, got %v\n%s", dead, err, out)
	}
	t.Logf("cluster join of an unreachable address:\n%s", out)

	_, dataPort, _ := net.SplitHostPort(a.data)
	rows, err = adminTable(t, a, "listener", "show")
	if err != nil || !slicesFunc(rows, func(r map[string]string) bool {
		return r["type"] == "vmq" && r["port"] == dataPort && r["status"] == "running"
	}) {
		t.Errorf("listener show lacks the clustering listener on %s: %v %v", a.data, err, rows)
	}
	if out, err := vmqAdmin(t, a, "listener", "stop", "address=127.0.0.1", "port="+dataPort); err == nil || !strings.Contains(out, "cluster listener") {
		t.Errorf("listener stop of the clustering listener: want an explained refusal, got %v\n%s", err, out)
	}

	if out, err := vmqAdmin(t, b, "cluster", "leave", "node="+b.name); err != nil {
		t.Fatalf("cluster leave: %v\n%s", err, out)
	}
	eventually.True(t, 30*time.Second, "A without B", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return !strings.Contains(out, b.name)
	})
	if out, _ := vmqAdmin(t, b, "cluster", "show"); !strings.Contains(out, b.name) || strings.Contains(out, a.name) {
		t.Errorf("cluster show on the node that left: want only itself, got\n%s", out)
	}
}

func slices0(rows []map[string]string, key, value string) bool {
	return slicesFunc(rows, func(r map[string]string) bool { return r[key] == value })
}

func slicesFunc(rows []map[string]string, f func(map[string]string) bool) bool {
	for _, r := range rows {
		if f(r) {
			return true
		}
	}
	return false
}
