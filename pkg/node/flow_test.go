package node

import (
	"strconv"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// QoS 0 flow control: while a subscriber's queue is congested its QoS 0 publishers wait
// a few milliseconds per publish (so the flusher gets the CPU), never long, and a queue
// that stays full still drops and counts, as VerneMQ does.
func TestQoS0FlowControlIsShortAndDropsStillCount(t *testing.T) {
	n, addr := startNode(t, "max_online_messages = 40")
	stuck := dial311(t, addr, "stuck", 60, nil)
	stuck.send(t, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "big/#"}}})
	stuck.read(t)
	// The subscriber never reads again: 64 KiB messages fill the socket buffers, then its queue.
	pub := dial311(t, addr, "firehose", 60, nil)
	payload := make([]byte, 64<<10)
	const total = 400
	start := time.Now()
	for i := range total {
		pub.send(t, &packets.Publish{Topic: "big/" + strconv.Itoa(i%4), Payload: payload})
	}
	pub.send(t, &packets.Pingreq{})
	if _, ok := pub.read(t).(*packets.Pingresp); !ok {
		t.Fatal("publisher stalled: no PINGRESP")
	}
	el := time.Since(start)
	drops := n.Metrics.QueueMessageDrop.Value()
	t.Logf("%d QoS 0 publishes to a stuck subscriber took %v; %d dropped", total, el, drops)
	if drops == 0 {
		t.Fatal("a full queue dropped nothing")
	}
	if el > 10*time.Second {
		t.Fatalf("publisher slowed for %v: QoS 0 waits must stay short", el)
	}
	if el < time.Duration(drops)*2*time.Millisecond {
		t.Fatalf("%d drops in %v: publishers to a congested queue were not slowed", drops, el)
	}
}
