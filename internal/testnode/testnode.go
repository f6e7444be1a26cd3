// Package testnode runs the real broker binaries for the end-to-end test suites:
// building them once, free loopback ports, conf files, and child processes whose
// output is shown when a test fails.
package testnode

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/freeport"
)

// Bins returns a directory holding the named commands (vernemq, vmq-admin, ...): $VMQ_BIN
// when set (make test builds them there), else a fresh `go build` into a temp dir that
// cleanup removes.
func Bins(names ...string) (dir string, cleanup func(), err error) {
	if d := os.Getenv("VMQ_BIN"); d != "" {
		for _, b := range names {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				return "", nil, fmt.Errorf("VMQ_BIN=%s has no %s: build it with `make build` or unset VMQ_BIN", d, b)
			}
		}
		return d, func() {}, nil
	}
	dir, err = os.MkdirTemp("", "vmq-test-bin")
	if err != nil {
		return "", nil, err
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, b := range names {
		args = append(args, "github.com/vernemq-go/vernemq/cmd/"+b)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build of %v failed (fix the build or set VMQ_BIN): %v\n%s", names, err, out)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// Main is a TestMain body: it builds names into *binDir, runs the tests and exits.
func Main(m *testing.M, binDir *string, names ...string) {
	dir, cleanup, err := Bins(names...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	*binDir = dir
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Output collects a child's stdout and stderr safely.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// FreePort returns a 127.0.0.1 port that was free a moment ago and not handed out before in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreePortPair returns a free port p with p+1 also free (a cluster listener and its gossip port).
func FreePortPair(t testing.TB) int {
	t.Helper()
	p, err := freeport.Pair()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteConf writes kv as a vernemq.conf in a stable key order and returns path.
func WriteConf(t testing.TB, path string, kv map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, kv[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatalf("write conf: %v", err)
	}
	return path
}

// Process is a running child (a broker node); it is killed when the test ends and its
// output is logged if the test failed.
type Process struct {
	t    testing.TB
	Cmd  *exec.Cmd
	Out  *Output
	Done chan struct{} // closed when the process has exited
	Err  error         // Wait's result, valid after Done
}

// Start runs bin with args in dir (env added to the environment).
func Start(t testing.TB, dir string, env []string, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, Out: &Output{}, Done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Dir = dir
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.Err = p.Cmd.Wait(); close(p.Done) }()
	t.Cleanup(p.Kill)
	return p
}

// WaitTCP polls addr until it accepts, failing the test if the process exits first or d passes.
func (p *Process) WaitTCP(addr string, d time.Duration) {
	p.t.Helper()
	if !eventually.Within(d, func() bool {
		p.Alive()
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		p.t.Fatalf("nothing listened on %s within %v; output:\n%s", addr, d, p.Out)
	}
}

// Kill stops the process (SIGKILL) and logs its output when the test failed.
func (p *Process) Kill() {
	select {
	case <-p.Done:
	default:
		_ = p.Cmd.Process.Kill()
		<-p.Done
	}
	if p.t.Failed() {
		p.t.Logf("process output:\n%s", p.Out)
	}
}

// Terminate sends SIGTERM and waits up to d; it returns the exit code.
func (p *Process) Terminate(d time.Duration) (int, error) {
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case <-p.Done:
		return p.Cmd.ProcessState.ExitCode(), nil
	case <-time.After(d):
		return -1, fmt.Errorf("process did not exit within %v of SIGTERM", d)
	}
}

// Alive fails the test when the process has exited (e.g. crashed).
func (p *Process) Alive() {
	p.t.Helper()
	select {
	case <-p.Done:
		p.t.Fatalf("process exited (%v); output:\n%s", p.Err, p.Out)
	default:
	}
}

// BaseConf is the conf of a single node on loopback with its data, logs and admin socket in
// dir: listener.tcp.default on mqttAddr, anonymous clients, and vmq_acl reading dir/vmq.acl
// (VerneMQ needs an ACL plugin to allow any publish or subscribe).
func BaseConf(dir, mqttAddr string) map[string]string {
	return map[string]string{
		"nodename":             "VerneMQ@127.0.0.1",
		"listener.tcp.default": mqttAddr,
		"platform_data_dir":    filepath.Join(dir, "data"),
		"platform_log_dir":     filepath.Join(dir, "log"),
		"platform_etc_dir":     dir,
		"admin.socket":         filepath.Join(dir, "vmq-admin.sock"),
		"allow_anonymous":      "on",
		"plugins.vmq_passwd":   "off",
		"plugins.vmq_acl":      "on",
		"vmq_acl.acl_file":     filepath.Join(dir, "vmq.acl"),
		"log.console":          "console",
		"systree_enabled":      "off",
	}
}

// Override sets over's keys in kv: an empty value removes the key, and "$DIR" in a value
// stands for dir (for files the test writes there).
func Override(kv, over map[string]string, dir string) {
	for k, v := range over {
		if v == "" {
			delete(kv, k)
		} else {
			kv[k] = strings.ReplaceAll(v, "$DIR", dir)
		}
	}
}

// HTTPNode is a vernemq child with an MQTT listener (listener.tcp.default) and an HTTP
// listener (listener.http.default), as the suites that use /health, /metrics, the HTTP API
// and the admin socket run it.
type HTTPNode struct {
	*Process
	Dir  string
	Conf string // path of vernemq.conf
	Addr string // 127.0.0.1:port of listener.tcp.default
	Web  string // http://127.0.0.1:port of listener.http.default
	Sock string // admin.socket
}

// StartHTTPNode runs bin (vernemq) on free ports with its files in dir (a temp dir when
// empty). files are written there first (name → content); vmq.acl allows every topic unless
// files has one. over overrides keys of BaseConf as Override does. It returns once /health
// answers (200, or 401 behind an API key), and fails the test if the node exits first or
// is not up within 15 s.
func StartHTTPNode(t testing.TB, bin, dir string, over, files map[string]string) *HTTPNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if _, ok := files["vmq.acl"]; !ok {
		if err := os.WriteFile(filepath.Join(dir, "vmq.acl"), []byte("topic #\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kv := BaseConf(dir, fmt.Sprintf("127.0.0.1:%d", FreePort(t)))
	kv["listener.http.default"] = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	Override(kv, over, dir)
	n := &HTTPNode{Dir: dir, Addr: kv["listener.tcp.default"], Web: "http://" + kv["listener.http.default"],
		Sock: kv["admin.socket"], Conf: WriteConf(t, filepath.Join(dir, "vernemq.conf"), kv)}
	n.Process = Start(t, dir, nil, bin, "console", "-c", n.Conf)
	eventually.True(t, 15*time.Second, "node healthy on "+n.Web, func() bool {
		n.Alive()
		code, _ := Get(t, n.Web+"/health", nil)
		return code == http.StatusOK || code == http.StatusUnauthorized // health behind an API key
	})
	return n
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// Get fetches url with extra headers and returns the status and body; code 0 means no
// answer (the body is then the error).
func Get(t testing.TB, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("request %s: %v", url, err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
