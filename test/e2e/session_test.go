package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestPersistentSessionV311 checks offline queueing for clean_session=false and discard on clean start.
func TestPersistentSessionV311(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	persist := func(clean bool) (*raw, *packets.Connack) {
		c := dialRaw(t, n.addr, packets.V311)
		return c, c.connect(&packets.Connect{ClientID: "durable", CleanStart: clean, KeepAlive: 60})
	}
	c, ack := persist(false)
	if ack.ReasonCode != 0 || ack.SessionPresent {
		t.Fatalf("first CONNACK 0x%02X present=%v, want 0 and no session", byte(ack.ReasonCode), ack.SessionPresent)
	}
	if rc := c.subscribe(1, nil, sub("ps/t", 1)); rc[0] != 1 {
		t.Fatalf("SUBACK 0x%02X, want 0x01", byte(rc[0]))
	}
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)

	pub := dialRaw(t, n.addr, packets.V311)
	pub.mustConnect("ps-pub")
	for i := 1; i <= 3; i++ {
		pub.publish(&packets.Publish{Topic: "ps/t", QoS: 1, PacketID: uint16(i), Payload: []byte(fmt.Sprint(i))})
	}
	c, ack = persist(false)
	if !ack.SessionPresent {
		t.Fatal("reconnect: session present=false, want true")
	}
	for i := 1; i <= 3; i++ {
		p := c.recvPublish(3 * time.Second)
		if p.Topic != "ps/t" || string(p.Payload) != fmt.Sprint(i) || p.QoS != 1 {
			t.Fatalf("offline message %d: %q %q qos %d", i, p.Topic, p.Payload, p.QoS)
		}
	}
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)

	// Messages queued for a session that then connects clean are dropped with it.
	pub.publish(&packets.Publish{Topic: "ps/t", QoS: 1, PacketID: 9, Payload: []byte("stale")})
	c, ack = persist(true)
	if ack.SessionPresent {
		t.Fatal("clean session CONNACK: session present=true, want false")
	}
	c.expectNothing(400*time.Millisecond, "clean session must discard queued messages")
}

// TestSessionExpiryV5 checks a 2 s session expiry: kept before, gone after.
func TestSessionExpiryV5(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	conn := func() (*raw, *packets.Connack) {
		c := dialRaw(t, n.addr, packets.V5)
		return c, c.connect(&packets.Connect{ClientID: "expiring", KeepAlive: 60,
			Props: &packets.Properties{SessionExpiry: ptr[uint32](2)}})
	}
	c, ack := conn()
	if ack.SessionPresent {
		t.Fatal("first connect has session present")
	}
	c.subscribe(1, nil, sub("se/t", 1))
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)
	c, ack = conn()
	if !ack.SessionPresent {
		t.Fatal("reconnect within expiry: session present=false, want true")
	}
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)
	time.Sleep(3 * time.Second) // the property under test is elapsed time: wait past the 2 s expiry
	c, ack = conn()
	if ack.SessionPresent {
		t.Fatal("reconnect after expiry: session present=true, want false")
	}
	pub := dialRaw(t, n.addr, packets.V5)
	pub.mustConnect("se-pub")
	pub.publish(&packets.Publish{Topic: "se/t", QoS: 1, PacketID: 1, Payload: []byte("x")})
	c.expectNothing(300*time.Millisecond, "expired session's subscription must be gone")
}

// TestMessageExpiry checks a 1 s message expiry for an offline session.
func TestMessageExpiry(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	conn := func() (*raw, *packets.Connack) {
		c := dialRaw(t, n.addr, packets.V5)
		return c, c.connect(&packets.Connect{ClientID: "mx", KeepAlive: 60,
			Props: &packets.Properties{SessionExpiry: ptr[uint32](60)}})
	}
	c, _ := conn()
	c.subscribe(1, nil, sub("mx/t", 1))
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)
	pub := dialRaw(t, n.addr, packets.V5)
	pub.mustConnect("mx-pub")
	pub.publish(&packets.Publish{Topic: "mx/t", QoS: 1, PacketID: 1, Payload: []byte("short"),
		Props: &packets.Properties{MessageExpiry: ptr[uint32](1)}})
	pub.publish(&packets.Publish{Topic: "mx/t", QoS: 1, PacketID: 2, Payload: []byte("long"),
		Props: &packets.Properties{MessageExpiry: ptr[uint32](60)}})
	time.Sleep(2 * time.Second) // the property under test is elapsed time: outlive the 1 s expiry
	c, ack := conn()
	if !ack.SessionPresent {
		t.Fatal("session present=false, want true")
	}
	p := c.recvPublish(3 * time.Second)
	if string(p.Payload) != "long" {
		t.Fatalf("got %q, want only the unexpired message \"long\"", p.Payload)
	}
	if p.Props == nil || p.Props.MessageExpiry == nil || *p.Props.MessageExpiry > 59 {
		t.Fatalf("message expiry not decremented: %+v", p.Props)
	}
	c.expectNothing(300*time.Millisecond, "expired message must not be delivered")
}

// TestTakeover checks a second connection with the same id takes the session over.
func TestTakeover(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	first := dialRaw(t, n.addr, packets.V5)
	first.mustConnect("same")
	second := dialRaw(t, n.addr, packets.V5)
	second.mustConnect("same")
	first.expectDisconnect(packets.SessionTakenOver, 3*time.Second)
	second.send(&packets.Pingreq{})
	next[*packets.Pingresp](second, 2*time.Second)
	// 3.1.1 has no DISCONNECT from the server: the old socket just closes.
	old := dialRaw(t, n.addr, packets.V311)
	old.mustConnect("same3")
	nw := dialRaw(t, n.addr, packets.V311)
	nw.mustConnect("same3")
	old.expectClosed(3 * time.Second)
}
