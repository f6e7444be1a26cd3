package node

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// logShows reports whether the log file holds a line with all of parts.
func logShows(t *testing.T, file string, parts ...string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(strings.Split(string(b), "\n"), func(line string) bool {
		return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) })
	})
}

// logConfig is the log show config table as logger -> [level, type, file].
func logConfig(t *testing.T, n *Node) map[string][]string {
	t.Helper()
	res := adminCall(t, n, "log show config")
	if res.Type != "table" || strings.Join(res.Headers, ",") != "logger,level,type,file" {
		t.Fatalf("log show config: %+v", res)
	}
	out := map[string][]string{}
	for _, r := range res.Rows {
		out[r[0]] = r[1:]
	}
	return out
}

// vmq-admin log level changes one output's level at run time: a debug line appears in
// the console log file only after level=debug; log show config follows, bad loggers
// and levels are errors that list what is allowed, and set log.console.level still works.
func TestLogLevelAtRuntime(t *testing.T) {
	dir := t.TempDir()
	consoleLog, errorLog := filepath.Join(dir, "console.log"), filepath.Join(dir, "error.log")
	n, _ := startNodeIn(t, dir, "log.console = file", "log.console.file = "+consoleLog,
		"log.error = on", "log.error.file = "+errorLog, "listener.http.default = 127.0.0.1:0")
	addr := n.ListenerAddr("tcp")

	cfg := logConfig(t, n)
	if got := strings.Join(cfg["consolefile"], "|"); got != "info|file|"+consoleLog {
		t.Fatalf("consolefile row = %q, want info|file|%s", got, consoleLog)
	}
	if got := strings.Join(cfg["default"], "|"); got != "warning|file|"+errorLog {
		t.Fatalf("default (error log) row = %q, want warning|file|%s", got, errorLog)
	}
	if len(cfg) != 2 {
		t.Fatalf("log show config lists %v, want default and consolefile only", cfg)
	}

	// "client connected" is a debug line. The SUBSCRIBE round trip proves the connection's
	// reader finished its CONNECT (and its log line) before the level changes.
	before := v3(t, addr, "before", true)
	defer before.Disconnect(0)
	if tok := before.Subscribe("a", 0, nil); !tok.WaitTimeout(eventually.Wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if logShows(t, consoleLog, "client connected", "client_id=before") {
		t.Fatal("debug line written at level info")
	}

	if res := adminCall(t, n, "log level logger=consolefile level=debug"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("log level: %+v", res)
	}
	if got := logConfig(t, n)["consolefile"][0]; got != "debug" {
		t.Fatalf("consolefile level after log level = %q, want debug", got)
	}
	if !logShows(t, consoleLog, "log level changed", "logger=consolefile", "level=debug") {
		t.Fatal("the level change is not in the console log")
	}
	after := v3(t, addr, "after", true)
	defer after.Disconnect(0)
	eventually.True(t, eventually.Wait, "debug line of client after", func() bool {
		return logShows(t, consoleLog, "client connected", "client_id=after")
	})
	if logShows(t, consoleLog, "client connected", "client_id=before") {
		t.Fatal("debug line of the connection before the change appeared")
	}

	for _, c := range []struct{ line, want string }{
		{"log level logger=console level=debug", `unknown logger "console"; this node's loggers are default, consolefile`},
		{"log level logger=consolefile level=verbose", `unknown level "verbose"; use one of none, debug, info, notice, warning, error, critical, alert, emergency, all`},
		{"log level logger=consolefile", "log level needs level=<value>"},
	} {
		if res := adminCall(t, n, c.line); res.Type != "error" || !strings.Contains(res.Error, c.want) {
			t.Errorf("%s: %+v, want an error with %q", c.line, res, c.want)
		}
	}

	// notice acts as info; set log.console.level sets the console outputs again, not the error log.
	adminCall(t, n, "log level logger=default level=critical")
	adminCall(t, n, "log level logger=consolefile level=notice")
	if cfg := logConfig(t, n); cfg["consolefile"][0] != "info" || cfg["default"][0] != "error" {
		t.Fatalf("after notice/critical: %v, want consolefile info and default error", cfg)
	}
	if res := adminCall(t, n, "set log.console.level=warning"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	if cfg := logConfig(t, n); cfg["consolefile"][0] != "warning" || cfg["default"][0] != "error" {
		t.Fatalf("after set log.console.level=warning: %v, want consolefile warning and default error", cfg)
	}

	// The HTTP API serves the same commands.
	web := row(adminCall(t, n, "listener show"), "type", "http")
	key := adminCall(t, n, "api-key create").Text
	code, body := httpGet(t, "http://127.0.0.1:"+web[3]+"/api/v1/log/show/config", key)
	if code != 200 || !strings.Contains(body, `"consolefile"`) || !strings.Contains(body, `"warning"`) {
		t.Fatalf("/api/v1/log/show/config %d %s", code, body)
	}
}

// metricsShow reads one metric from vmq-admin metrics show (labels summed, as it prints them).
func metricsShow(t *testing.T, n *Node, kind, name string) float64 {
	t.Helper()
	res := adminCall(t, n, "metrics show")
	m := regexp.MustCompile(`(?m)^` + kind + `\.` + name + ` = (\S+)$`).FindStringSubmatch(res.Text)
	if m == nil {
		t.Fatalf("metrics show has no %s.%s:\n%.1000s", kind, name, res.Text)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// vmq-admin metrics reset sets the counters to zero and they count on; gauges of live
// state (connections, sessions) keep their values, and Prometheus reads the zero.
func TestMetricsReset(t *testing.T) {
	n, addr := startNode(t, "listener.http.default = 127.0.0.1:0")
	for _, id := range []string{"r1", "r2"} {
		c := v3(t, addr, id, true)
		defer c.Disconnect(0)
		if tok := c.Publish("t", 1, false, "x"); !tok.WaitTimeout(eventually.Wait) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	if v := metricsShow(t, n, "counter", "mqtt_connect_received"); v != 2 {
		t.Fatalf("mqtt_connect_received = %v, want 2", v)
	}
	if v := metricsShow(t, n, "counter", "mqtt_publish_received"); v != 2 {
		t.Fatalf("mqtt_publish_received = %v, want 2", v)
	}
	gauges := func() []float64 {
		return []float64{metricsShow(t, n, "gauge", "active_mqtt_connections"), metricsShow(t, n, "gauge", "queue_processes")}
	}
	if g := gauges(); g[0] != 2 || g[1] != 2 {
		t.Fatalf("active_mqtt_connections, queue_processes = %v, want 2, 2", g)
	}

	if res := adminCall(t, n, "metrics reset"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("metrics reset: %+v", res)
	}
	for _, name := range []string{"mqtt_connect_received", "mqtt_publish_received", "mqtt_connack_accepted_sent", "bytes_received"} {
		if v := metricsShow(t, n, "counter", name); v != 0 {
			t.Errorf("%s = %v after reset, want 0", name, v)
		}
	}
	if g := gauges(); g[0] != 2 || g[1] != 2 {
		t.Fatalf("gauges after reset = %v, want 2, 2 (live state is not reset)", g)
	}
	if v := metricsShow(t, n, "counter", "system_wallclock"); v == 0 {
		t.Fatal("system_wallclock (read from the clock) was reset")
	}
	web := row(adminCall(t, n, "listener show"), "type", "http")
	code, body := httpGet(t, "http://127.0.0.1:"+web[3]+"/metrics", "")
	if code != 200 || !strings.Contains(body, `vernemq_mqtt_connect_received{mqtt_version="4",node="VerneMQ@127.0.0.1"} 0`) {
		t.Fatalf("/metrics %d after reset:\n%.2000s", code, body)
	}

	// Counting goes on from zero.
	c := v3(t, addr, "r3", true)
	defer c.Disconnect(0)
	if v := metricsShow(t, n, "counter", "mqtt_connect_received"); v != 1 {
		t.Fatalf("mqtt_connect_received = %v after one more CONNECT, want 1", v)
	}
	if g := gauges(); g[0] != 3 || g[1] != 3 {
		t.Fatalf("gauges = %v after a third client, want 3, 3", g)
	}
}
