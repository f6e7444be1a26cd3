package abuse

import (
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// admin runs the built vmq-admin against the node.
func (n *node) admin(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "vmq-admin"), append([]string{"-c", n.conf}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("vmq-admin %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// getAt fetches base+path with an x-api-key (none when key is empty).
func getAt(base, path, key string) int {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHTTPAPIKeyScopes: with http_module.<module>.auth.mode = apikey, /metrics, /health and
// the status page each need a key of their own scope (VerneMQ 2: metrics, health, status;
// mgmt for /api/v1); a per-listener auth.mode overrides the global one.
func TestHTTPAPIKeyScopes(t *testing.T) {
	open := freeAddr(t)
	n := startNode(t, map[string]string{
		"http_module.vmq_metrics_http.auth.mode":                        "apikey",
		"http_module.vmq_health_http.auth.mode":                         "apikey",
		"http_module.vmq_status_http.auth.mode":                         "apikey",
		"listener.http.open":                                            open,
		"listener.http.open.http_module.vmq_health_http.auth.mode":      "noauth",
		"listener.http.open.http_module.vmq_metrics_http.auth.mode":     "noauth",
		"listener.http.default.http_module.vmq_http_mgmt_api.auth.mode": "apikey",
	}, nil)
	keys := map[string]string{}
	for _, scope := range []string{"metrics", "health", "status", "mgmt"} {
		keys[scope] = n.admin(t, "api-key", "create", "scope="+scope)
	}
	paths := map[string]string{"metrics": "/metrics", "health": "/health", "status": "/status.json", "mgmt": "/api/v1/node/status"}
	for scope, path := range paths {
		if code := getAt(n.web, path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a key: %d, want 401", path, code)
		}
		for other, key := range keys {
			want := http.StatusUnauthorized
			if other == scope {
				want = http.StatusOK
			}
			if code := getAt(n.web, path, key); code != want {
				t.Errorf("%s with a %s key: %d, want %d", path, other, code, want)
			}
		}
	}
	// The open listener serves health and metrics without a key, the status page still with one.
	for path, want := range map[string]int{"/health": 200, "/metrics": 200, "/status.json": 401} {
		if code := getAt("http://"+open, path, ""); code != want {
			t.Errorf("open listener %s without a key: %d, want %d", path, code, want)
		}
	}
	if out, err := exec.Command(filepath.Join(binDir, "vmq-admin"), "-c", n.conf, "api-key", "add", "key=a").CombinedOutput(); err == nil {
		t.Errorf("a 1-character API key was accepted:\n%s", out)
	}
}

// TestHTTPFloodAndSlowloris: an HTTP listener closes connections beyond its max_connections
// at once and counts them, and closes a client that never finishes its request headers
// (10 s); a second listener and MQTT keep serving meanwhile.
func TestHTTPFloodAndSlowloris(t *testing.T) {
	t.Parallel() // waits on timeouts; its own node
	scrape := freeAddr(t)
	n := startNode(t, map[string]string{
		"listener.http.default.max_connections": "20",
		"listener.http.scrape":                  scrape,
	}, nil)
	host := strings.TrimPrefix(n.web, "http://")
	// Slowloris: a request line and one header, never the end of the headers.
	slow := make([]net.Conn, 5)
	for i := range slow {
		c, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: x\r\n")
		slow[i] = c
	}
	start := time.Now()
	// Flood: 100 idle connections; at most 20 (with the 5 above) stay open.
	var flood []net.Conn
	for range 100 {
		c, err := net.DialTimeout("tcp", host, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		flood = append(flood, c)
	}
	closed := countClosed(flood, 200*time.Millisecond)
	if closed < 85 {
		t.Fatalf("%d of 100 connections beyond max_connections = 20 (5 held) were closed, want at least 85", closed)
	}
	if refused := prom(t, "http://"+scrape, "vernemq_socket_refused_max_connections", `listener="http/default"`); refused < 85 {
		t.Fatalf("socket_refused_max_connections{listener=http/default} = %v, want >= 85", refused)
	}
	if code := getAt("http://"+scrape, "/health", ""); code != http.StatusOK {
		t.Fatalf("the other HTTP listener during the flood: %d", code)
	}
	for i, c := range slow {
		if !closedByPeer(c, 15*time.Second-time.Since(start)) {
			t.Fatalf("slowloris connection %d still open 15 s after it started (read header timeout 10 s)", i)
		}
	}
	t.Logf("slowloris connections closed after %.1f s", time.Since(start).Seconds())
	// With the flood gone the listener answers again.
	for _, c := range flood {
		c.Close()
	}
	eventually.True(t, 10*time.Second, "the flooded listener to answer", func() bool { return getAt(n.web, "/health", "") == http.StatusOK })
	r := dial(t, n.addr)
	if ca := r.connect(&packets.Connect{ClientID: "after-http-flood", CleanStart: true}); ca.ReasonCode != 0 {
		t.Fatalf("MQTT CONNACK %v after the HTTP flood", ca.ReasonCode)
	}
}

// prom reads one sample of name whose labels contain label from base/metrics.
func prom(t *testing.T, base, name, label string) float64 {
	t.Helper()
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, label) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("%s has no %s{%s}", base, name, label)
	return 0
}
