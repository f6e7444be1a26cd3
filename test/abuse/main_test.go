package abuse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// binDir holds vernemq and vmq-passwd; set once by TestMain.
var binDir string

func TestMain(m *testing.M) { testnode.Main(m, &binDir, "vernemq", "vmq-admin", "vmq-passwd") }

// node is one running vernemq child with an MQTT and an HTTP listener.
type node struct {
	t    *testing.T
	dir  string
	addr string // listener.tcp.default
	web  string // http://host:port of listener.http.default
	conf string
	*testnode.Process
}

// files are written into the node's directory before it starts (name → content).
type files map[string]string

// startNode runs a node on free ports in a temp dir; over overrides conf keys (an empty value
// removes a key) and may name files from fs as "$DIR/name".
func startNode(t *testing.T, over map[string]string, fs files) *node {
	t.Helper()
	h := testnode.StartHTTPNode(t, filepath.Join(binDir, "vernemq"), "", over, fs)
	return &node{t: t, dir: h.Dir, addr: h.Addr, web: h.Web, conf: h.Conf, Process: h.Process}
}

// httpClient bounds every request a test makes.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// get fetches path from the node's HTTP listener with extra headers; code 0 means no answer.
func (n *node) get(path string, hdr map[string]string) (int, string) {
	n.t.Helper()
	return testnode.Get(n.t, n.web+path, hdr)
}

// prom sums the samples of one metric on /metrics (every label set).
func (n *node) prom(t *testing.T, name string) float64 {
	t.Helper()
	code, body := n.get("/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q is not a number", line)
		}
		sum, found = sum+f, true
	}
	if !found {
		t.Fatalf("/metrics has no %s", name)
	}
	return sum
}

// procStatus reads a kB field (VmRSS, VmHWM) of the node's /proc/<pid>/status in bytes.
func (n *node) procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc status has no %s", field)
	return 0
}

// raw is a hand-driven MQTT connection.
type raw struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	v  byte
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &raw{t: t, nc: nc, br: bufio.NewReader(nc), v: packets.V311}
}

func (r *raw) send(p packets.Packet) {
	r.t.Helper()
	b, err := packets.Encode(nil, p, r.v)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(b)
}

func (r *raw) write(b []byte) {
	r.t.Helper()
	r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read reads one packet within d.
func (r *raw) read(d time.Duration) (packets.Packet, error) {
	r.nc.SetReadDeadline(time.Now().Add(d))
	return packets.ReadPacket(r.br, r.v, 0)
}

// connect sends CONNECT and returns the CONNACK.
func (r *raw) connect(c *packets.Connect) *packets.Connack {
	r.t.Helper()
	if c.ProtocolLevel == 0 {
		c.ProtocolLevel = r.v
	}
	c.ProtocolName = "MQTT"
	if c.ProtocolLevel == packets.V31 {
		c.ProtocolName = "MQIsdp"
	}
	r.v = c.ProtocolLevel
	r.send(c)
	p, err := r.read(5 * time.Second)
	if err != nil {
		r.t.Fatalf("CONNACK for %q: %v", c.ClientID, err)
	}
	ca, ok := p.(*packets.Connack)
	if !ok {
		r.t.Fatalf("got %T, want CONNACK", p)
	}
	return ca
}

// expectClosed waits up to d for the node to close the connection, skipping packets it
// sends first (a DISCONNECT); it returns the last packet seen.
func (r *raw) expectClosed(d time.Duration, what string) packets.Packet {
	r.t.Helper()
	deadline := time.Now().Add(d)
	var last packets.Packet
	for {
		r.nc.SetReadDeadline(deadline)
		p, err := packets.ReadPacket(r.br, r.v, 0)
		if err == nil {
			last = p
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			r.t.Fatalf("%s: connection still open after %v", what, d)
		}
		return last
	}
}

func str(s string) *string { return &s }

// freeAddr is a free 127.0.0.1 address for an extra listener.
func freeAddr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t)) }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
