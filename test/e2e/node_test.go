package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// node is one running vernemq child process.
type node struct {
	t    *testing.T
	dir  string
	addr string // 127.0.0.1:port of listener.tcp.default
	conf string // path of the conf file
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

// freePort returns a 127.0.0.1 port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// baseConf is the conf every node starts from: anonymous clients, an ACL
// granting every topic (VerneMQ needs an ACL plugin to allow pub/sub).
func baseConf(dir string, port int) map[string]string {
	return map[string]string{
		"nodename":             "VerneMQ@127.0.0.1",
		"listener.tcp.default": fmt.Sprintf("127.0.0.1:%d", port),
		"platform_data_dir":    filepath.Join(dir, "data"),
		"platform_log_dir":     filepath.Join(dir, "log"),
		"platform_etc_dir":     dir,
		"allow_anonymous":      "on",
		"plugins.vmq_passwd":   "off",
		"plugins.vmq_acl":      "on",
		"vmq_acl.acl_file":     filepath.Join(dir, "vmq.acl"),
		"log.console":          "console",
		"systree_enabled":      "off",
	}
}

// writeConf writes keys in a stable order; it returns the path.
func writeConf(t *testing.T, path string, kv map[string]string) string {
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

// startNode runs a node whose conf is baseConf with over applied (an empty
// value removes the key); the ACL file grants "topic #" unless acl is given.
func startNode(t *testing.T, over map[string]string, acl ...string) *node {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	kv := baseConf(dir, port)
	for k, v := range over {
		if v == "" {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	aclText := "topic #\n"
	if len(acl) > 0 {
		aclText = strings.Join(acl, "\n") + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "vmq.acl"), []byte(aclText), 0o644); err != nil {
		t.Fatalf("write acl: %v", err)
	}
	n := &node{t: t, dir: dir, addr: kv["listener.tcp.default"], out: &syncBuf{}, done: make(chan struct{})}
	n.conf = writeConf(t, filepath.Join(dir, "vernemq.conf"), kv)
	n.cmd = exec.Command(vernemqBin(), "console", "-c", n.conf)
	n.cmd.Dir = dir
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start vernemq: %v", err)
	}
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.kill)
	n.waitReady(10 * time.Second)
	return n
}

// waitReady polls the listener until it accepts or the deadline passes.
func (n *node) waitReady(d time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			n.t.Fatalf("vernemq exited before listening (%v); output:\n%s", n.err, n.out)
		default:
		}
		c, err := net.DialTimeout("tcp", n.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("vernemq did not listen on %s within %v; output:\n%s", n.addr, d, n.out)
}

// kill stops the process at test end and dumps its output when the test failed.
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

// terminate sends SIGTERM and waits up to d for the exit; it returns the exit code.
func (n *node) terminate(d time.Duration) (int, error) {
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case <-n.done:
		return n.cmd.ProcessState.ExitCode(), nil
	case <-time.After(d):
		return -1, fmt.Errorf("vernemq did not exit within %v of SIGTERM", d)
	}
}

// alive fails the test when the node process has exited (e.g. crashed).
func (n *node) alive() {
	n.t.Helper()
	select {
	case <-n.done:
		n.t.Fatalf("vernemq exited (%v); output:\n%s", n.err, n.out)
	default:
	}
}
