package cluster_test

import (
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// vernemqBin returns the broker binary: $VMQ_BIN (a bin/ directory or the binary itself) or a fresh build.
func vernemqBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("VMQ_BIN"); p != "" {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				binPath = p
				return
			}
		}
		var dir string
		dir, _, buildErr = testnode.Bins("vernemq", "vmq-admin") // a temp build lives as long as the test binary
		binPath = filepath.Join(dir, "vernemq")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a TCP port that is free, and for pair also port+1 on TCP and UDP (serf's gossip).
func freePort(t *testing.T, pair bool) int {
	t.Helper()
	find := freeport.One
	if pair {
		find = freeport.Pair
	}
	p, err := find()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type node struct {
	name, mqtt, data, dir string
	netns                 string   // network namespace the process runs in ("" = this one)
	env                   []string // extra environment, after the defaults (a later value wins)
	cmd                   *exec.Cmd
	exited                chan struct{}
}

// startNode runs one node process with its own ports and data dir; seed ("" for none) is joined at start.
func startNode(t *testing.T, name, cookie, seed string) *node {
	t.Helper()
	return startNodeAt(t, name, cookie, seed, placement{})
}

// placement puts a node elsewhere than on free loopback ports: fixed addresses and a
// network namespace to run in (for partition tests).
type placement struct {
	mqtt, data, netns string
	env               []string // e.g. VMQ_CLUSTER_DEAD_NODE_GRACE=30s to run with the default grace
	conf              []string // extra conf lines
	// tls (cert, key, ca files): the cluster listener is listener.vmqs.clustering with them
	tls *[3]string
}

func startNodeAt(t *testing.T, name, cookie, seed string, at placement) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{name: name + "@127.0.0.1", dir: dir, netns: at.netns, env: at.env,
		mqtt: fmt.Sprintf("127.0.0.1:%d", freePort(t, false)),
		data: fmt.Sprintf("127.0.0.1:%d", freePort(t, true))}
	if at.mqtt != "" {
		n.mqtt = at.mqtt
	}
	if at.data != "" {
		n.data = at.data
	}
	conf := strings.Join([]string{
		"allow_anonymous = on",
		"plugins.vmq_passwd = off",
		"plugins.vmq_acl = on",
		"vmq_acl.acl_file = " + filepath.Join(dir, "vmq.acl"),
		"nodename = " + n.name,
		"distributed_cookie = " + cookie,
		"platform_data_dir = " + filepath.Join(dir, "data"),
		"platform_log_dir = " + filepath.Join(dir, "log"),
		"listener.tcp.default = " + n.mqtt,
		clusterListener(n.data, at.tls),
		"log.console = console",
		"log.console.level = debug",
		"systree_enabled = off",
	}, "\n") + "\n"
	if seed != "" {
		conf += "cluster.discovery_node = " + seed + "\n"
	}
	for _, l := range at.conf {
		conf += l + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "vmq.acl"), []byte("topic #\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "vernemq.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start(t, confPath)
	return n
}

// clusterListener is the conf of the cluster listener: listener.vmq, or listener.vmqs with TLS files.
func clusterListener(addr string, files *[3]string) string {
	if files == nil {
		return "listener.vmq.clustering = " + addr
	}
	return strings.Join([]string{"listener.vmqs.clustering = " + addr, "listener.vmqs.clustering.certfile = " + files[0],
		"listener.vmqs.clustering.keyfile = " + files[1], "listener.vmqs.clustering.cafile = " + files[2]}, "\n")
}

func (n *node) start(t *testing.T, confPath string) {
	t.Helper()
	n.spawn(t, confPath)
	eventually.True(t, 15*time.Second, n.name+" accepting MQTT", func() bool {
		c, err := net.DialTimeout("tcp", n.mqtt, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// spawn starts the node's process without waiting for it to serve.
func (n *node) spawn(t *testing.T, confPath string) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(n.dir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vernemqBin(t), "console", "-c", confPath)
	if n.netns != "" {
		cmd = exec.Command("ip", "netns", "exec", n.netns, vernemqBin(t), "console", "-c", confPath)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(append(os.Environ(), "VMQ_CLUSTER_DEAD_NODE_GRACE=2s"), n.env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(n.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(n.dir, "node.log"))
			t.Logf("--- log of %s ---\n%s", n.name, tail(string(b), 80))
		}
	})
}

func (n *node) kill9(t *testing.T) {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// logHas reports whether one line of the node's log contains every part.
func (n *node) logHas(parts ...string) bool {
	b, _ := os.ReadFile(filepath.Join(n.dir, "node.log"))
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func readLog(n *node) string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "node.log"))
	return string(b)
}

// logCount counts the lines of the node's log that contain every part.
func (n *node) logCount(parts ...string) int {
	b, _ := os.ReadFile(filepath.Join(n.dir, "node.log"))
	count := 0
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			count++
		}
	}
	return count
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// inbox collects received messages.
type inbox struct {
	mu   sync.Mutex
	msgs []string // topic=payload
}

func (b *inbox) handler(_ mqtt.Client, m mqtt.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m.Topic()+"="+string(m.Payload()))
	b.mu.Unlock()
}

// with returns the received messages whose topic starts with prefix.
func (b *inbox) with(prefix string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.msgs {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func connect(t *testing.T, addr, id string, clean bool, box *inbox) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second)
	if box != nil {
		o.SetDefaultPublishHandler(box.handler)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func subscribe(t *testing.T, c mqtt.Client, filter string, qos byte, box *inbox) {
	t.Helper()
	tok := c.Subscribe(filter, qos, box.handler)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
}

func publish(t *testing.T, c mqtt.Client, topic string, qos byte, retain bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// untilReceived publishes probes on topic from pub until box has one under prefix:
// the cluster has converged far enough to route it.
func untilReceived(t *testing.T, pub mqtt.Client, topic string, box *inbox, prefix string) {
	t.Helper()
	i := 0
	eventually.True(t, 30*time.Second, "a probe on "+topic+" to arrive", func() bool {
		if len(box.with(prefix)) > 0 {
			return true
		}
		i++
		if i%4 == 1 { // a probe every 200ms
			publish(t, pub, topic, 0, false, "probe")
		}
		return false
	})
}
