package listeners

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// node is one running vernemq process with its own conf and data dir.
type node struct {
	t    *testing.T
	dir  string
	conf map[string]string
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// syncBuf collects the child's output from two pipes safely.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a 127.0.0.1:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// deviceACL lets everyone read devices/# and use probe/#, and only user
// device-42 write under devices/device-42/.
const deviceACL = "topic read devices/#\ntopic probe/#\nuser device-42\ntopic write devices/device-42/#\n"

// startNode runs vernemq with an anonymous plain listener (listener.tcp.default),
// debug logging, vmq_acl with acl, and the extra conf keys.
func startNode(t *testing.T, acl string, extra map[string]string) *node {
	t.Helper()
	dir := t.TempDir()
	aclFile := filepath.Join(dir, "vmq.acl")
	if err := os.WriteFile(aclFile, []byte(acl), 0o644); err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{
		"nodename":             "VerneMQ@127.0.0.1",
		"listener.tcp.default": freeAddr(t),
		"platform_data_dir":    filepath.Join(dir, "data"),
		"platform_log_dir":     filepath.Join(dir, "log"),
		"platform_etc_dir":     dir,
		"allow_anonymous":      "on",
		"plugins.vmq_passwd":   "off",
		"plugins.vmq_acl":      "on",
		"vmq_acl.acl_file":     aclFile,
		"log.console":          "console",
		"log.console.level":    "debug",
		"systree_enabled":      "off",
	}
	for k, v := range extra {
		kv[k] = v
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, kv[k])
	}
	confPath := filepath.Join(dir, "vernemq.conf")
	if err := os.WriteFile(confPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, dir: dir, conf: kv, out: &syncBuf{}, done: make(chan struct{})}
	n.cmd = exec.Command(vernemqBin(), "console", "-c", confPath)
	n.cmd.Dir = dir
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start vernemq: %v", err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.kill)
	n.waitLog(regexp.MustCompile(`msg="node started"`), 15*time.Second)
	return n
}

// addr is the configured address of a listener key, e.g. "listener.ssl.default".
func (n *node) addr(key string) string {
	a, ok := n.conf[key]
	if !ok {
		n.t.Fatalf("node has no %s", key)
	}
	return a
}

// waitLog polls the node's output until re matches and returns the match groups.
func (n *node) waitLog(re *regexp.Regexp, d time.Duration) []string {
	n.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if m := re.FindStringSubmatch(n.out.String()); m != nil {
			return m
		}
		select {
		case <-n.done:
			n.t.Fatalf("vernemq exited (%v) before logging %q; output:\n%s", n.err, re, n.out)
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("vernemq did not log %q within %v; output:\n%s", re, d, n.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the process at test end and shows its output when the test failed.
func (n *node) kill() {
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	if n.t.Failed() {
		n.t.Logf("vernemq output:\n%s", n.out)
	}
}

// needTool skips when an external tool is missing, unless VMQ_REQUIRE_TOOLS is set.
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s not found and VMQ_REQUIRE_TOOLS is set: run %s", name, install)
	}
	t.Skipf("%s not installed (run %s; set VMQ_REQUIRE_TOOLS=1 to fail instead)", name, install)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
