package node

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// A subscriber that acknowledges as it reads, but reads slowly through a small socket
// buffer, makes its reader's direct writes fill the socket: what they could not send goes
// out through the flusher. Every message must still arrive once, in order, intact.
func TestSlowAckingSubscriberGetsEverythingInOrder(t *testing.T) {
	// A small send buffer on the broker side: the subscriber's batches of PUBACKs let out more
	// than it holds, so direct writes come back short.
	_, addr := startNode(t, "max_inflight_messages = 500", "max_online_messages = 10000", "listener.tcp.sndbuf = 16KB")
	sub, _ := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "slow-sub", CleanStart: true})
	sub.nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	sub.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "big/#", Options: packets.SubOptions{QoS: 1}}}})
	if _, ok := sub.read(t).(*packets.Suback); !ok {
		t.Fatal("no SUBACK")
	}

	const n, size = 1500, 8 << 10 // 12 MiB: more than loopback socket buffers hold
	pub, _ := dialRaw(t, addr, &packets.Connect{ProtocolLevel: 5, ClientID: "fast-pub", CleanStart: true})
	go func() { // the publisher's PUBACKs are read so its socket never fills
		for {
			pub.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := packets.ReadPacket(pub.br, packets.V5, 0); err != nil {
				return
			}
		}
	}()
	go func() {
		for i := range n {
			payload := bytes.Repeat([]byte{byte(i)}, size)
			binary.BigEndian.PutUint32(payload, uint32(i))
			b, _ := packets.Encode(nil, &packets.Publish{QoS: 1, PacketID: uint16(i%60000 + 1), Topic: "big/t", Payload: payload}, packets.V5)
			if _, err := pub.nc.Write(b); err != nil {
				return
			}
		}
	}()

	var acks []byte
	for i := range n {
		sub.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		p, err := packets.ReadPacket(sub.br, packets.V5, 0)
		if err != nil {
			t.Fatalf("after %d messages: %v", i, err)
		}
		m, ok := p.(*packets.Publish)
		if !ok {
			t.Fatalf("message %d: got %T", i, p)
		}
		if m.Dup || len(m.Payload) != size || binary.BigEndian.Uint32(m.Payload) != uint32(i) || m.Payload[size-1] != byte(i) {
			t.Fatalf("message %d: dup=%v len=%d index=%d: out of order or damaged", i, m.Dup, len(m.Payload), binary.BigEndian.Uint32(m.Payload))
		}
		acks, _ = packets.Encode(acks, &packets.Ack{Kind: packets.PUBACK, PacketID: m.PacketID}, packets.V5)
		if i%50 == 49 { // acknowledge in batches, then pause: the broker's answering writes fill its socket
			if _, err := sub.nc.Write(acks); err != nil {
				t.Fatal(err)
			}
			acks = acks[:0]
			time.Sleep(2 * time.Millisecond) // part of the test: the reader falls behind, so the writes fill the socket
		}
	}
	sub.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if p, err := packets.ReadPacket(sub.br, packets.V5, 0); err == nil {
		t.Fatalf("an extra packet after all %d: %s", n, fmt.Sprintf("%T", p))
	}
}
