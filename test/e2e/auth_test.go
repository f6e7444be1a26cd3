package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestEmptyClientID checks the empty client id rules of 3.1.1 and 5.
func TestEmptyClientID(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	c := dialRaw(t, n.addr, packets.V311)
	if ack := c.connect(&packets.Connect{CleanStart: true, KeepAlive: 60}); ack.ReasonCode != packets.ConnAccepted {
		t.Fatalf("3.1.1 clean empty id: CONNACK %d, want 0", ack.ReasonCode)
	}
	p := dialRaw(t, n.addr, packets.V311)
	if ack := p.connect(&packets.Connect{CleanStart: false, KeepAlive: 60}); ack.ReasonCode != packets.ConnRefusedIdentifier {
		t.Fatalf("3.1.1 persistent empty id: CONNACK %d, want 2", ack.ReasonCode)
	}
	p.expectClosed(2 * time.Second)
	v5 := dialRaw(t, n.addr, packets.V5)
	ack := v5.connect(&packets.Connect{CleanStart: true, KeepAlive: 60})
	if ack.ReasonCode != 0 || ack.Props == nil || ack.Props.AssignedClientID == "" {
		t.Fatalf("v5 empty id: CONNACK 0x%02X props %+v, want 0 with an Assigned Client Identifier", byte(ack.ReasonCode), ack.Props)
	}
	// The assigned id is really the session's: a second connection with it takes over.
	again := dialRaw(t, n.addr, packets.V5)
	again.mustConnect(ack.Props.AssignedClientID)
	v5.expectDisconnect(packets.SessionTakenOver, 2*time.Second)
}

// TestAnonymousRefused checks allow_anonymous = off with no auth plugin: 0x87 / 5.
func TestAnonymousRefused(t *testing.T) {
	t.Parallel()
	n := startNode(t, map[string]string{"allow_anonymous": "off"})
	v5 := dialRaw(t, n.addr, packets.V5)
	if ack := v5.connect(&packets.Connect{ClientID: "anon5", CleanStart: true, KeepAlive: 60}); ack.ReasonCode != packets.NotAuthorized {
		t.Fatalf("v5 CONNACK 0x%02X, want 0x87", byte(ack.ReasonCode))
	}
	v5.expectClosed(2 * time.Second)
	v3 := dialRaw(t, n.addr, packets.V311)
	if ack := v3.connect(&packets.Connect{ClientID: "anon3", CleanStart: true, KeepAlive: 60}); ack.ReasonCode != packets.ConnRefusedNotAuthorized {
		t.Fatalf("3.1.1 CONNACK %d, want 5", ack.ReasonCode)
	}
	v3.expectClosed(2 * time.Second)
}

// TestPasswordFile checks vmq_passwd with a file made by bin/vmq-passwd.
func TestPasswordFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwfile := filepath.Join(dir, "vmq.passwd")
	for i, u := range []string{"alice", "bob"} {
		args := []string{pwfile, u}
		if i == 0 {
			args = []string{"-c", pwfile, u}
		}
		cmd := exec.Command(vmqPasswdBin(), args...)
		cmd.Stdin = strings.NewReader("secret-" + u + "\nsecret-" + u + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vmq-passwd %v: %v\n%s", args, err, out)
		}
	}
	n := startNode(t, map[string]string{"allow_anonymous": "off", "plugins.vmq_passwd": "on",
		"vmq_passwd.password_file": pwfile})
	login := func(v byte, user, pass string) *packets.Connack {
		r := dialRaw(t, n.addr, v)
		return r.connect(&packets.Connect{ClientID: user + string('0'+v), CleanStart: true, KeepAlive: 60,
			Username: ptr(user), Password: []byte(pass)})
	}
	for _, v := range []byte{packets.V311, packets.V5} {
		if ack := login(v, "alice", "secret-alice"); ack.ReasonCode != 0 {
			t.Fatalf("v%d alice right password: CONNACK 0x%02X, want 0", v, byte(ack.ReasonCode))
		}
		if ack := login(v, "bob", "secret-bob"); ack.ReasonCode != 0 {
			t.Fatalf("v%d bob right password: CONNACK 0x%02X, want 0", v, byte(ack.ReasonCode))
		}
	}
	if ack := login(packets.V5, "alice", "wrong"); ack.ReasonCode != packets.BadUsernameOrPassword {
		t.Fatalf("v5 wrong password: CONNACK 0x%02X, want 0x86", byte(ack.ReasonCode))
	}
	if ack := login(packets.V311, "alice", "wrong"); ack.ReasonCode != packets.ConnRefusedBadCredentials {
		t.Fatalf("3.1.1 wrong password: CONNACK %d, want 4", ack.ReasonCode)
	}
}

// TestACL checks per-user vmq_acl rules: PUBACK 0x87 and SUBACK 0x87 / 0x80.
func TestACL(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil,
		"topic public/#",
		"user alice",
		"topic alice/#",
		"topic read feed/#",
		"topic write sink/#",
	)
	watch := dialRaw(t, n.addr, packets.V5)
	watch.connect(&packets.Connect{ClientID: "acl-watch", CleanStart: true, KeepAlive: 60, Username: ptr("alice")})
	if rc := watch.subscribe(1, nil, sub("sink/#", 0)); rc[0] != packets.NotAuthorized {
		t.Fatalf("alice SUBSCRIBE sink/# (write only): 0x%02X, want 0x87", byte(rc[0]))
	}
	if rc := watch.subscribe(2, nil, sub("alice/#", 1), sub("public/#", 1), sub("feed/#", 1)); len(rc) != 3 ||
		rc[0] != 1 || rc[1] != 1 || rc[2] != 1 {
		t.Fatalf("alice SUBACK %v, want [1 1 1]", rc)
	}
	// vmq_acl answers a SUBSCRIBE as a whole: one forbidden filter refuses all of them.
	if rc := watch.subscribe(3, nil, sub("public/x", 1), sub("secret/#", 1)); len(rc) != 2 ||
		rc[0] != packets.NotAuthorized || rc[1] != packets.NotAuthorized {
		t.Fatalf("alice SUBACK %v, want [0x87 0x87]", rc)
	}
	a := dialRaw(t, n.addr, packets.V5)
	a.connect(&packets.Connect{ClientID: "alice5", CleanStart: true, KeepAlive: 60, Username: ptr("alice")})
	if rc := a.publish(&packets.Publish{Topic: "alice/x", QoS: 1, PacketID: 1, Payload: []byte("ok")}); rc != 0 {
		t.Fatalf("alice publish alice/x: PUBACK 0x%02X, want 0", byte(rc))
	}
	if rc := a.publish(&packets.Publish{Topic: "feed/x", QoS: 1, PacketID: 2, Payload: []byte("no")}); rc != packets.NotAuthorized {
		t.Fatalf("alice publish feed/x (read only): PUBACK 0x%02X, want 0x87", byte(rc))
	}
	if rc := a.publish(&packets.Publish{Topic: "secret/x", QoS: 1, PacketID: 3, Payload: []byte("no")}); rc != packets.NotAuthorized {
		t.Fatalf("alice publish secret/x: PUBACK 0x%02X, want 0x87", byte(rc))
	}
	if p := watch.recvPublish(2 * time.Second); p.Topic != "alice/x" {
		t.Fatalf("watcher got %q, want only alice/x", p.Topic)
	}
	watch.expectNothing(300*time.Millisecond, "refused publishes must not be routed")
	// Another user only has the global rules; 3.1.1 SUBACK failure is 0x80.
	b := dialRaw(t, n.addr, packets.V311)
	b.connect(&packets.Connect{ClientID: "bob3", CleanStart: true, KeepAlive: 60, Username: ptr("bob")})
	if rc := b.subscribe(1, nil, sub("alice/#", 1)); len(rc) != 1 || rc[0] != 0x80 {
		t.Fatalf("bob 3.1.1 SUBACK %v, want [0x80]", rc)
	}
	if rc := b.subscribe(2, nil, sub("public/#", 1)); len(rc) != 1 || rc[0] != 1 {
		t.Fatalf("bob 3.1.1 SUBACK %v, want [1]", rc)
	}
	bv5 := dialRaw(t, n.addr, packets.V5)
	bv5.connect(&packets.Connect{ClientID: "bob5", CleanStart: true, KeepAlive: 60, Username: ptr("bob")})
	if rc := bv5.publish(&packets.Publish{Topic: "alice/x", QoS: 1, PacketID: 1}); rc != packets.NotAuthorized {
		t.Fatalf("bob publish alice/x: PUBACK 0x%02X, want 0x87", byte(rc))
	}
}
