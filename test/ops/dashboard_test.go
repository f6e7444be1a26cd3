package ops

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

// promServer is a real Prometheus scraping the given targets every second.
type promServer struct {
	url string
	t   *testing.T
	*testnode.Process
}

// startPrometheus runs Prometheus in a temp dir with one job per entry of jobs (name → target)
// and the given rule file text (none when empty).
func startPrometheus(t *testing.T, jobs map[string]string, rules string) *promServer {
	t.Helper()
	prom := tool(t, "prometheus")
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if rules != "" {
		if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
		b.WriteString("rule_files: [rules.yml]\n")
	}
	b.WriteString("scrape_configs:\n")
	for job, target := range jobs {
		fmt.Fprintf(&b, "  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", job, target)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	proc := testnode.Start(t, dir, nil, prom, "--config.file="+cfg, "--web.listen-address="+listen,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--log.level=warn")
	return &promServer{url: "http://" + listen, t: t, Process: proc}
}

// promSample is one series of an instant query's answer.
type promSample struct {
	Metric map[string]string
	Value  [2]any // unix time, value as a string
}

// query runs an instant query through the HTTP API; ok is false while Prometheus is not up.
// It fails the test when Prometheus has exited.
func (p *promServer) query(q string) (res []promSample, ok bool) {
	p.t.Helper()
	p.Alive()
	resp, err := httpClient.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct{ Result []promSample }
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" {
		return nil, false
	}
	return r.Data.Result, true
}

// waitSamples waits until every job has at least n scrapes in the last minute, enough
// samples for the rate(...[30s]) and increase(...[5m]) of the queries under test.
func (p *promServer) waitSamples(jobs map[string]string, n int) {
	p.t.Helper()
	for job := range jobs {
		q := fmt.Sprintf(`count_over_time(up{job=%q}[1m]) >= %d and up{job=%q} == 1`, job, n, job)
		eventually.True(p.t, 30*time.Second, fmt.Sprintf("%d scrapes of job %s", n, job), func() bool {
			got, ok := p.query(q)
			return ok && len(got) == 1
		})
	}
}

// promtoolQuery evaluates expr with `promtool query instant` and returns the result lines.
func promtoolQuery(t *testing.T, promtool, server, expr string) []string {
	t.Helper()
	out, err := exec.Command(promtool, "query", "instant", server, expr).CombinedOutput()
	if err != nil {
		t.Errorf("promtool query instant %q: %v\n%s", expr, err, out)
		return nil
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// readLines returns the non-comment lines of a testdata file.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// traffic makes a node count something: a connect, a subscription, QoS 1 and 2 publishes
// delivered, an unsubscribe. (Series exist at zero without it; this gives them values.)
func traffic(t *testing.T, addr string) {
	t.Helper()
	got := make(chan struct{}, 4)
	c := connect(t, addr, "dashboard-traffic", true, nil)
	defer c.Disconnect(100)
	if tok := c.Subscribe("dash/#", 2, func(mqtt.Client, mqtt.Message) { got <- struct{}{} }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for qos := byte(1); qos <= 2; qos++ {
		c.Publish("dash/x", qos, false, "m").WaitTimeout(5 * time.Second)
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("QoS %d message not delivered", qos)
		}
	}
	c.Unsubscribe("dash/#").WaitTimeout(5 * time.Second)
}

var comparison = regexp.MustCompile(`\s(>|<|==|!=|>=|<=)\s+([0-9.e+]+)$`)

// VerneMQ's Grafana dashboard works unchanged: each of its queries, evaluated by promtool
// against a real Prometheus scraping a node (prometheus_namespace empty, as the dashboard's
// bare names need), returns at least one series.
func TestVerneMQDashboard(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	n := startNode(t, "", map[string]string{"prometheus_namespace": " "}) // a blank value: no prefix
	traffic(t, n.addr)
	jobs := map[string]string{"vernemq": strings.TrimPrefix(n.web, "http://")}
	p := startPrometheus(t, jobs, "")
	p.waitSamples(jobs, 3)
	exprs := readLines(t, "vernemq-dashboard.promql")
	for _, e := range exprs {
		if res := promtoolQuery(t, promtool, p.url, e); len(res) == 0 {
			t.Errorf("dashboard query %q returned no series", e)
		}
	}
	if !t.Failed() {
		t.Logf("%d dashboard queries evaluated, each returned a series", len(exprs))
	}
}

// VerneMQ's alert rules work unchanged: Prometheus loads them and evaluates each without
// error against a node, and each expression, with its threshold comparison made a `bool`
// one, returns a series (so the rule can fire: none of its metrics is missing).
func TestVerneMQAlertRules(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	n := startNode(t, "", nil)
	traffic(t, n.addr)
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: vernemq-vital\n    rules:\n")
	var alerts [][3]string
	for _, l := range readLines(t, "vernemq-alerts.tsv") {
		f := strings.SplitN(l, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("bad testdata line %q", l)
		}
		alerts = append(alerts, [3]string{f[0], f[1], f[2]})
		fmt.Fprintf(&rules, "      - alert: %s\n        expr: %s\n        for: %s\n", f[0], f[2], f[1])
	}
	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	jobs := map[string]string{"vernemq": strings.TrimPrefix(n.web, "http://")}
	p := startPrometheus(t, jobs, rules.String())
	p.waitSamples(jobs, 3)
	for _, a := range alerts {
		e := comparison.ReplaceAllString(a[2], " $1 bool $2")
		if e == a[2] {
			t.Fatalf("alert %s: no threshold comparison in %q", a[0], a[2])
		}
		if res := promtoolQuery(t, promtool, p.url, e); len(res) == 0 {
			t.Errorf("alert %s: %q returned no series", a[0], e)
		}
	}
	// Every rule has been evaluated by Prometheus without error.
	eventually.True(t, 10*time.Second, "every alert rule evaluated with health ok", func() bool {
		resp, err := httpClient.Get(p.url + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					}
				}
			}
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Groups) != 1 {
			return false
		}
		ok := 0
		for _, rule := range r.Data.Groups[0].Rules {
			if rule.LastError != "" {
				t.Fatalf("rule %s: %s", rule.Name, rule.LastError)
			}
			if rule.Health == "ok" {
				ok++
			}
		}
		return ok == len(alerts)
	})
	if !t.Failed() {
		t.Logf("%d alert rules loaded and evaluated; each expression returned a series", len(alerts))
	}
}
