package listeners

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

// node is one running vernemq process with its own conf and data dir.
type node struct {
	*testnode.Process
	t    *testing.T
	dir  string
	conf map[string]string
}

// freeAddr returns a 127.0.0.1:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
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
	confPath := testnode.WriteConf(t, filepath.Join(dir, "vernemq.conf"), kv)
	n := &node{t: t, dir: dir, conf: kv, Process: testnode.Start(t, dir, nil, vernemqBin(), "console", "-c", confPath)}
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
	var m []string
	if !eventually.Within(d, func() bool {
		if m = re.FindStringSubmatch(n.Out.String()); m != nil {
			return true
		}
		select {
		case <-n.Done:
			n.t.Fatalf("vernemq exited (%v) before logging %q; output:\n%s", n.Err, re, n.Out)
		default:
		}
		return false
	}) {
		n.t.Fatalf("vernemq did not log %q within %v; output:\n%s", re, d, n.Out)
	}
	return m
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
