package e2e

import (
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestRetained covers set, delivery on subscribe, clear by empty payload and retain handling 2.
func TestRetained(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	pub := dialRaw(t, n.addr, packets.V5)
	pub.mustConnect("rpub")
	if rc := pub.publish(&packets.Publish{Topic: "r/a", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("keep")}); rc != 0 {
		t.Fatalf("PUBACK 0x%02X", byte(rc))
	}
	// v5 subscriber gets it with the retain flag.
	s := dialRaw(t, n.addr, packets.V5)
	s.mustConnect("rsub")
	s.subscribe(1, nil, sub("r/#", 1))
	p := s.recvPublish(2 * time.Second)
	if p.Topic != "r/a" || string(p.Payload) != "keep" || !p.Retain || p.QoS != 1 {
		t.Fatalf("retained delivery %+v", p)
	}
	// 3.1.1 subscriber too.
	in := newInbox()
	c3 := pahoV3(t, n.addr, "rsub3", 4, true, in)
	waitTok(t, c3.Subscribe("r/+", 0, nil), "subscribe r/+")
	if m := in.next(t, 2*time.Second); m.topic != "r/a" || m.payload != "keep" || !m.retain {
		t.Fatalf("3.1.1 retained delivery %+v", m)
	}
	// Retain handling 2: nothing on subscribe.
	rh := dialRaw(t, n.addr, packets.V5)
	rh.mustConnect("rh2")
	rh.subscribe(1, nil, packets.Subscription{Filter: "r/#", Options: packets.SubOptions{QoS: 1, RetainHandling: 2}})
	rh.expectNothing(400*time.Millisecond, "retain handling 2 must not send retained messages")
	// Empty payload clears it.
	pub.publish(&packets.Publish{Topic: "r/a", QoS: 1, PacketID: 2, Retain: true})
	late := dialRaw(t, n.addr, packets.V5)
	late.mustConnect("rlate")
	late.subscribe(1, nil, sub("r/#", 1))
	late.expectNothing(400*time.Millisecond, "an empty retained payload clears the retained message")
}

// TestRetainAsPublished checks the retain flag of live deliveries with and without RAP.
func TestRetainAsPublished(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	rap := dialRaw(t, n.addr, packets.V5)
	rap.mustConnect("rap")
	rap.subscribe(1, nil, packets.Subscription{Filter: "rap/#", Options: packets.SubOptions{QoS: 1, RetainAsPublished: true}})
	plain := dialRaw(t, n.addr, packets.V5)
	plain.mustConnect("norap")
	plain.subscribe(1, nil, sub("rap/#", 1))
	pub := dialRaw(t, n.addr, packets.V5)
	pub.mustConnect("rap-pub")
	pub.publish(&packets.Publish{Topic: "rap/x", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("v")})
	if p := rap.recvPublish(2 * time.Second); !p.Retain {
		t.Fatal("Retain As Published subscriber got retain=0, want 1")
	}
	if p := plain.recvPublish(2 * time.Second); p.Retain {
		t.Fatal("live delivery without Retain As Published has retain=1, want 0")
	}
}
