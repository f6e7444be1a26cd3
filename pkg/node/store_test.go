package node

import (
	"context"
	"fmt"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/pkg/config"
)

func v3(t *testing.T, addr, id string, clean bool) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetCleanSession(clean).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// metricSum is the sum of name over all its label combinations (-1 when it has none).
func metricSum(n *Node, name string) float64 {
	sum, found := 0.0, false
	for _, s := range n.Reg.Snapshot() {
		if s.Name == name {
			sum, found = sum+s.Value, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

func metric(n *Node, name string) float64 {
	for _, s := range n.Reg.Snapshot() {
		if s.Name == name && len(s.Labels) == 0 {
			return s.Value
		}
	}
	return -1
}

func dropped(n *Node, reason string) float64 {
	for _, s := range n.Reg.Snapshot() {
		if s.Name == "queue_message_drop_reason" && s.Labels["reason"] == reason {
			return s.Value
		}
	}
	return -1
}

// max_offline_messages drops by the queue rule, counts it, and a run-time change applies to new messages.
func TestOfflineLimitAtRuntime(t *testing.T) {
	n, addr := startNode(t, "max_offline_messages = 3")
	sub := v3(t, addr, "offline", false)
	sub.Subscribe("q/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	eventually.True(t, eventually.Wait, "session offline", func() bool { s := n.Broker.Session(idOf("offline")); return s != nil && !s.Online() })
	pub := v3(t, addr, "pub", true)
	defer pub.Disconnect(10)
	send := func(k int) {
		for i := 0; i < k; i++ {
			pub.Publish("q/1", 1, false, "m").WaitTimeout(5 * time.Second)
		}
	}
	send(5)
	if got := n.Store.QueueLen(storeKey("offline")); got != 3 {
		t.Fatalf("offline queue holds %d, want max_offline_messages 3", got)
	}
	if d := dropped(n, "queue_full"); d != 2 {
		t.Fatalf("queue_full drops counted %v, want 2", d)
	}
	if err := n.Set("max_offline_messages", "5"); err != nil {
		t.Fatal(err)
	}
	send(5)
	if got := n.Store.QueueLen(storeKey("offline")); got != 5 {
		t.Fatalf("after set max_offline_messages=5 the queue holds %d", got)
	}
	if err := n.Set("topic_max_depth", "3"); err == nil || !strings.Contains(err.Error(), "restart") {
		// topic_max_depth may or may not be run-time; a key that is not must say it needs a restart.
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
}

// persistent_client_expiration removes 3.1.1 persistent sessions offline for longer, with their queue.
func TestPersistentClientExpiration(t *testing.T) {
	n, addr := startNode(t, "persistent_client_expiration = 1s")
	sub := v3(t, addr, "short", false)
	sub.Subscribe("e/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	pub := v3(t, addr, "pub", true)
	pub.Publish("e/1", 1, false, "m").WaitTimeout(5 * time.Second)
	pub.Disconnect(10)
	eventually.True(t, eventually.Wait, "session expired", func() bool { return n.Broker.Session(idOf("short")) == nil })
	eventually.True(t, eventually.Wait, "queue removed from the store", func() bool { return n.Store.QueueLen(storeKey("short")) == 0 })
	// The counter follows the store cleanup, a moment after the session leaves the registry.
	eventually.True(t, eventually.Wait, "session_expired counted", func() bool { return metric(n, "session_expired") == 1 })
}

// A v5 message expiry passes while the message waits in an offline queue: it is not delivered.
func TestMessageExpiryInQueue(t *testing.T) {
	_, addr := startNode(t)
	exp := uint32(3600)
	sub, _ := dialV5(t, addr, "exp-sub", &paho.ConnectProperties{SessionExpiryInterval: &exp})
	ctx := context.Background()
	sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "x/#", QoS: 1}}})
	sub.c.Disconnect(&paho.Disconnect{})
	pub, _ := dialV5(t, addr, "exp-pub", nil)
	one := uint32(1)
	pub.c.Publish(ctx, &paho.Publish{Topic: "x/short", QoS: 1, Payload: []byte("short"), Properties: &paho.PublishProperties{MessageExpiry: &one}})
	pub.c.Publish(ctx, &paho.Publish{Topic: "x/long", QoS: 1, Payload: []byte("long")})
	time.Sleep(1500 * time.Millisecond) // the property under test is elapsed time: outlive the 1 s message expiry
	again, ack := dialV5Resume(t, addr, "exp-sub", exp)
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	eventually.True(t, eventually.Wait, "long-lived message", func() bool { return len(again.received()) >= 1 })
	eventually.Never(t, eventually.Settle, "the expired message delivered", func() bool {
		for _, m := range again.received() {
			if string(m.Payload) == "short" {
				return true
			}
		}
		return false
	})
	for _, m := range again.received() {
		if string(m.Payload) == "short" {
			t.Fatal("expired message delivered")
		}
	}
}

func dialV5Resume(t *testing.T, addr, id string, exp uint32) (*v5client, *paho.Connack) {
	t.Helper()
	vc, ack := dialV5Opts(t, addr, id, false, &paho.ConnectProperties{SessionExpiryInterval: &exp})
	return vc, ack
}

// A store file that is not a store: the node refuses to start and names the file.
func TestCorruptStoreRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "msgstore", "messages.db")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o644)
	cfg, _, err := config.Parse(strings.NewReader("listener.tcp.default = 127.0.0.1:0\nplatform_data_dir = "+dir+"\n"), "t.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("want an error naming %s, got %v", path, err)
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "not a bbolt file") {
		t.Fatal("the foreign file was modified")
	}
}

// Filling and draining offline queues over and over reuses freed pages: the file stops growing.
func TestStoreSizeStaysBounded(t *testing.T) {
	n, addr := startNode(t, "max_offline_messages = -1", "store.fsync = off")
	sub := v3(t, addr, "cycle", false)
	sub.Subscribe("c/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	pub := v3(t, addr, "pub", true)
	defer pub.Disconnect(10)
	payload := strings.Repeat("x", 512)
	var sizes []int64
	for round := 0; round < 4; round++ {
		for i := 0; i < 500; i++ {
			pub.Publish("c/1", 1, false, payload).WaitTimeout(5 * time.Second)
		}
		got := make(chan struct{}, 1000)
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("cycle").SetCleanSession(false).
			SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { got <- struct{}{} }))
		c.Connect().WaitTimeout(5 * time.Second)
		for i := 0; i < 500; i++ {
			select {
			case <-got:
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: only %d of 500 queued messages delivered", round, i)
			}
		}
		// Every PUBACK removes its stored copy (asynchronously): wait for that while the client is still connected.
		eventually.True(t, eventually.Wait, "store drained", func() bool { return n.Store.QueueLen(storeKey("cycle")) == 0 })
		c.Disconnect(100)
		sizes = append(sizes, n.Store.Stats().FileSize)
	}
	if sizes[3] > sizes[1]*3/2 {
		t.Fatalf("store file keeps growing across fill/drain cycles: %v", sizes)
	}
	if metric(n, "store_file_size") <= 0 {
		t.Fatal("store_file_size metric missing")
	}
	t.Logf("store file sizes after each cycle: %v", sizes)
}

// A changed persistent_client_expiration applies to sessions already offline.
func TestClientExpirationChangedAtRuntime(t *testing.T) {
	n, addr := startNode(t)
	sub := v3(t, addr, "later", false)
	sub.Subscribe("e/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	eventually.True(t, eventually.Wait, "offline", func() bool { s := n.Broker.Session(idOf("later")); return s != nil && !s.Online() })
	if err := n.Set("persistent_client_expiration", "1s"); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "session expired after the run-time change", func() bool { return n.Broker.Session(idOf("later")) == nil })
}

var _ = fmt.Sprint

// A returning client gets its whole stored queue, in order, although it is longer than
// max_online_messages: the store is read in steps (never more than one step in memory),
// and messages published meanwhile queue behind the backlog.
func TestLongOfflineQueueDrainsInOrder(t *testing.T) {
	n, addr := startNode(t, "max_offline_messages = -1", "max_online_messages = 500", "store.fsync = off")
	sub := v3(t, addr, "backlog", false)
	sub.Subscribe("b/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	eventually.True(t, eventually.Wait, "offline", func() bool { s := n.Broker.Session(idOf("backlog")); return s != nil && !s.Online() })
	pub := v3(t, addr, "pub", true)
	defer pub.Disconnect(10)
	const stored, live = 2200, 300
	for i := 0; i < stored; i++ {
		pub.Publish("b/1", 1, false, fmt.Sprint(i))
	}
	pub.Publish("b/1", 1, false, "fence").WaitTimeout(5 * time.Second)
	got := make(chan string, stored+live+10)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("backlog").SetCleanSession(false).
		SetOrderMatters(true).SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(10)
	s := n.Broker.Session(idOf("backlog"))
	for i := 0; i < live; i++ {
		pub.Publish("b/1", 1, false, fmt.Sprint("live-", i))
		if q := s.QueueLen(); q > 1000 {
			t.Fatalf("%d deliveries in memory while draining; the step is 500", q)
		}
	}
	var want []string
	for i := 0; i < stored; i++ {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, "fence")
	for i := 0; i < live; i++ {
		want = append(want, fmt.Sprint("live-", i))
	}
	for i, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Fatalf("message %d is %q, want %q (order broken or message lost)", i, g, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d messages arrived", i, len(want))
		}
	}
	if d := dropped(n, "queue_full"); d > 0 {
		t.Fatalf("%v messages dropped", d)
	}
}

// TestStoreCommitDelayConf: the conf's store.commit_delay = 0 turns the delay off (the
// store's zero value would have meant its 2ms default); other values pass through.
func TestStoreCommitDelayConf(t *testing.T) {
	for conf, want := range map[string]time.Duration{"": 2 * time.Millisecond, "store.commit_delay = 0\n": -1, "store.commit_delay = 5ms\n": 5 * time.Millisecond} {
		cfg, _, err := config.Parse(strings.NewReader(conf), "t.conf", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := storeOptions(cfg, nil).CommitDelay; got != want {
			t.Errorf("%q: CommitDelay %v, want %v", conf, got, want)
		}
	}
}
