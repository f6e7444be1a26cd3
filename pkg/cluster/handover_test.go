package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
)

// startTestNode runs a broker with a message store and its cluster in-process, on loopback.
func startTestNode(t testing.TB, name string) *Cluster {
	t.Helper()
	return startRestoredNode(t, name, nil)
}

// startRestoredNode is startTestNode with restore run on the broker before its cluster
// starts, as a node's start restores its store first.
func startRestoredNode(t testing.TB, name string, restore func(*broker.Broker)) *Cluster {
	t.Helper()
	port, err := freeport.Pair()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "msgs.db"), store.Options{NoSync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := broker.New(broker.Options{Node: name, Store: st, Log: log})
	if restore != nil {
		restore(b)
	}
	c, err := New(Options{Broker: b, Node: name, Cookie: "handover-test", DataAddr: fmt.Sprintf("127.0.0.1:%d", port),
		DataDir: dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		st.Close()
	})
	return c
}

// A session handed over from A to B while publishes keep matching it on A (A's own
// publishers, and messages B forwards to A because B's table still routes there):
// every one reaches the session on B. Before, a publish on A after A took the queue was
// refused by the handed-off session, or forwarded to B ahead of the session (B then had
// no subscriber for it), and acknowledged all the same: the delivery lost in about one
// rolling-restart run of four (test/cluster TestRollingRestartUnderLoad).
func TestHandOverKeepsWhatArrivesMeanwhile(t *testing.T) {
	a, b := startTestNode(t, "handA@127.0.0.1"), startTestNode(t, "handB@127.0.0.1")
	if err := b.Join(a.DataAddr()); err != nil {
		t.Fatal(err)
	}
	id := broker.SessionID{ClientID: "mover"}
	subs := []session.Sub{{Filter: "t/#", Options: packets.SubOptions{QoS: 1}}}
	// An offline persistent session on A with one queued message.
	a.b.RestoreMoved(id, broker.Moved{Expiry: broker.NeverExpire, OfflineSince: time.Now(), Subs: subs,
		Queue: []session.Delivery{{Msg: &session.Message{Topic: "t/q", Payload: []byte("queued"), QoS: 1}, QoS: 1}}})
	a.tab.markDirty(id)
	eventually.True(t, 10*time.Second, "B to route t/# to A's session", func() bool {
		n, _ := b.SubscriptionCount(a.o.Node)
		return n == 1
	})

	// B asks for the session, as a CONNECT of its client there does (BeforeConnect).
	reqc := make(chan uint64, 1)
	moved := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := b.waitMove(ctx, id, true, func(req uint64) { reqc <- req })
		moved <- err
	}()
	req := <-reqc
	h := a.giveUp(b.o.Node, id, false)
	if !h.found || len(h.Queue) != 1 {
		t.Fatalf("A gave up %+v, want the session with its one queued message", h)
	}
	// A has taken the queue; the answer is not on the link yet.
	pub := func(c *Cluster, payload string) {
		c.b.Publish(&session.Message{Topic: "t/" + payload, Payload: []byte(payload), QoS: 1})
	}
	pub(a, "during-A")
	pub(b, "during-B") // B's table still routes t/# to A
	eventually.True(t, 10*time.Second, "A to hold during-B for the moving session", func() bool {
		a.mv.mu.Lock()
		defer a.mv.mu.Unlock()
		for _, d := range a.mv.m[id].held {
			if string(d.Msg.Payload) == "during-B" {
				return true
			}
		}
		return false
	})
	a.answerHandover(b.o.Node, req, id, h)
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	pub(a, "after-A")
	pub(b, "after-B")

	count := func() map[string]int {
		s := b.b.Session(id)
		if s == nil {
			return nil
		}
		n := map[string]int{}
		for _, d := range b.b.OfflineQueue(s) {
			n[string(d.Msg.Payload)]++
		}
		return n
	}
	want := []string{"queued", "during-A", "during-B", "after-A", "after-B"}
	var got map[string]int
	defer func() {
		if t.Failed() {
			t.Logf("B's queue of the session: %v", got)
		}
	}()
	eventually.True(t, 10*time.Second, "every message to reach the session on B", func() bool {
		got = count()
		for _, p := range want {
			if got[p] == 0 {
				return false
			}
		}
		return true
	})
	// Duplicates are allowed (QoS 1), but only where a peer's table still routes to A:
	// what A routes itself goes once.
	for _, p := range []string{"queued", "during-A", "during-B", "after-A"} {
		if got[p] > 1 {
			t.Errorf("%s reached the session %d times", p, got[p])
		}
	}
}
