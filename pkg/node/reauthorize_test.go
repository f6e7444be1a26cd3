package node

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// vmq-admin session reauthorize applies a changed ACL file to a session's existing
// subscriptions: the one the file no longer grants is removed (and gets no more messages),
// the others stay; asked again, it prints Unchanged; a session not on the node is an error.
func TestSessionReauthorize(t *testing.T) {
	dir := t.TempDir()
	acl := filepath.Join(dir, "user.acl")
	if err := os.WriteFile(acl, []byte("user alice\ntopic read a/b\ntopic read c/d\ntopic write #\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, addr := startNode(t, "vmq_acl.acl_file = "+acl, "vmq_acl.acl_reload_interval = 1")
	msgs := make(chan string, 10)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("dev").SetUsername("alice").
		SetCleanSession(false).SetAutoReconnect(false))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(0)
	tok := sub.SubscribeMultiple(map[string]byte{"a/b": 1, "c/d": 1}, func(_ mqtt.Client, m mqtt.Message) { msgs <- m.Topic() })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if got := adminCall(t, n, "session reauthorize username=alice client-id=dev").Text; got != "Unchanged" {
		t.Fatalf("before the change: %q, want Unchanged", got)
	}
	if err := os.WriteFile(acl, []byte("user alice\ntopic read a/b\ntopic write #\n# c/d no longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "c/d removed once the file is reloaded", func() bool {
		return adminCall(t, n, "session reauthorize username=alice client-id=dev").Text == "Removed: c/d"
	})
	if got := adminCall(t, n, "session reauthorize username=alice client-id=dev").Text; got != "Unchanged" {
		t.Fatalf("asked again: %q, want Unchanged", got)
	}
	if res := adminCall(t, n, "session reauthorize username=alice client-id=nobody"); res.Type != "error" {
		t.Fatalf("unknown session: %+v", res)
	}
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("pub").SetUsername("alice").
		SetAutoReconnect(false))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect pub: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	for _, topic := range []string{"c/d", "a/b"} {
		if tok := pub.Publish(topic, 1, false, "x"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	var got []string
	eventually.True(t, eventually.Wait, "a/b delivered", func() bool {
		for {
			select {
			case topic := <-msgs:
				got = append(got, topic)
			default:
				return slices.Contains(got, "a/b")
			}
		}
	})
	if !slices.Equal(got, []string{"a/b"}) {
		t.Fatalf("after reauthorize the subscriber got %v, want only a/b (c/d was published first)", got)
	}
}
