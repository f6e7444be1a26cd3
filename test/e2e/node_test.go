package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// node is one running vernemq child process.
type node struct {
	*testnode.Process
	t    *testing.T
	dir  string
	addr string // 127.0.0.1:port of listener.tcp.default
	conf string // path of the conf file
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

// startNode runs a node whose conf is baseConf with over applied (an empty
// value removes the key); the ACL file grants "topic #" unless acl is given.
func startNode(t *testing.T, over map[string]string, acl ...string) *node {
	t.Helper()
	dir := t.TempDir()
	port := testnode.FreePort(t)
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
	conf := testnode.WriteConf(t, filepath.Join(dir, "vernemq.conf"), kv)
	n := &node{t: t, dir: dir, addr: kv["listener.tcp.default"], conf: conf,
		Process: testnode.Start(t, dir, nil, vernemqBin(), "console", "-c", conf)}
	n.WaitTCP(n.addr, 10*time.Second)
	return n
}
