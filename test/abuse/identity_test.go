package abuse

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// passwdFile returns a vmq.passwd with password "pw" for users, made by the built vmq-passwd.
func passwdFile(t *testing.T, users ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "vmq.passwd")
	for i, u := range users {
		args := []string{file, u}
		if i == 0 {
			args = []string{"-c", file, u}
		}
		cmd := exec.Command(filepath.Join(binDir, "vmq-passwd"), args...)
		cmd.Stdin = stringsReader("pw\npw\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vmq-passwd %v: %v\n%s", args, err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// proxied dials a PROXY listener and sends a v2 header whose SSL TLV carries cn
// (a certificate presented and verified, as HAProxy reports it).
func proxied(t *testing.T, addr, cn string) *raw {
	t.Helper()
	r := dial(t, addr)
	h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 4000}, r.nc.RemoteAddr().(*net.TCPAddr))
	ssl := tlvparse.PP2SSL{Client: tlvparse.PP2_BITFIELD_CLIENT_SSL | tlvparse.PP2_BITFIELD_CLIENT_CERT_CONN,
		TLV: []proxyproto.TLV{{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")},
			{Type: proxyproto.PP2_SUBTYPE_SSL_CN, Value: []byte(cn)}}}
	tlv, err := ssl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetTLVs([]proxyproto.TLV{tlv}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteTo(r.nc); err != nil {
		t.Fatal(err)
	}
	return r
}

// suback subscribes filter at QoS 1 and returns the SUBACK's code (1 = granted).
func (r *raw) suback(filter string) packets.ReasonCode {
	r.t.Helper()
	r.send(&packets.Subscribe{PacketID: 7, Subscriptions: []packets.Subscription{{Filter: filter, Options: packets.SubOptions{QoS: 1}}}})
	for {
		p, err := r.read(5 * time.Second)
		if err != nil {
			r.t.Fatalf("SUBACK for %s: %v", filter, err)
		}
		if sa, ok := p.(*packets.Suback); ok {
			return sa.ReasonCodes[0]
		}
	}
}

// TestWildcardIdentities: a client id, user name (CONNECT or vmq.passwd) or PROXY v2 CN of
// "+" or "#" does not widen %c/%u patterns: its wildcard subscriptions are refused while
// ordinary identities keep their own subtree [CVE-2017-7650's class].
func TestWildcardIdentities(t *testing.T) {
	proxyAddr := freeAddr(t)
	n := startNode(t, map[string]string{
		"plugins.vmq_passwd":                                     "on",
		"vmq_passwd.password_file":                               "$DIR/vmq.passwd",
		"listener.tcp.proxied":                                   proxyAddr,
		"listener.tcp.proxied.proxy_protocol":                    "on",
		"listener.tcp.proxied.proxy_protocol_use_cn_as_username": "on",
	}, files{"vmq.acl": "pattern devices/%c/#\npattern users/%u/#\npattern both/%u/%c\n", "vmq.passwd": passwdFile(t, "+", "#", "alice")})

	type attempt struct {
		name    string
		open    func() *raw
		connect *packets.Connect
		filters []string
	}
	viaTCP := func() *raw { return dial(t, n.addr) }
	viaProxy := func(cn string) func() *raw { return func() *raw { return proxied(t, proxyAddr, cn) } }
	for _, a := range []attempt{
		{"client id +", viaTCP, &packets.Connect{ClientID: "+"}, []string{"devices/+/#", "devices/+/x", "both/+/+"}},
		{"client id #", viaTCP, &packets.Connect{ClientID: "#"}, []string{"devices/#", "both/#"}},
		{"user name +", viaTCP, &packets.Connect{ClientID: "u1", Username: str("+"), Password: []byte("pw")}, []string{"users/+/#", "users/+/x", "both/+/u1"}},
		{"user name #", viaTCP, &packets.Connect{ClientID: "u2", Username: str("#"), Password: []byte("pw")}, []string{"users/#"}},
		{"PROXY CN +", viaProxy("+"), &packets.Connect{ClientID: "p1"}, []string{"users/+/#", "both/+/p1"}},
		{"PROXY CN #", viaProxy("#"), &packets.Connect{ClientID: "p2"}, []string{"users/#"}},
	} {
		t.Run(a.name, func(t *testing.T) {
			r := a.open()
			r.t = t
			a.connect.CleanStart = true
			if ca := r.connect(a.connect); ca.ReasonCode != 0 {
				t.Fatalf("CONNACK %v", ca.ReasonCode)
			}
			for _, f := range a.filters {
				if code := r.suback(f); code != packets.ReasonCode(0x80) {
					t.Errorf("SUBSCRIBE %s: granted %v, want 0x80 (refused)", f, code)
				}
			}
		})
	}

	// Ordinary identities keep their own subtree through the same patterns.
	r := dial(t, n.addr)
	r.connect(&packets.Connect{ClientID: "dev1", CleanStart: true, Username: str("alice"), Password: []byte("pw")})
	for _, f := range []string{"devices/dev1/#", "users/alice/#", "both/alice/dev1"} {
		if code := r.suback(f); code != 1 {
			t.Errorf("dev1/alice SUBSCRIBE %s: %v, want granted", f, code)
		}
	}
	p := proxied(t, proxyAddr, "bob")
	p.connect(&packets.Connect{ClientID: "bob-1", CleanStart: true})
	if code := p.suback("users/bob/#"); code != 1 {
		t.Errorf("PROXY CN bob SUBSCRIBE users/bob/#: %v, want granted", code)
	}
}
