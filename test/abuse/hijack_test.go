package abuse

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestSessionHijack: user bob connects with alice's client id. Without session_binding (VerneMQ's
// behaviour) he inherits her session and its queued message; with it he is refused and alice
// keeps her session. With session_binding a resumed session's subscriptions are authorized again.
func TestSessionHijack(t *testing.T) {
	acl := "user alice\ntopic a/#\ntopic b2/#\nuser bob\ntopic b/#\nuser pub\ntopic #\n"
	for _, binding := range []string{"off", "on"} {
		t.Run("session_binding="+binding, func(t *testing.T) {
			n := startNode(t, map[string]string{
				"allow_anonymous":             "off",
				"plugins.vmq_passwd":          "on",
				"vmq_passwd.password_file":    "$DIR/vmq.passwd",
				"vmq_acl.acl_reload_interval": "1s",
				"session_binding":             binding,
			}, files{"vmq.acl": acl, "vmq.passwd": passwdFile(t, "alice", "bob", "pub")})
			login := func(id, user string, clean bool) (*raw, *packets.Connack) {
				r := dial(t, n.addr)
				return r, r.connect(&packets.Connect{ClientID: id, CleanStart: clean, Username: str(user), Password: []byte("pw")})
			}
			alice, _ := login("shared", "alice", false)
			if code := alice.suback("a/#"); code != packets.ReasonCode(1) {
				t.Fatalf("alice SUBSCRIBE a/#: %v", code)
			}
			alice.suback("b2/#")
			alice.send(&packets.Disconnect{})
			alice.expectClosed(5*time.Second, "alice's DISCONNECT")
			pub, _ := login("pub-1", "pub", true)
			pub.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: "a/secret", Payload: []byte("for alice")})
			if p, err := pub.read(5 * time.Second); err != nil || p.Type() != packets.PUBACK {
				t.Fatalf("PUBACK: %v %v", p, err)
			}

			bob, ca := login("shared", "bob", false)
			if binding == "off" {
				if ca.ReasonCode != 0 || !ca.SessionPresent {
					t.Fatalf("without binding bob got %+v, want VerneMQ's takeover (session present)", ca)
				}
				if p := waitPublish(t, bob, "a/secret"); string(p.Payload) != "for alice" {
					t.Fatalf("payload %q", p.Payload)
				}
				return
			}
			if ca.ReasonCode != packets.ReasonCode(5) {
				t.Fatalf("bob with alice's client id: CONNACK %v, want 5 (not authorized)", ca.ReasonCode)
			}
			bob.expectClosed(5*time.Second, "refused CONNECT")

			// The ACL no longer grants alice a/#; her resumed session loses that subscription.
			if err := os.WriteFile(filepath.Join(n.dir, "vmq.acl"), []byte("user alice\ntopic b2/#\nuser pub\ntopic #\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			eventually.True(t, 10*time.Second, "the new ACL", func() bool {
				probe, _ := login("probe", "alice", true)
				return probe.suback("a/#") == packets.ReasonCode(0x80)
			})
			alice, ca = login("shared", "alice", false)
			if ca.ReasonCode != 0 || !ca.SessionPresent {
				t.Fatalf("alice back: %+v, want her session", ca)
			}
			// The message queued while she was away was hers to get.
			waitPublish(t, alice, "a/secret")
			pub.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: "a/after", Payload: []byte("x")})
			pub.send(&packets.Publish{QoS: 1, PacketID: 3, Topic: "b2/after", Payload: []byte("y")})
			// Deliveries keep the publisher's order: b2/after arriving first proves a/after was not routed to her.
			for {
				p, err := alice.read(5 * time.Second)
				if err != nil {
					t.Fatalf("alice waiting for b2/after: %v", err)
				}
				if pp, ok := p.(*packets.Publish); ok {
					if pp.Topic == "a/after" {
						t.Fatal("the resumed session kept a subscription the ACL no longer grants")
					}
					if pp.Topic == "b2/after" {
						break
					}
				}
			}
		})
	}
}
