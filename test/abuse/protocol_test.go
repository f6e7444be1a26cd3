package abuse

import (
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// malformed are packets a connected client may not send, one or more per packet type:
// each closes that client (MQTT 5: after a DISCONNECT 0x81 or 0x82) and no one else.
var malformed = []struct {
	name string
	b    []byte
}{
	{"reserved type 0", []byte{0x00, 0x00}},
	{"second CONNECT", []byte{0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00}},
	{"CONNACK from a client", []byte{0x20, 0x02, 0x00, 0x00}},
	{"PUBLISH QoS 3", []byte{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}},
	{"PUBLISH to a wildcard", []byte{0x30, 0x03, 0x00, 0x01, '#'}},
	{"PUBLISH topic longer than the packet", []byte{0x30, 0x02, 0x00, 0x05}},
	{"PUBLISH topic not UTF-8", []byte{0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 'x'}},
	{"PUBLISH topic with NUL", []byte{0x30, 0x05, 0x00, 0x02, 'a', 0x00, 'x'}},
	{"PUBLISH QoS 1 packet id 0", []byte{0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00}},
	{"PUBACK too short", []byte{0x40, 0x01, 0x00}},
	{"PUBREC with flags", []byte{0x52, 0x02, 0x00, 0x01}},
	{"PUBREL without its flags", []byte{0x60, 0x02, 0x00, 0x01}},
	{"PUBCOMP too short", []byte{0x70, 0x01, 0x00}},
	{"SUBSCRIBE without its flags", []byte{0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}},
	{"SUBSCRIBE without filters", []byte{0x82, 0x02, 0x00, 0x01}},
	{"SUBSCRIBE QoS 3", []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}},
	{"SUBACK from a client", []byte{0x90, 0x03, 0x00, 0x01, 0x00}},
	{"UNSUBSCRIBE without filters", []byte{0xa2, 0x02, 0x00, 0x01}},
	{"UNSUBACK from a client", []byte{0xb0, 0x02, 0x00, 0x01}},
	{"PINGREQ with a body", []byte{0xc0, 0x01, 0x00}},
	{"PINGRESP from a client", []byte{0xd0, 0x00}},
	{"DISCONNECT with flags", []byte{0xe1, 0x00}},
	{"remaining length of 5 bytes", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}},
}

// TestMalformedPackets: every malformed packet closes its own connection within 3 s (MQTT 5
// clients get DISCONNECT 0x81 malformed or 0x82 protocol error first, unless a write is in
// progress then); a bystander keeps working.
func TestMalformedPackets(t *testing.T) {
	n := startNode(t, nil, nil)
	bystander := dial(t, n.addr)
	bystander.connect(&packets.Connect{ClientID: "bystander", CleanStart: true})
	bystander.suback("bystander/#")
	for _, v := range []byte{packets.V311, packets.V5} {
		cases := malformed
		if v == packets.V5 {
			cases = append(cases[:len(cases):len(cases)],
				struct {
					name string
					b    []byte
				}{"PUBLISH with an unknown property", []byte{0x30, 0x06, 0x00, 0x01, 'a', 0x02, 0xff, 0x00}},
				struct {
					name string
					b    []byte
				}{"PUBLISH topic alias 0", []byte{0x30, 0x07, 0x00, 0x01, 'a', 0x03, 0x23, 0x00, 0x00}})
		} else {
			cases = append(cases[:len(cases):len(cases)], struct {
				name string
				b    []byte
			}{"AUTH before MQTT 5", []byte{0xf0, 0x00}})
		}
		for i, c := range cases {
			t.Run(fmt.Sprintf("v%d/%s", v, c.name), func(t *testing.T) {
				r := dial(t, n.addr)
				r.v = v
				if ca := r.connect(&packets.Connect{ClientID: fmt.Sprintf("bad-%d-%d", v, i), CleanStart: true}); ca.ReasonCode != 0 {
					t.Fatalf("CONNACK %v", ca.ReasonCode)
				}
				r.write(c.b)
				last := r.expectClosed(3*time.Second, c.name)
				// The DISCONNECT is best effort: it is skipped while another write holds the
				// socket (pkg/conn/writer.go, final), so only a wrong one fails.
				if v == packets.V5 && last != nil {
					d, ok := last.(*packets.Disconnect)
					if !ok || (d.ReasonCode != packets.MalformedPacket && d.ReasonCode != packets.ProtocolError &&
						d.ReasonCode != packets.TopicNameInvalid && d.ReasonCode != packets.TopicAliasInvalid) {
						t.Fatalf("last packet before the close: %#v, want DISCONNECT 0x81, 0x82, 0x90 or 0x94", last)
					}
				}
			})
		}
	}
	bystander.send(&packets.Publish{QoS: 1, PacketID: 9, Topic: "bystander/ok", Payload: []byte("x")})
	waitPublish(t, bystander, "bystander/ok")
}

// TestConnectionFlood: beyond max_connections new connections are closed at accept and
// counted; the node keeps serving the ones it holds and new ones once the flood is gone.
func TestConnectionFlood(t *testing.T) {
	t.Parallel() // waits on timeouts; its own node
	n := startNode(t, map[string]string{"listener.tcp.default.max_connections": "50"}, nil)
	conns := openMany(t, n.addr, 300, func(net.Conn) error { return nil })
	closed := countClosed(conns, 100*time.Millisecond)
	if closed < 250 {
		t.Fatalf("%d of 300 closed with max_connections = 50, want at least 250", closed)
	}
	if refused := prom(t, n.web, "vernemq_socket_refused_max_connections", `listener="tcp/default"`); refused < 250 {
		t.Fatalf("socket_refused_max_connections = %v, want >= 250", refused)
	}
	n.memory(t, "300-connection flood, 50 held")
	for _, c := range conns {
		c.Close()
	}
	eventually.True(t, 10*time.Second, "a client to connect after the flood", func() bool {
		nc, err := net.DialTimeout("tcp", n.addr, time.Second)
		if err != nil {
			return false
		}
		defer nc.Close()
		b, _ := packets.Encode(nil, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true, ClientID: "after"}, 4)
		nc.Write(b)
		nc.SetReadDeadline(time.Now().Add(time.Second))
		ack := make([]byte, 4)
		_, err = nc.Read(ack)
		return err == nil && ack[0] == 0x20 && ack[3] == 0
	})
}

// TestSlowlorisAfterConnect: a client that trickles a packet one byte at a time does not hold
// its connection past its keep alive (1.5 × keep alive, plus the node's slack): the deadline
// is set at packet boundaries, so bytes inside a packet do not extend it.
func TestSlowlorisAfterConnect(t *testing.T) {
	t.Parallel() // waits on timeouts; its own node
	n := startNode(t, nil, nil)
	r := dial(t, n.addr)
	r.connect(&packets.Connect{ClientID: "slow", CleanStart: true, KeepAlive: 2})
	start := time.Now()
	r.write([]byte{0x30, 0x64}) // PUBLISH of 100 bytes, then one byte every 200 ms
	for i := 0; i < 100; i++ {
		if time.Since(start) > 10*time.Second {
			t.Fatal("connection still open 10 s after a 2 s keep alive")
		}
		r.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := r.nc.Write([]byte{'x'}); err != nil {
			break
		}
		r.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := r.nc.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			t.Logf("closed %.1f s after the packet started (keep alive 2 s)", time.Since(start).Seconds())
			return
		}
	}
	t.Fatal("the trickled packet completed: the node never closed the slow client")
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestProxyForgery: a plain listener never trusts a PROXY header; a PROXY listener requires
// one, takes a CN only for a presented and verified certificate, and refuses a CN with NUL.
func TestProxyForgery(t *testing.T) {
	proxyAddr := freeAddr(t)
	n := startNode(t, map[string]string{
		"allow_anonymous":                                        "off",
		"plugins.vmq_passwd":                                     "on",
		"vmq_passwd.password_file":                               "$DIR/vmq.passwd",
		"listener.tcp.proxied":                                   proxyAddr,
		"listener.tcp.proxied.proxy_protocol":                    "on",
		"listener.tcp.proxied.proxy_protocol_use_cn_as_username": "on",
	}, files{"vmq.passwd": passwdFile(t, "alice")})
	anon := &packets.Connect{ClientID: "forger", CleanStart: true}

	t.Run("PROXY header on the plain listener", func(t *testing.T) {
		r := dial(t, n.addr)
		r.write([]byte("PROXY TCP4 10.0.0.1 127.0.0.1 5555 1883\r\n"))
		r.send(anon)
		r.expectClosed(3*time.Second, "PROXY header on a plain listener")
	})
	t.Run("no header on the PROXY listener", func(t *testing.T) {
		r := dial(t, proxyAddr)
		r.send(anon)
		r.expectClosed(6*time.Second, "CONNECT without a PROXY header")
	})
	header := func(t *testing.T, cn string, client uint8) *raw {
		r := dial(t, proxyAddr)
		h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 4000}, r.nc.RemoteAddr().(*net.TCPAddr))
		ssl := tlvparse.PP2SSL{Client: client, TLV: []proxyproto.TLV{
			{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")}, {Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)}}}
		tlv, err := ssl.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		h.SetTLVs([]proxyproto.TLV{tlv})
		if _, err := h.WriteTo(r.nc); err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("CN without a certificate", func(t *testing.T) {
		// HAProxy says TLS but no certificate: the CN is not an identity, so alice's password
		// does not log in a client whose own user name is "x".
		r := header(t, "alice", tlvparse.PP2_BITFIELD_CLIENT_SSL)
		if ca := r.connect(&packets.Connect{ClientID: "forger", CleanStart: true, Username: str("x"), Password: []byte("pw")}); ca.ReasonCode == 0 {
			t.Fatal("a CN without a presented certificate logged in as alice")
		}
	})
	t.Run("CN with NUL", func(t *testing.T) {
		r := header(t, "alice\x00evil", tlvparse.PP2_BITFIELD_CLIENT_SSL|tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN)
		r.send(&packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "forger", CleanStart: true, Username: str("u"), Password: []byte("pw")})
		if last := r.expectClosed(3*time.Second, "CN with NUL"); last != nil {
			t.Fatalf("got %#v: a CN with NUL must close the connection before any answer", last)
		}
	})
	t.Run("verified certificate", func(t *testing.T) {
		// The load balancer is trusted with a verified certificate's CN: use_cn_as_username makes it
		// the user name and anonymous logins are off, so only vmq_passwd or a CN plugin decides.
		r := header(t, "alice", tlvparse.PP2_BITFIELD_CLIENT_SSL|tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN)
		if ca := r.connect(&packets.Connect{ClientID: "alice-1", CleanStart: true, Password: []byte("pw"), Username: str("ignored")}); ca.ReasonCode != 0 {
			t.Fatalf("verified CN alice with her password: %v", ca.ReasonCode)
		}
	})
}
