//go:build linux

package conn_test

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/conn"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// The reader decodes CONNECT and SUBSCRIBE into its scratch, as it does PUBLISH and acks:
// a tracer (vmq-admin trace client) that keeps a packet keeps its own copy, which the
// next packet read does not change.
func TestTraceKeepsPacketsReadIntoScratch(t *testing.T) {
	srv, _, l := startServer(t)
	var mu sync.Mutex
	var in []packets.Packet
	stop := srv.Trace("", "traced", func(dir string, p packets.Packet) {
		if dir == conn.TraceIn {
			mu.Lock()
			in = append(in, p)
			mu.Unlock()
		}
	})
	defer stop()
	c, err := net.DialTimeout("tcp", l.Addr().String(), eventually.Wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(eventually.Wait))
	r := bufio.NewReader(c)
	send := func(p packets.Packet) packets.Packet {
		t.Helper()
		b, err := packets.Encode(nil, p, packets.V311)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		ans, err := packets.ReadPacket(r, packets.V311, 0)
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	send(&packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, KeepAlive: 60, ClientID: "traced"})
	for _, f := range []string{"a/1", "b/2"} {
		if ack, ok := send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: f, Options: packets.SubOptions{QoS: 1}}}}).(*packets.Suback); !ok || len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] != 1 {
			t.Fatalf("SUBSCRIBE %s answered %+v", f, ack)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var filters []string
	for _, p := range in {
		if s, ok := p.(*packets.Subscribe); ok {
			filters = append(filters, s.Subscriptions[0].Filter)
		}
	}
	if len(filters) != 2 || filters[0] != "a/1" || filters[1] != "b/2" {
		t.Fatalf("traced SUBSCRIBEs hold %q, want [a/1 b/2]", filters)
	}
}
