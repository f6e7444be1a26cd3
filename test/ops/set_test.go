package ops

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// vmq-admin set max_offline_messages=2 makes an offline session keep only 2 messages,
// and metrics show counts the drops.
func TestSetMaxOfflineMessages(t *testing.T) {
	t.Parallel()
	n := startNode(t, "", nil)
	if out := n.mustAdmin("set", "max_offline_messages=2"); !strings.Contains(out, "Done") && strings.TrimSpace(out) != "" {
		t.Logf("set answered: %s", out)
	}
	if out := n.mustAdmin("show", "max_offline_messages"); !strings.Contains(out, "2") {
		t.Fatalf("show max_offline_messages after set:\n%s", out)
	}
	sub := connect(t, n.addr, "offline-sub", false, nil)
	if tok := sub.Subscribe("off/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	sub.Disconnect(50)
	eventually.True(t, 5*time.Second, "the session to go offline", func() bool {
		return n.metric("active_mqtt_connections") == 0
	})
	dropsBefore := n.metric("queue_message_drop")
	pub := connect(t, n.addr, "offline-pub", true, nil)
	const sent = 5
	for i := range sent {
		if tok := pub.Publish("off/x", 1, false, []byte{byte('0' + i)}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	eventually.True(t, 5*time.Second, "3 drops in metrics show", func() bool {
		return n.metric("queue_message_drop")-dropsBefore == sent-2
	})
	var got atomic.Int32
	end := make(chan struct{})
	connect(t, n.addr, "offline-sub", false, func(_ mqtt.Client, m mqtt.Message) {
		if string(m.Payload()) == "end" {
			close(end)
			return
		}
		got.Add(1)
	})
	// A marker published now is queued behind whatever the session kept, so when it
	// arrives every kept message has arrived.
	if tok := pub.Publish("off/x", 1, false, "end"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish marker: %v", tok.Error())
	}
	select {
	case <-end:
	case <-time.After(5 * time.Second):
		t.Fatalf("marker not delivered; got %d messages", got.Load())
	}
	if g := got.Load(); g != 2 {
		t.Fatalf("reconnected session got %d queued messages, want max_offline_messages = 2", g)
	}
	// Back at the default the same flow keeps all 5.
	n.mustAdmin("set", "max_offline_messages=1000")
	if out := n.mustAdmin("show", "max_offline_messages"); !strings.Contains(out, "1000") {
		t.Fatalf("show max_offline_messages after set 1000:\n%s", out)
	}
}
