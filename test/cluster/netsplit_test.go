package cluster_test

import (
	"github.com/vernemq-go/vernemq/internal/eventually"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func subackCode(c mqtt.Client, filter string) byte {
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		return 0xFF
	}
	return tok.(*mqtt.SubscribeToken).Result()[filter]
}

// While a member is unreachable (SIGSTOP), allow_subscribe_during_netsplit = off (the
// default) refuses subscriptions; when it is back they work again.
func TestNetsplitRefusesSubscribe(t *testing.T) {
	a := startNode(t, "splitA", "cookie-s", "")
	b := startNode(t, "splitB", "cookie-s", a.data)
	c := connect(t, a.mqtt, "watcher", true, nil)
	eventually.True(t, 15*time.Second, "cluster of two", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return containsAll(out, a.name, b.name)
	})
	if code := subackCode(c, "before/#"); code != 1 {
		t.Fatalf("SUBACK before the split: %#x", code)
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	defer b.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "subscriptions refused during the netsplit", func() bool {
		return subackCode(c, "during/#") == 0x80
	})
	b.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "subscriptions accepted after the netsplit", func() bool {
		return subackCode(c, "after/#") == 1
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
