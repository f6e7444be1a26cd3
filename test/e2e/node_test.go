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

// baseConf is the conf every node starts from: testnode's, with the MQTT listener on port.
func baseConf(dir string, port int) map[string]string {
	return testnode.BaseConf(dir, fmt.Sprintf("127.0.0.1:%d", port))
}

// startNode runs a node whose conf is baseConf with over applied (an empty
// value removes the key); the ACL file grants "topic #" unless acl is given.
func startNode(t *testing.T, over map[string]string, acl ...string) *node {
	t.Helper()
	dir := t.TempDir()
	port := testnode.FreePort(t)
	kv := baseConf(dir, port)
	testnode.Override(kv, over, dir)
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
