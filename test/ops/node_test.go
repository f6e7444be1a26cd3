package ops

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// node is one running vernemq child process with an MQTT and an HTTP listener.
type node struct {
	t    *testing.T
	dir  string
	addr string // MQTT listener.tcp.default
	web  string // http://127.0.0.1:port of listener.http.default
	conf string
	sock string // admin socket
	*testnode.Process
}

// startNode runs a node on free ports with its data in dir (a temp dir when empty);
// over overrides conf keys (an empty value removes the key).
func startNode(t *testing.T, dir string, over map[string]string) *node {
	t.Helper()
	h := testnode.StartHTTPNode(t, vernemqBin(), dir, over, nil)
	return &node{t: t, dir: h.Dir, addr: h.Addr, web: h.Web, conf: h.Conf, sock: h.Sock, Process: h.Process}
}

// httpClient bounds every request a test makes.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// get fetches path from the node's HTTP listener with extra headers; code 0 means no answer.
func (n *node) get(path string, hdr map[string]string) (int, string) {
	n.t.Helper()
	return testnode.Get(n.t, n.web+path, hdr)
}

// admin runs vmq-admin against the node's conf and returns its combined output.
func (n *node) admin(args ...string) (string, error) {
	cmd := exec.Command(vmqAdminBin(), append([]string{"-c", n.conf}, args...)...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// mustAdmin runs vmq-admin and fails the test on error.
func (n *node) mustAdmin(args ...string) string {
	n.t.Helper()
	out, err := n.admin(args...)
	if err != nil {
		n.t.Fatalf("vmq-admin %v: %v\n%s", args, err, out)
	}
	return out
}

// metric reads one aggregated value from `vmq-admin metrics show`.
func (n *node) metric(name string) float64 {
	n.t.Helper()
	out := n.mustAdmin("metrics", "show")
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			continue
		}
		if strings.TrimPrefix(strings.TrimPrefix(k, "counter."), "gauge.") == name {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				n.t.Fatalf("metrics show: %q is not a number", line)
			}
			return f
		}
	}
	n.t.Fatalf("metrics show has no %s:\n%s", name, out)
	return 0
}

// connect opens a paho 3.1.1 client; it is disconnected at test end.
func connect(t *testing.T, addr, id string, clean bool, onMsg mqtt.MessageHandler) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetProtocolVersion(4).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(3 * time.Second).
		SetKeepAlive(30 * time.Second)
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}
