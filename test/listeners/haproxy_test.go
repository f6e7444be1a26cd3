package listeners

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

// haproxyConf renders scripts/haproxy/vernemq-tls-proxy.cfg for loopback: every
// example value must be present, so the example and the test cannot drift apart.
func haproxyConf(t *testing.T, dir string, repl map[string]string) string {
	t.Helper()
	src := filepath.Join("..", "..", "scripts", "haproxy", "vernemq-tls-proxy.cfg")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for from, to := range repl {
		if !strings.Contains(cfg, from) {
			t.Fatalf("%s no longer contains %q: update the test's replacements", src, from)
		}
		cfg = strings.ReplaceAll(cfg, from, to)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startHAProxy checks and runs haproxy in the foreground until the test ends,
// returning once every address in ready accepts.
func startHAProxy(t *testing.T, bin, cfg string, ready ...string) *testnode.Output {
	t.Helper()
	if out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy rejected the rendered example config: %v\n%s", err, out)
	}
	p := testnode.Start(t, "", nil, bin, "-db", "-f", cfg)
	for _, a := range ready {
		p.WaitTCP(a, 10*time.Second)
	}
	return p.Out
}

// proxiedNode is a broker with a PROXY protocol listener using the forwarded CN.
func proxiedNode(t *testing.T) *node {
	return startNode(t, deviceACL, map[string]string{
		"listener.tcp.proxied":                                   freeAddr(t),
		"listener.tcp.proxied.proxy_protocol":                    "on",
		"listener.tcp.proxied.proxy_protocol_use_cn_as_username": "on",
		"listener.http.default":                                  freeAddr(t),
	})
}

// server is the example config's server address and check port, rewritten to n's.
func server(n *node) string {
	_, port, _ := net.SplitHostPort(n.addr("listener.http.default"))
	return n.addr("listener.tcp.proxied") + " port " + port
}

// connectedPeer waits until one of nodes logs client id's connection and returns
// that node's index and the logged peer address.
func connectedPeer(t *testing.T, nodes []*node, id string) (int, string) {
	t.Helper()
	re := regexp.MustCompile(`msg="client connected" client_id=` + regexp.QuoteMeta(id) + ` peer=(\S+)`)
	at, peer := -1, ""
	eventually.True(t, 5*time.Second, "a node to log the connection of "+id, func() bool {
		for i, n := range nodes {
			if m := re.FindStringSubmatch(n.Out.String()); m != nil {
				at, peer = i, m[1]
				return true
			}
		}
		return false
	})
	return at, peer
}

// TestHAProxy runs the example HAProxy config in front of three broker nodes (health
// checked on /health):
// TLS with client certificates ends at HAProxy, PROXY v2 carries the client's
// address and CN (the ACL proves the CN is the username), PROXY v1 carries the
// address, and balance source keeps each client address on one node.
func TestHAProxy(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "haproxy", "scripts/install-haproxy.sh")
	needTool(t, "mosquitto_pub", "scripts/install-test-deps.sh")
	nodes := []*node{proxiedNode(t), proxiedNode(t), proxiedNode(t)}
	tlsAddr, plainAddr := freeAddr(t), freeAddr(t)
	cfg := haproxyConf(t, t.TempDir(), map[string]string{
		"0.0.0.0:8883":                          tlsAddr,
		"0.0.0.0:1883":                          plainAddr,
		"/etc/haproxy/certs/mqtt-server.pem":    certs.ServerBundle,
		"/etc/haproxy/certs/mqtt-client-ca.pem": certs.CAFile,
		"/etc/haproxy/certs/mqtt-client-ca.crl": certs.CRLFile,
		"10.0.0.11:1884 port 8888":              server(nodes[0]),
		"10.0.0.12:1884 port 8888":              server(nodes[1]),
		"10.0.0.13:1884 port 8888":              server(nodes[2]),
		// Backend connections come from 127.0.0.2, clients from 127.0.0.3+: the
		// peer the broker logs tells whose address it used.
		"source 0.0.0.0":                    "source 127.0.0.2",
		"log stdout format raw local0 info": "log stdout format raw local0 notice",
		// 20000 connections need 40000 descriptors, more than a test process may open.
		"maxconn 20000": "maxconn 200",
		// Fast health checks so a dead node is drained within the test.
		"inter 5s fall 3 rise 2": "inter 200ms fall 3 rise 2",
	})
	startHAProxy(t, bin, cfg, tlsAddr, plainAddr)
	var watchers []*v5
	for i, n := range nodes {
		w := mustV5(t, n.addr("listener.tcp.default"), fmt.Sprintf("watcher%d", i))
		w.subscribe(t, "devices/#")
		watchers = append(watchers, w)
	}
	tlsHost, tlsPort := splitHostPort(t, tlsAddr)
	plainHost, plainPort := splitHostPort(t, plainAddr)
	pubTLS := func(client, source, id, topic, payload string) (string, error) {
		c := certs.client(client)
		return mosquittoPub(t, "-h", tlsHost, "-p", tlsPort, "-A", source, "-V", "mqttv5", "-q", "1",
			"--cafile", certs.CAFile, "--cert", c.CertFile, "--key", c.KeyFile,
			"-i", id, "-t", topic, "-m", payload)
	}

	t.Run("send-proxy-v2-ssl-cn", func(t *testing.T) {
		// The CONNECT username says intruder; the CN device-42 forwarded by HAProxy must win.
		out, err := mosquittoPub(t, "-h", tlsHost, "-p", tlsPort, "-A", "127.0.0.3", "-V", "mqttv5", "-q", "1",
			"--cafile", certs.CAFile, "--cert", certs.client("device-42").CertFile, "--key", certs.client("device-42").KeyFile,
			"-u", "intruder", "-i", "hp-dev42", "-t", "devices/device-42/temp", "-m", "via-haproxy")
		if err != nil {
			t.Fatalf("mosquitto_pub as device-42 through haproxy: %v\n%s", err, out)
		}
		i, peer := connectedPeer(t, nodes, "hp-dev42")
		if host, _, _ := net.SplitHostPort(peer); host != "127.0.0.3" {
			t.Fatalf("node logged peer %s, want the client's 127.0.0.3 (127.0.0.2 is haproxy's side)", peer)
		}
		watchers[i].expect(t, "devices/device-42/temp", "via-haproxy", 5*time.Second)

		out, _ = pubTLS("intruder", "127.0.0.3", "hp-intruder", "devices/device-42/temp", "forged-via-haproxy")
		if !strings.Contains(strings.ToLower(out), "not authorized") {
			t.Fatalf("CN=intruder through haproxy: want PUBACK 0x87 'Not authorized', got:\n%s", out)
		}
		for _, w := range watchers {
			w.none(t, "forged-via-haproxy", 200*time.Millisecond)
		}
	})

	t.Run("haproxy refuses bad certificates", func(t *testing.T) {
		for _, c := range []string{"stranger", "revoked"} {
			if out, err := pubTLS(c, "127.0.0.3", "hp-"+c, "devices/device-42/temp", "bad-"+c); err == nil {
				t.Errorf("client certificate %s got through haproxy:\n%s", c, out)
			}
		}
		out, err := mosquittoPub(t, "-h", tlsHost, "-p", tlsPort, "-V", "mqttv5", "--cafile", certs.CAFile,
			"-i", "hp-nocert", "-t", "devices/device-42/temp", "-m", "bad-nocert")
		if err == nil {
			t.Errorf("a client without certificate got through haproxy:\n%s", out)
		}
	})

	t.Run("send-proxy v1", func(t *testing.T) {
		out, err := mosquittoPub(t, "-h", plainHost, "-p", plainPort, "-A", "127.0.0.4", "-V", "mqttv5", "-q", "1",
			"-u", "device-42", "-i", "hp-v1", "-t", "devices/device-42/v1", "-m", "via-proxy-v1")
		if err != nil {
			t.Fatalf("mosquitto_pub through the PROXY v1 frontend: %v\n%s", err, out)
		}
		i, peer := connectedPeer(t, nodes, "hp-v1")
		if host, _, _ := net.SplitHostPort(peer); host != "127.0.0.4" {
			t.Fatalf("node logged peer %s, want the client's 127.0.0.4", peer)
		}
		watchers[i].expect(t, "devices/device-42/v1", "via-proxy-v1", 5*time.Second)
	})

	t.Run("balance source keeps a client address on one node", func(t *testing.T) {
		for s := 5; s <= 8; s++ {
			src := fmt.Sprintf("127.0.0.%d", s)
			first := -1
			for k := 0; k < 2; k++ {
				id := fmt.Sprintf("aff-%d-%d", s, k)
				if out, err := pubTLS("device-42", src, id, "devices/device-42/aff", id); err != nil {
					t.Fatalf("mosquitto_pub from %s: %v\n%s", src, err, out)
				}
				i, peer := connectedPeer(t, nodes, id)
				if !strings.HasPrefix(peer, src+":") {
					t.Fatalf("%s: node logged peer %s, want %s:*", id, peer, src)
				}
				if first >= 0 && i != first {
					t.Fatalf("client address %s went to node %d, then node %d: no source affinity", src, first, i)
				}
				first = i
			}
		}
	})

	t.Run("a node whose /health fails is drained, the others keep their clients", func(t *testing.T) {
		// Which node each client address lands on now.
		home := map[string]int{}
		for s := 10; s <= 17; s++ {
			src := fmt.Sprintf("127.0.0.%d", s)
			id := fmt.Sprintf("home-%d", s)
			if out, err := pubTLS("device-42", src, id, "devices/device-42/home", id); err != nil {
				t.Fatalf("mosquitto_pub from %s: %v\n%s", src, err, out)
			}
			home[src], _ = connectedPeer(t, nodes, id)
		}
		victim := home["127.0.0.10"]
		nodes[victim].Kill()
		// fall 3 × inter 200ms: HAProxy marks the node down within about a second.
		deadline := time.Now().Add(10 * time.Second)
		for src, was := range home {
			k, id := 0, ""
			var out string
			var err error
			if !eventually.Within(time.Until(deadline), func() bool {
				id = fmt.Sprintf("moved-%s-%d", src, k)
				k++
				out, err = pubTLS("device-42", src, id, "devices/device-42/home", id)
				if err != nil && was != victim {
					t.Fatalf("mosquitto_pub from %s (home node %d, healthy): %v\n%s", src, was, err, out)
				}
				return err == nil
			}) {
				t.Fatalf("mosquitto_pub from %s (home node %d, dead node %d) still failing after 10s: %v\n%s", src, was, victim, err, out)
			}
			now, _ := connectedPeer(t, nodes, id)
			if was != victim && now != was {
				t.Fatalf("%s moved from node %d to %d although its node is healthy", src, was, now)
			}
			if now == victim {
				t.Fatalf("%s still sent to the dead node %d", src, victim)
			}
		}
	})

	for i, n := range nodes {
		if strings.Contains(n.Out.String(), `msg="PROXY header rejected"`) {
			t.Errorf("node %d rejected a PROXY header from haproxy (health checks must send one):\n%s", i, n.Out)
		}
	}
}
