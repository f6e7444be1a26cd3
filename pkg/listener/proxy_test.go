package listener

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

func proxyHeader(t testing.TB, version byte, src string, cn string, verified bool) *proxyproto.Header {
	t.Helper()
	var verify uint32
	if !verified {
		verify = 1
	}
	return proxySSLHeader(t, version, src, cn, tlvparse.PP2_BITFIELD_CLIENT_SSL|tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN, verify)
}

// proxySSLHeader is a PROXY header with an SSL TLV of the given client bits, verify result and CN.
func proxySSLHeader(t testing.TB, version byte, src string, cn string, client uint8, verify uint32) *proxyproto.Header {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version,
		mustTCPAddr(t, src), mustTCPAddr(t, "192.0.2.1:1883"))
	if cn != "" {
		ssl := tlvparse.PP2SSL{
			Client: client,
			Verify: verify,
			TLV: []proxyproto.TLV{
				{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")},
				{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)},
			},
		}
		tlv, err := ssl.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.SetTLVs([]proxyproto.TLV{tlv}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func mustTCPAddr(t testing.TB, s string) *net.TCPAddr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProxyV1AndV2(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version byte
		src     string
	}{
		{"v1 ipv4", 1, "203.0.113.7:40001"},
		{"v1 ipv6", 1, "[2001:db8::7]:40002"},
		{"v2 ipv4", 2, "203.0.113.8:40003"},
		{"v2 ipv6", 2, "[2001:db8::8]:40004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true, ProxyProtocolUseCNAsUsername: true})
			c := dial(t, l)
			if _, err := proxyHeader(t, tc.version, tc.src, "", false).WriteTo(c); err != nil {
				t.Fatal(err)
			}
			echo(t, c, "\x10\x00after header")
			p := rec.next(t)
			if p.Addr.String() != mustTCPAddr(t, tc.src).String() {
				t.Errorf("Peer.Addr = %v, want PROXY source %s", p.Addr, tc.src)
			}
			if p.Local.String() != "192.0.2.1:1883" {
				t.Errorf("Peer.Local = %v, want PROXY destination", p.Local)
			}
			if p.CN != "" || p.CNAsUsername {
				t.Errorf("CN %q without SSL TLV", p.CN)
			}
		})
	}
}

func TestProxyV2SSLCN(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true, ProxyProtocolUseCNAsUsername: true})
	c := dial(t, l)
	if _, err := proxyHeader(t, 2, "198.51.100.9:5555", "device-42", true).WriteTo(c); err != nil {
		t.Fatal(err)
	}
	echo(t, c, "mqtt bytes")
	p := rec.next(t)
	if p.CN != "device-42" || !p.CNAsUsername || p.Addr.String() != "198.51.100.9:5555" {
		t.Fatalf("peer = %+v, want CN device-42 from 198.51.100.9:5555", p)
	}

	// Same TLV with a failed verification: the CN is not trusted.
	c2 := dial(t, l)
	if _, err := proxyHeader(t, 2, "198.51.100.10:5555", "mallory", false).WriteTo(c2); err != nil {
		t.Fatal(err)
	}
	echo(t, c2, "x")
	if p := rec.next(t); p.CN != "" {
		t.Fatalf("CN %q taken from an unverified certificate", p.CN)
	}

	// use_cn_as_username off: CN still reported, not as username.
	l2, rec2 := start(t, Options{Type: "tcp", ProxyProtocol: true})
	c3 := dial(t, l2)
	if _, err := proxyHeader(t, 2, "198.51.100.11:5555", "device-42", true).WriteTo(c3); err != nil {
		t.Fatal(err)
	}
	echo(t, c3, "x")
	if p := rec2.next(t); p.CN != "device-42" || p.CNAsUsername {
		t.Fatalf("peer = %+v, want CN without CNAsUsername", p)
	}
}

// The CN is an identity only when a certificate was presented and verified; a CN with a
// NUL byte closes the connection before any MQTT byte is read.
func TestProxyV2SSLCNForgery(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true, ProxyProtocolUseCNAsUsername: true})
	// TLS without a client certificate: HAProxy reports verify 0, yet there is no certificate.
	c := dial(t, l)
	if _, err := proxySSLHeader(t, 2, "198.51.100.12:5555", "admin", tlvparse.PP2_BITFIELD_CLIENT_SSL, 0).WriteTo(c); err != nil {
		t.Fatal(err)
	}
	echo(t, c, "x")
	if p := rec.next(t); p.CN != "" || p.CNAsUsername {
		t.Fatalf("CN %q taken although no certificate was presented", p.CN)
	}
	// A certificate presented in the TLS session (resumption) and verified counts.
	c2 := dial(t, l)
	if _, err := proxySSLHeader(t, 2, "198.51.100.13:5555", "device-7", tlvparse.PP2_BITFIELD_CLIENT_SSL|tlvparse.PP2_BITFIELD_CLIENT_CERT_SESS, 0).WriteTo(c2); err != nil {
		t.Fatal(err)
	}
	echo(t, c2, "x")
	if p := rec.next(t); p.CN != "device-7" {
		t.Fatalf("CN %q, want device-7 from a session certificate", p.CN)
	}
	// NUL in the CN: refused.
	c3 := dial(t, l)
	if _, err := proxyHeader(t, 2, "198.51.100.14:5555", "admin\x00.example", true).WriteTo(c3); err != nil {
		t.Fatal(err)
	}
	c3.Write([]byte("x"))
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection with a NUL in its PROXY CN got an answer")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection with a NUL in its PROXY CN still open")
	}
}

func TestProxyMissingOrInvalidHeader(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true})
	// MQTT CONNECT bytes where a header should be.
	c := dial(t, l)
	if _, err := c.Write([]byte{0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00}); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	eventually.True(t, eventually.Wait, "ProxyErrors 1", func() bool { return l.Stats().ProxyErrors == 1 })

	// A malformed v1 line.
	c2 := dial(t, l)
	if _, err := c2.Write([]byte("PROXY TCP4 not-an-ip 10.0.0.1 1 2\r\n")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c2)
	eventually.True(t, eventually.Wait, "ProxyErrors 2", func() bool { return l.Stats().ProxyErrors == 2 })
	rec.none(t)
	eventually.True(t, eventually.Wait, "Active 0", func() bool { return l.Stats().Active == 0 })
}

func TestProxyHeaderTimeout(t *testing.T) {
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true, ProxyHeaderTimeout: 150 * time.Millisecond})
	c := dial(t, l)
	began := time.Now()
	expectClosed(t, c) // silent client
	if took := time.Since(began); took < 100*time.Millisecond || took > 3*time.Second {
		t.Fatalf("closed after %v, want about the 150ms header timeout", took)
	}
	eventually.True(t, eventually.Wait, "ProxyErrors 1", func() bool { return l.Stats().ProxyErrors == 1 })
	rec.none(t)
}

func TestProxyOverTLS(t *testing.T) {
	// PROXY header first, then TLS (a TCP-mode load balancer in front of an ssl listener).
	p := newPKI(t)
	o := sslOptions(p)
	o.RequireCertificate, o.UseIdentityAsUsername, o.ProxyProtocol = true, true, true
	l, rec := start(t, o)
	raw := dial(t, l)
	if _, err := proxyHeader(t, 2, "203.0.113.50:6000", "", false).WriteTo(raw); err != nil {
		t.Fatal(err)
	}
	c := tlsClient(raw, p.clientTLS(&p.client))
	echo(t, c, "tls after proxy")
	peer := rec.next(t)
	if peer.Addr.String() != "203.0.113.50:6000" || peer.CN != "device-42" || !peer.CNAsUsername {
		t.Fatalf("peer = %+v", peer)
	}
}

func TestProxyV2LocalCommandKeepsSocketAddr(t *testing.T) {
	// haproxy health checks send LOCAL: no client address, the socket peer stands.
	l, rec := start(t, Options{Type: "tcp", ProxyProtocol: true})
	c := dial(t, l)
	h := &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	echo(t, c, "local")
	if p := rec.next(t); p.Addr.String() != c.LocalAddr().String() {
		t.Fatalf("Peer.Addr = %v, want socket peer %v", p.Addr, c.LocalAddr())
	}
}
