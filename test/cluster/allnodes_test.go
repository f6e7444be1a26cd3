package cluster_test

import (
	"encoding/json"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"slices"
	"strings"
	"testing"
	"time"
)

// adminTable runs a table command with --format=json and returns its rows.
func adminTable(t *testing.T, n *node, args ...string) ([]map[string]string, error) {
	t.Helper()
	out, err := vmqAdmin(t, n, append(args, "--format=json")...)
	if err != nil {
		return nil, err
	}
	var res struct {
		Type  string              `json:"type"`
		Table []map[string]string `json:"table"`
		Error string              `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Type != "table" {
		t.Fatalf("vmq-admin %s: not a table (%v): %s", strings.Join(args, " "), err, out)
	}
	return res.Table, nil
}

// clientsByNode maps client_id to the node column of a gathered session show.
func clientsByNode(rows []map[string]string) map[string]string {
	m := map[string]string{}
	for _, r := range rows {
		m[r["client_id"]] = r["node"]
	}
	return m
}

// session show, metrics show, listener show, node status, log show config, log level and metrics
// reset take VerneMQ's --all and --node=.
func TestAdminAllNodes(t *testing.T) {
	a := startNode(t, "allA", "cookie-all", "")
	b := startNode(t, "allB", "cookie-all", a.data)
	connect(t, a.mqtt, "client-on-a", true, nil)
	connect(t, b.mqtt, "client-on-b", true, nil)

	var rows []map[string]string
	eventually.True(t, 20*time.Second, "session show --all on A listing both clients", func() bool {
		var err error
		rows, err = adminTable(t, a, "session", "show", "--all")
		got := clientsByNode(rows)
		return err == nil && got["client-on-a"] == a.name && got["client-on-b"] == b.name
	})
	if len(rows) != 2 {
		t.Fatalf("session show --all: want 2 rows, got %v", rows)
	}
	human, _ := vmqAdmin(t, a, "session", "show", "--all")
	t.Logf("session show --all on %s:\n%s", a.name, human)

	rows, err := adminTable(t, a, "session", "show", "--node="+b.name, "--client_id")
	if err != nil {
		t.Fatalf("session show --node: %v", err)
	}
	if len(rows) != 1 || rows[0]["client_id"] != "client-on-b" {
		t.Fatalf("session show --node=%s on A: want only client-on-b, got %v", b.name, rows)
	}
	// Filters travel with the request: B's client filtered out leaves only A's.
	rows, err = adminTable(t, b, "session", "show", "--all", "--client_id=client-on-a")
	if err != nil || len(rows) != 1 || rows[0]["node"] != a.name {
		t.Fatalf("session show --all --client_id=client-on-a on B: %v %v", err, rows)
	}

	out, err := vmqAdmin(t, a, "metrics", "show", "--all")
	if err != nil {
		t.Fatalf("metrics show --all: %v\n%s", err, out)
	}
	for _, want := range []string{"# node " + a.name, "# node " + b.name, "gauge.cluster_link_up = 1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("metrics show --all lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "counter.mqtt_connect_received"); n != 2 {
		t.Fatalf("metrics show --all: want mqtt_connect_received from 2 nodes, got %d:\n%s", n, out)
	}
	out, err = vmqAdmin(t, a, "metrics", "show", "--peer="+b.name)
	if err != nil || !strings.Contains(out, "gauge.cluster_link_up = 1") {
		t.Fatalf("metrics show --peer=%s: cluster_link_up not 1: %v\n%s", b.name, err, out)
	}

	rows, err = adminTable(t, a, "node", "status", "--all")
	if err != nil {
		t.Fatalf("node status --all: %v", err)
	}
	var names []string
	for _, r := range rows {
		if r["Status"] == "nodename" {
			names = append(names, r["node"]+"="+r["Value"])
		}
	}
	slices.Sort(names)
	if want := []string{a.name + "=" + a.name, b.name + "=" + b.name}; !slices.Equal(names, want) {
		t.Fatalf("node status --all nodenames: want %v, got %v", want, names)
	}
	rows, err = adminTable(t, a, "listener", "show", "--node="+b.name)
	if err != nil || !slices.ContainsFunc(rows, func(r map[string]string) bool { return r["address"]+":"+r["port"] == b.mqtt }) {
		t.Fatalf("listener show --node=%s lacks %s: %v %v", b.name, b.mqtt, err, rows)
	}

	// log level and metrics reset change the node --node= names, or every node with --all, as set does.
	if out, err := vmqAdmin(t, a, "log", "level", "logger=console", "level=info", "--node="+b.name); err != nil || strings.TrimSpace(out) != "Done" {
		t.Fatalf("log level --node=%s: %v\n%s", b.name, err, out)
	}
	rows, err = adminTable(t, a, "log", "show", "config", "--all")
	levels := map[string]string{}
	for _, r := range rows {
		if r["logger"] == "console" {
			levels[r["node"]] = r["level"]
		}
	}
	if levels[a.name] != "debug" || levels[b.name] != "info" || len(levels) != 2 {
		t.Fatalf("log show config --all: console levels %v (%v), want %s debug and %s info", levels, err, a.name, b.name)
	}
	if out, err := vmqAdmin(t, a, "metrics", "reset", "--all"); err != nil || strings.TrimSpace(out) != "Done" {
		t.Fatalf("metrics reset --all: %v\n%s", err, out)
	}
	out, _ = vmqAdmin(t, a, "metrics", "show", "--all")
	if n := strings.Count(out, "counter.mqtt_connect_received = 0\n"); n != 2 {
		t.Fatalf("metrics show --all after metrics reset --all: want mqtt_connect_received = 0 on 2 nodes, got %d:\n%s", n, out)
	}

	// A node that is not running is an error, not a hang.
	out, err = vmqAdmin(t, a, "session", "show", "--node=nobody@127.0.0.1")
	if err == nil || !strings.Contains(out, "nobody@127.0.0.1") {
		t.Fatalf("session show --node=nobody: want an error naming the node, got %v\n%s", err, out)
	}
}
