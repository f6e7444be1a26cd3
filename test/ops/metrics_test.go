package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
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
	prom := tool(t, "prometheus")
	n := startNode(t, "", nil)
	connect(t, n.addr, "scraped-1", true, nil)
	connect(t, n.addr, "scraped-2", true, nil)
	dir := t.TempDir()
	target := strings.TrimPrefix(n.web, "http://")
	yml := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vernemq
    metrics_path: /metrics
    static_configs:
      - targets: ["%s"]
`, target)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	out := &testnode.Output{}
	cmd := exec.Command(prom, "--config.file="+cfg, "--web.listen-address="+listen,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out)
		}
	})
	q := "http://" + listen + "/api/v1/query?query=" + url.QueryEscape(`vernemq_mqtt_connect_received{job="vernemq",mqtt_version="4"}`)
	var got string
	eventually.True(t, 25*time.Second, "prometheus to scrape vernemq_mqtt_connect_received", func() bool {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", out)
		default:
		}
		resp, err := httpClient.Get(q)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return false
		}
		res := r.Data.Result[0]
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
