package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// chromium runs headless Chromium on url with extra args and returns its stdout.
func chromium(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--virtual-time-budget=5000"}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr testnode.Output
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return string(out)
}

// The status page, rendered by a real browser, shows the node and its live connection count.
func TestStatusPageChromium(t *testing.T) {
	t.Parallel()
	bin := tool(t, "chromium", "chromium-browser")
	n := startNode(t, "", nil)
	const clients = 3
	for i := range clients {
		connect(t, n.addr, "status-"+string(rune('a'+i)), true, nil)
	}
	// /status.json keeps its original shape and carries what the page draws.
	code, body := n.get("/status.json", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /status.json: %d %s", code, body)
	}
	var js []map[string]struct {
		Status    map[string]any   `json:"status"`
		Listeners []map[string]any `json:"listeners"`
		Cluster   []map[string]any `json:"cluster"`
		Limits    map[string]float64
	}
	if err := json.Unmarshal([]byte(body), &js); err != nil || len(js) != 1 {
		t.Fatalf("status.json %q: %v", body, err)
	}
	me := js[0]["VerneMQ@127.0.0.1"]
	if me.Status["num_connections"] != float64(clients) || len(me.Listeners) < 2 || len(me.Cluster) != 1 ||
		me.Cluster[0]["Node"] != "VerneMQ@127.0.0.1" || me.Cluster[0]["Running"] != true {
		t.Fatalf("status.json node object %+v", me)
	}
	if _, ok := me.Limits["socket_refused_max_connections"]; !ok {
		t.Fatalf("status.json limits lack socket_refused_max_connections: %v", me.Limits)
	}

	// A publisher keeps traffic flowing while the page polls, so the rate chart has data.
	pub := connect(t, n.addr, "status-load", true, nil)
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		for i := 0; i < 3000; i++ { // bounded: at most 60 s at 20 ms
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			pub.Publish("load/x", 0, false, "x")
		}
	}()
	url := n.web + "/status"
	// The rate and its chart need two polls of status.json inside Chromium's virtual-time
	// budget; on a loaded machine the first render may have only one, so render again (bounded).
	var dom string
	for attempt := 0; attempt < 4; attempt++ {
		dom = chromium(t, bin, url, "--dump-dom")
		if regexp.MustCompile(`<polyline points="[0-9., ]+" class="in">`).MatchString(dom) {
			break
		}
	}
	close(stop)
	<-loadDone
	checks := []struct{ what, re string }{
		{"node name", `id="node-name">VerneMQ@127\.0\.0\.1<`},
		{"connections", `id="connections">4<`}, // 3 clients and the publisher
		{"online sessions", `id="online">4<`},
		// Under --virtual-time-budget the polls may come milliseconds apart in real time, so
		// the rate itself may be 0; that it was computed from two polls is what is certain.
		{"a computed publish rate", `id="rate-in">[0-9]+(\.[0-9]+)?<`},
		{"version", `id="version">[^<…]+<`},
		{"tcp listener running", `<td>mqtt</td><td>default</td><td class="running">running</td>`},
		{"cluster member", `<td>VerneMQ@127\.0\.0\.1</td><td class="running">true</td>`},
		{"rate chart", `<polyline points="[0-9., ]+" class="in">`},
		{"no error banner", `id="error" class="error" hidden=""`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(dom) {
			t.Errorf("rendered status page: no %s (want /%s/)", c.what, c.re)
		}
	}
	if t.Failed() {
		t.Logf("rendered DOM:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	chromium(t, bin, url, "--screenshot="+shot)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 1000 {
		t.Fatalf("screenshot %s: %v (size %d)", shot, err, sizeOf(st))
	}
	png, _ := os.ReadFile(shot)
	if !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("screenshot %s is not a PNG", shot)
	}
	t.Logf("status page screenshot: %s (%d bytes; the temp dir is removed after the test, set VMQ_OPS_ARTIFACTS=dir to keep a copy)", shot, st.Size())
	if dst := os.Getenv("VMQ_OPS_ARTIFACTS"); dst != "" {
		if err := os.MkdirAll(dst, 0o755); err == nil && os.WriteFile(filepath.Join(dst, "status.png"), png, 0o644) == nil {
			t.Logf("screenshot copied to %s", filepath.Join(dst, "status.png"))
		}
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}
