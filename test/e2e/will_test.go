package e2e

import (
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// willWatcher subscribes to will/# on a fresh connection.
func willWatcher(t *testing.T, addr, id string) *raw {
	w := dialRaw(t, addr, packets.V5)
	w.mustConnect(id)
	w.subscribe(1, nil, sub("will/#", 1))
	return w
}

// TestWillOnAbnormalClose checks the will is published when the socket drops, at 3.1.1 and 5.
func TestWillOnAbnormalClose(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	w := willWatcher(t, n.addr, "will-watch")
	for _, v := range []byte{packets.V311, packets.V5} {
		c := dialRaw(t, n.addr, v)
		topic := "will/abnormal/" + string('0'+v)
		ack := c.connect(&packets.Connect{ClientID: "w" + string('0'+v), CleanStart: true, KeepAlive: 60,
			Will: &packets.Will{Topic: topic, Payload: []byte("gone"), QoS: 1}})
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK 0x%02X", byte(ack.ReasonCode))
		}
		c.c.Close()
		p := w.recvPublish(3 * time.Second)
		if p.Topic != topic || string(p.Payload) != "gone" {
			t.Fatalf("will got %q %q, want %q gone", p.Topic, p.Payload, topic)
		}
	}
}

// TestWillNotOnNormalDisconnect checks DISCONNECT 0x00 discards the will.
func TestWillNotOnNormalDisconnect(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	w := willWatcher(t, n.addr, "will-watch")
	for _, v := range []byte{packets.V311, packets.V5} {
		c := dialRaw(t, n.addr, v)
		c.connect(&packets.Connect{ClientID: "n" + string('0'+v), CleanStart: true, KeepAlive: 60,
			Will: &packets.Will{Topic: "will/normal", Payload: []byte("gone"), QoS: 1}})
		c.send(&packets.Disconnect{})
		c.expectClosed(2 * time.Second)
	}
	w.expectNothing(600*time.Millisecond, "a normal DISCONNECT must not publish the will")
}

// TestWillDelay checks a v5 will delay of 1 s is honoured and cancelled by a reconnect.
func TestWillDelay(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	w := willWatcher(t, n.addr, "will-watch")
	connectWill := func(id string, clean bool) *raw {
		c := dialRaw(t, n.addr, packets.V5)
		ack := c.connect(&packets.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60,
			Props: &packets.Properties{SessionExpiry: ptr[uint32](60)},
			Will: &packets.Will{Topic: "will/delay/" + id, Payload: []byte(id), QoS: 1,
				Props: &packets.Properties{WillDelay: ptr[uint32](1)}}})
		if ack.ReasonCode != 0 {
			t.Fatalf("CONNACK 0x%02X", byte(ack.ReasonCode))
		}
		return c
	}
	// Delayed: nothing at once, the will after ~1 s.
	c := connectWill("delayed", true)
	start := time.Now()
	c.c.Close()
	w.expectNothing(600*time.Millisecond, "will delay 1s")
	p := w.recvPublish(3 * time.Second)
	if el := time.Since(start); p.Topic != "will/delay/delayed" || el < 900*time.Millisecond || el > 2500*time.Millisecond {
		t.Fatalf("will %q after %v, want will/delay/delayed after ~1s", p.Topic, el)
	}
	// Cancelled: DISCONNECT 0x04 keeps the will; the server's close proves it saw the disconnect
	// (so this is the offline path, not a takeover); the client comes back before the delay ends.
	c = connectWill("back", true)
	c.send(&packets.Disconnect{ReasonCode: packets.DisconnectWithWill})
	c.expectClosed(2 * time.Second)
	again := dialRaw(t, n.addr, packets.V5)
	ack := again.connect(&packets.Connect{ClientID: "back", KeepAlive: 60,
		Props: &packets.Properties{SessionExpiry: ptr[uint32](60)}})
	if ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("reconnect CONNACK 0x%02X present=%v, want 0x00 present", byte(ack.ReasonCode), ack.SessionPresent)
	}
	w.expectNothing(1800*time.Millisecond, "a reconnect within the will delay cancels the will")
}

// TestWillDelayTakeover checks a delayed will is not sent when a new connection resumes the
// session while the old one is still open [MQTT-3.1.2-8, MQTT-3.1.3-9].
func TestWillDelayTakeover(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	w := willWatcher(t, n.addr, "will-watch")
	old := dialRaw(t, n.addr, packets.V5)
	old.connect(&packets.Connect{ClientID: "tk", KeepAlive: 60,
		Props: &packets.Properties{SessionExpiry: ptr[uint32](60)},
		Will: &packets.Will{Topic: "will/takeover", Payload: []byte("x"), QoS: 1,
			Props: &packets.Properties{WillDelay: ptr[uint32](1)}}})
	nw := dialRaw(t, n.addr, packets.V5)
	ack := nw.connect(&packets.Connect{ClientID: "tk", KeepAlive: 60,
		Props: &packets.Properties{SessionExpiry: ptr[uint32](60)}})
	if ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("takeover CONNACK 0x%02X present=%v, want 0x00 present", byte(ack.ReasonCode), ack.SessionPresent)
	}
	old.expectDisconnect(packets.SessionTakenOver, 2*time.Second)
	w.expectNothing(1800*time.Millisecond, "the session was resumed within the will delay: no will")
}
