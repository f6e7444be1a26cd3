package ops

import (
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// vernemqCounterLint is the promtool lint finding we accept: VerneMQ's names, which its
// dashboards and alert rules query: counters without _total (vernemq_mqtt_connect_received),
// and the VM gauges system_gc_count, system_process_count and vm_memory_total.
var vernemqCounterLint = regexp.MustCompile(`^vernemq_[a-z0-9_]+ counter metrics should have "_total" suffix$|` +
	`^vernemq_system_(gc|process)_count non-histogram and non-summary metrics should not have "_count" suffix$|` +
	`^vernemq_vm_memory_total non-counter metrics should not have "_total" suffix$`)

// /metrics parses with promtool, and its only lint findings are VerneMQ's counter names.
func TestMetricsPromtool(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	n := startNode(t, "", nil)
	connect(t, n.addr, "promtool-1", true, nil)
	code, body := n.get("/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, want := range []string{"vernemq_mqtt_connect_received", "vernemq_socket_refused_max_connections{",
		"vernemq_mqtt_publish_throttled", "vernemq_socket_tls_handshake_error{", "vernemq_socket_proxy_header_error{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) { // 3 = lint findings only, 1 = parse error
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	accepted := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		if vernemqCounterLint.MatchString(line) {
			accepted++
			continue
		}
		t.Errorf("promtool check metrics: %s", line)
	}
	t.Logf("promtool check metrics: parse ok; %d findings, all on VerneMQ's metric names", accepted)
}

// A real Prometheus scrapes the node and answers a query with the node's value.
func TestPrometheusScrape(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	connect(t, n.addr, "scraped-1", true, nil)
	connect(t, n.addr, "scraped-2", true, nil)
	target := strings.TrimPrefix(n.web, "http://")
	p := startPrometheus(t, map[string]string{"vernemq": target}, "")
	var got string
	eventually.True(t, 25*time.Second, "prometheus to scrape vernemq_mqtt_connect_received", func() bool {
		r, ok := p.query(`vernemq_mqtt_connect_received{job="vernemq",mqtt_version="4"}`)
		if !ok || len(r) != 1 {
			return false
		}
		res := r[0]
		if res.Metric["node"] != "VerneMQ@127.0.0.1" || res.Metric["instance"] != target {
			t.Fatalf("query result labels %v, want node=VerneMQ@127.0.0.1 instance=%s", res.Metric, target)
		}
		got, _ = res.Value[1].(string)
		return true
	})
	if got != "2" {
		t.Fatalf("prometheus says vernemq_mqtt_connect_received = %q after 2 CONNECTs, want 2", got)
	}
}
