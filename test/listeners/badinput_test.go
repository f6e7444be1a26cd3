package listeners

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// proxiedV5 connects a v5 client to a PROXY listener, claiming src in a v2 header.
func proxiedV5(t *testing.T, addr string, src *net.TCPAddr, id string) *v5 {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := net.ResolveTCPAddr("tcp", addr)
	if _, err := proxyproto.HeaderProxyFromAddrs(2, src, dst).WriteTo(conn); err != nil {
		t.Fatal(err)
	}
	c, err := dialV5(conn, id, "")
	if err != nil {
		t.Fatalf("connect %s through a valid PROXY v2 header: %v", id, err)
	}
	t.Cleanup(c.close)
	return c
}

// TestBadInput: garbage instead of a PROXY header, a truncated v2 header, a
// PROXY header where none is expected and a stalled TLS handshake each lose
// only their own connection; clients on the
// same listeners keep working meanwhile and afterwards.
func TestBadInput(t *testing.T) {
	t.Parallel()
	conf := sslConf(t, certs.CAFile, certs.ServerCert, certs.ServerKey, certs.CRLFile)
	conf["listener.tcp.proxied"] = freeAddr(t)
	conf["listener.tcp.proxied.proxy_protocol"] = "on"
	conf["listener.tcp.proxied.proxy_protocol_timeout"] = "500ms"
	n := startNode(t, deviceACL, conf)
	proxied, ssl := n.addr("listener.tcp.proxied"), n.addr("listener.ssl.default")
	good := proxiedV5(t, proxied, &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}, "good-proxied")
	n.waitLog(regexp.MustCompile(`client_id=good-proxied peer=192\.0\.2\.7:40000`), 5*time.Second)
	goodTLS, err := tlsV5(ssl, certs.tlsConfig("device-42"), "good-tls", "")
	if err != nil {
		t.Fatal(err)
	}
	defer goodTLS.close()

	t.Run("bad", func(t *testing.T) {
		t.Run("garbage instead of PROXY header", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, proxied)
			// An MQTT CONNECT straight away, as a client bypassing the load balancer would send.
			if _, err := c.Write([]byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04evil")); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, 3*time.Second, "garbage on a PROXY listener")
		})
		t.Run("truncated PROXY v2 header", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, proxied)
			// Signature, PROXY/TCPv4, length 12, then only 4 of the 12 address bytes.
			hdr := "\r\n\r\n\x00\r\nQUIT\n" + "\x21\x11\x00\x0c" + "\xc0\x00\x02\x07"
			if _, err := c.Write([]byte(hdr)); err != nil {
				t.Fatal(err)
			}
			good.roundTrip(t, "probe/during-truncated", "x")
			expectClosed(t, c, 3*time.Second, "truncated PROXY v2 header (proxy_protocol_timeout 500ms)")
		})
		t.Run("PROXY header to a listener without proxy_protocol", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, n.addr("listener.tcp.default"))
			if _, err := c.Write([]byte("PROXY TCP4 203.0.113.9 127.0.0.1 5555 1883\r\n\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04fake")); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c, 3*time.Second, "PROXY header on a plain listener")
			if strings.Contains(n.Out.String(), "203.0.113.9") && strings.Contains(n.Out.String(), "client_id=fake") {
				t.Fatal("a plain listener trusted a PROXY header")
			}
		})
		t.Run("stalled TLS handshake", func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, ssl)
			// Send nothing: the listener's TLS handshake timeout (10 s, fixed) must close it.
			late, err := tlsV5(ssl, certs.tlsConfig("device-42"), "tls-during-stall", "")
			if err != nil {
				t.Fatalf("a new TLS client while a handshake stalls: %v", err)
			}
			late.roundTrip(t, "probe/during-stall", "y")
			late.close()
			expectClosed(t, c, 13*time.Second, "stalled TLS handshake")
		})
	})

	good.roundTrip(t, "probe/after", "proxied still works")
	goodTLS.roundTrip(t, "probe/after-tls", "tls still works")
	out := n.Out.String()
	if c := strings.Count(out, `msg="PROXY header rejected"`); c < 2 {
		t.Errorf("%d PROXY header rejections logged, want 2 (garbage, truncated)", c)
	}
	if !strings.Contains(out, `msg="TLS handshake failed"`) {
		t.Error(`no "TLS handshake failed" logged for the stalled handshake`)
	}
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMaxConnections: with listener max_connections = 2 the third connection is
// closed at once while the two admitted clients keep working, and a slot freed
// by a disconnect admits a new client.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	n := startNode(t, deviceACL, map[string]string{
		"listener.tcp.limited":                 freeAddr(t),
		"listener.tcp.limited.max_connections": "2",
	})
	limited := n.addr("listener.tcp.limited")
	a := mustV5(t, limited, "first")
	b := mustV5(t, limited, "second")
	third := dialRaw(t, limited)
	expectClosed(t, third, 3*time.Second, "third connection over max_connections = 2")
	if conn, err := net.DialTimeout("tcp", limited, 3*time.Second); err == nil {
		if c, err := dialV5(conn, "third-mqtt", ""); err == nil {
			c.close()
			t.Fatal("an MQTT client connected beyond max_connections = 2")
		}
	}
	a.roundTrip(t, "probe/a", "a still works")
	b.roundTrip(t, "probe/b", "b still works")
	mustV5(t, n.addr("listener.tcp.default"), "other-listener").roundTrip(t, "probe/other", "unaffected")

	b.close()
	var c *v5
	var err error
	if !eventually.Within(5*time.Second, func() bool {
		conn, derr := net.DialTimeout("tcp", limited, 3*time.Second)
		if derr != nil {
			t.Fatal(derr)
		}
		c, err = dialV5(conn, "replacement", "")
		return err == nil
	}) {
		t.Fatalf("no connection admitted within 5s after one of two disconnected: %v", err)
	}
	t.Cleanup(c.close)
	c.roundTrip(t, "probe/replacement", "admitted after a slot freed")
}
