package node

import (
	"context"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// A retained message whose message expiry interval has passed leaves retain show at once,
// and retain delete-expired removes it from the node (num_retained drops).
func TestRetainDeleteExpired(t *testing.T) {
	n, addr := startNode(t)
	pub, _ := dialV5(t, addr, "ret-pub", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	one := uint32(1)
	for _, p := range []*paho.Publish{
		{Topic: "st/short", QoS: 1, Retain: true, Payload: []byte("short"), Properties: &paho.PublishProperties{MessageExpiry: &one}},
		{Topic: "st/kept", QoS: 1, Retain: true, Payload: []byte("kept")},
	} {
		if _, err := pub.c.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if r := row(adminCall(t, n, "retain show"), "topic", "st/short"); r == nil {
		t.Fatal("the retained message with an expiry is not shown before it expires")
	}
	eventually.True(t, 5*time.Second, "st/short to leave retain show once expired", func() bool {
		return row(adminCall(t, n, "retain show"), "topic", "st/short") == nil
	})
	if r := row(adminCall(t, n, "node status"), "Status", "num_retained"); r == nil || r[1] != "2" {
		t.Fatalf("num_retained before delete-expired: %v, want 2 (expired, not yet deleted)", r)
	}
	if res := adminCall(t, n, "retain delete-expired"); res.Text != "Deleted 1 expired retained messages" {
		t.Fatalf("retain delete-expired: %+v", res)
	}
	if r := row(adminCall(t, n, "node status"), "Status", "num_retained"); r == nil || r[1] != "1" {
		t.Fatalf("num_retained after delete-expired: %v, want 1", r)
	}
	if r := row(adminCall(t, n, "retain show"), "topic", "st/kept"); r == nil {
		t.Fatal("the retained message without expiry was deleted")
	}
	if res := adminCall(t, n, "retain delete-expired"); res.Text != "Deleted 0 expired retained messages" {
		t.Fatalf("second retain delete-expired: %+v", res)
	}
}
