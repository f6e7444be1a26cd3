package node

import (
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// max_keepalive lowers a larger keep alive and announces it to MQTT 5 clients as
// Server Keep Alive [MQTT-3.2.2-21]; a client within the cap gets no property.
func TestMaxKeepaliveV5ServerKeepAlive(t *testing.T) {
	_, addr := startNode(t, "max_keepalive = 10")
	_, ack := dialV5(t, addr, "asks-30", nil) // dialV5 asks for 30 s
	if ack.Properties == nil || ack.Properties.ServerKeepAlive == nil || *ack.Properties.ServerKeepAlive != 10 {
		t.Fatalf("CONNACK Server Keep Alive = %+v, want 10", ack.Properties)
	}
	_, addr2 := startNode(t, "max_keepalive = 60")
	if _, ack := dialV5(t, addr2, "asks-30", nil); ack.Properties != nil && ack.Properties.ServerKeepAlive != nil {
		t.Fatalf("keep alive 30 within max_keepalive 60, yet Server Keep Alive %d sent", *ack.Properties.ServerKeepAlive)
	}
}

// A 3.1.1 client cannot be told; it is held to the cap: silent for 1.5 times
// max_keepalive, it is disconnected though it asked for 10 minutes.
func TestMaxKeepaliveHolds311Clients(t *testing.T) {
	n, addr := startNode(t, "max_keepalive = 1", "park_idle_connections_after = 0")
	before := n.Metrics.V4.KeepaliveExpired.Value()
	c := dial311(t, addr, "asks-600", 600, nil)
	start := time.Now()
	if !c.closedWithin(5 * time.Second) {
		t.Fatal("3.1.1 client with keep alive 600 s not closed within 5 s under max_keepalive = 1")
	}
	if el := time.Since(start); el < time.Second || el > 3*time.Second {
		t.Fatalf("closed after %v; 1.5 x max_keepalive (+ sweep) is 1.5 s to 3 s", el)
	}
	if n.Metrics.V4.KeepaliveExpired.Value() != before+1 {
		t.Fatal("keep alive expiry not counted")
	}
	// Keep alive 0 (none) is capped too, and a client pinging in time stays.
	c0 := dial311(t, addr, "asks-0", 0, nil)
	if !c0.closedWithin(5 * time.Second) {
		t.Fatal("keep alive 0 not held to max_keepalive")
	}
	live := dial311(t, addr, "pinger", 600, nil)
	for range 4 {
		time.Sleep(500 * time.Millisecond) // the client's own ping period, under the 1 s cap
		live.send(t, &packets.Pingreq{})
		if _, ok := live.read(t).(*packets.Pingresp); !ok {
			t.Fatal("a client pinging within max_keepalive was disconnected")
		}
	}
}
