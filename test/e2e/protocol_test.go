package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestMalformedInput sends broken packets on raw v5 sockets; the node must answer with the
// right DISCONNECT, close, and keep serving.
func TestMalformedInput(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	cases := []struct {
		name string
		send func(r *raw)
		code packets.ReasonCode
	}{
		// A remaining length whose 4th byte still has the continuation bit.
		{"bad remaining length", func(r *raw) { r.sendBytes([]byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}) }, packets.MalformedPacket},
		// PINGREQ must have flags 0; SUBSCRIBE must have 0x2.
		{"reserved flags pingreq", func(r *raw) { r.sendBytes([]byte{0xC1, 0x00}) }, packets.MalformedPacket},
		{"reserved flags subscribe", func(r *raw) { r.sendBytes([]byte{0x80, 0x06, 0, 1, 0, 1, 'a', 0}) }, packets.MalformedPacket},
		{"second connect", func(r *raw) {
			r.send(&packets.Connect{ProtocolName: "MQTT", ProtocolLevel: packets.V5, CleanStart: true, ClientID: "again"})
		}, packets.ProtocolError},
		{"wildcard in publish topic +", func(r *raw) { r.send(&packets.Publish{Topic: "a/+/b", Payload: []byte("x")}) }, packets.TopicNameInvalid},
		{"wildcard in publish topic #", func(r *raw) {
			r.send(&packets.Publish{Topic: "a/#", QoS: 1, PacketID: 1, Payload: []byte("x")})
		}, packets.TopicNameInvalid},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			r := dialRaw(t, n.addr, packets.V5)
			r.mustConnect("bad-" + strings.ReplaceAll(tc.name, " ", "-"))
			tc.send(r)
			r.expectDisconnect(tc.code, 3*time.Second)
			n.Alive()
			servesAfter(t, n)
		})
	}
	t.Run("publish_before_connect", func(t *testing.T) {
		r := dialRaw(t, n.addr, packets.V5)
		r.send(&packets.Publish{Topic: "early", Payload: []byte("x")})
		// No CONNACK yet, so no DISCONNECT is allowed either [MQTT-3.2.0-2]: just the close.
		r.expectClosed(3 * time.Second)
		n.Alive()
		servesAfter(t, n)
	})
}

// servesAfter proves the node still routes messages for new clients.
func servesAfter(t *testing.T, n *node) {
	t.Helper()
	s := dialRaw(t, n.addr, packets.V5)
	s.mustConnect("after-sub")
	s.subscribe(1, nil, sub("after", 1))
	p := dialRaw(t, n.addr, packets.V311)
	p.mustConnect("after-pub")
	p.publish(&packets.Publish{Topic: "after", QoS: 1, PacketID: 1, Payload: []byte("ok")})
	if got := s.recvPublish(2 * time.Second); string(got.Payload) != "ok" {
		t.Fatalf("after malformed input: got %q", got.Payload)
	}
	s.send(&packets.Disconnect{})
	p.send(&packets.Disconnect{})
}

// TestKeepAlive checks a silent client with keepalive 1 s is dropped after 1.5x, within 1.5-2.5 s.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	r := dialRaw(t, n.addr, packets.V5)
	if ack := r.connect(&packets.Connect{ClientID: "ka", CleanStart: true, KeepAlive: 1}); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X", byte(ack.ReasonCode))
	}
	start := time.Now()
	p, err := r.read(4 * time.Second)
	if err == nil {
		d, ok := p.(*packets.Disconnect)
		if !ok || d.ReasonCode != packets.KeepAliveTimeout {
			t.Fatalf("got %T %+v, want DISCONNECT 0x8D or a plain close", p, p)
		}
		r.expectClosed(time.Second)
	} else if isTimeout(err) {
		t.Fatal("still connected 4 s after a 1 s keepalive")
	}
	if el := time.Since(start); el < 1400*time.Millisecond || el > 2600*time.Millisecond {
		t.Fatalf("disconnected after %v, want 1.5-2.5 s", el)
	}
}

// TestMaxMessageSize checks max_message_size = 1KB refuses a bigger PUBLISH with 0x95.
func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	n := startNode(t, map[string]string{"max_message_size": "1KB"})
	s := dialRaw(t, n.addr, packets.V5)
	s.mustConnect("mms-sub")
	s.subscribe(1, nil, sub("big", 0))
	r := dialRaw(t, n.addr, packets.V5)
	ack := r.mustConnect("mms")
	// VerneMQ need not advertise the limit; when it does it must be the configured one.
	if ack.Props != nil && ack.Props.MaximumPacketSize != nil && *ack.Props.MaximumPacketSize != 1024 {
		t.Errorf("CONNACK Maximum Packet Size %d, want 1024", *ack.Props.MaximumPacketSize)
	}
	r.publish(&packets.Publish{Topic: "big", Payload: make([]byte, 900)})
	if p := s.recvPublish(2 * time.Second); len(p.Payload) != 900 {
		t.Fatalf("900-byte payload arrived as %d bytes", len(p.Payload))
	}
	r.send(&packets.Publish{Topic: "big", Payload: make([]byte, 2000)})
	r.expectDisconnect(packets.PacketTooLarge, 3*time.Second)
	s.expectNothing(300*time.Millisecond, "an oversized PUBLISH must not be routed")
}

// TestTopicAlias checks client-to-broker topic aliases with topic_alias_max_broker = 10.
func TestTopicAlias(t *testing.T) {
	t.Parallel()
	n := startNode(t, map[string]string{"topic_alias_max_broker": "10"})
	s := dialRaw(t, n.addr, packets.V5)
	s.mustConnect("ta-sub")
	s.subscribe(1, nil, sub("ta/#", 1))
	r := dialRaw(t, n.addr, packets.V5)
	ack := r.mustConnect("ta")
	if ack.Props == nil || ack.Props.TopicAliasMaximum == nil || *ack.Props.TopicAliasMaximum != 10 {
		t.Fatalf("CONNACK Topic Alias Maximum %+v, want 10", ack.Props)
	}
	alias := func(a uint16) *packets.Properties { return &packets.Properties{TopicAlias: ptr(a)} }
	r.publish(&packets.Publish{Topic: "ta/one", QoS: 1, PacketID: 1, Props: alias(3), Payload: []byte("1")})
	r.publish(&packets.Publish{Topic: "", QoS: 1, PacketID: 2, Props: alias(3), Payload: []byte("2")})
	r.publish(&packets.Publish{Topic: "ta/two", QoS: 1, PacketID: 3, Props: alias(3), Payload: []byte("3")}) // remap
	r.publish(&packets.Publish{Topic: "", QoS: 1, PacketID: 4, Props: alias(3), Payload: []byte("4")})
	for _, want := range []string{"ta/one 1", "ta/one 2", "ta/two 3", "ta/two 4"} {
		p := s.recvPublish(2 * time.Second)
		if got := p.Topic + " " + string(p.Payload); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		if p.Props != nil && p.Props.TopicAlias != nil {
			t.Fatalf("subscriber got the publisher's topic alias %d", *p.Props.TopicAlias)
		}
	}
	r.send(&packets.Publish{Topic: "ta/x", Props: alias(11), Payload: []byte("x")})
	r.expectDisconnect(packets.TopicAliasInvalid, 3*time.Second)
	z := dialRaw(t, n.addr, packets.V5)
	z.mustConnect("ta0")
	z.send(&packets.Publish{Topic: "ta/x", Props: alias(0), Payload: []byte("x")})
	z.expectDisconnect(packets.TopicAliasInvalid, 3*time.Second)
	u := dialRaw(t, n.addr, packets.V5)
	u.mustConnect("ta-unknown")
	u.send(&packets.Publish{Topic: "", Props: alias(5), Payload: []byte("x")})
	u.expectDisconnect(packets.ProtocolError, 3*time.Second)
}
