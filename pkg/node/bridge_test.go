package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

func payloads(ps []*paho.Publish) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Topic+"="+string(p.Payload))
	}
	return out
}

// Two in-process nodes, A bridged to B: out, in and both topics with prefixes, no loop on
// both, the bridge's own connection admitted although A requires passwords, and
// vmq-admin bridge show and the metrics.
func TestBridgeInProcess(t *testing.T) {
	_, addrB := startNode(t)
	a, addrA := startNode(t, "plugins.vmq_bridge = on", "vmq_bridge.tcp.br0 = "+addrB,
		"vmq_bridge.tcp.br0.restart_timeout = 1",
		"vmq_bridge.tcp.br0.topic.1 = out/* out 1",
		"vmq_bridge.tcp.br0.topic.2 = in/+ in 1 local/ remote/",
		"vmq_bridge.tcp.br0.topic.3 = both/* both 1",
		"vmq_bridge.tcp.br0.max_outgoing_buffered_messages = 100")
	eventually.True(t, eventually.Wait, "bridge connected", func() bool { return len(a.Bridges()) == 1 && a.Bridges()[0].Connected })
	ctx := context.Background()
	subA, _ := dialV5(t, addrA, "subA", nil)
	subB, _ := dialV5(t, addrB, "subB", nil)
	for _, s := range []*v5client{subA, subB} {
		if _, err := s.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	pubA, _ := dialV5(t, addrA, "pubA", nil)
	pubB, _ := dialV5(t, addrB, "pubB", nil)
	mustPub := func(c *v5client, topic, payload string) {
		t.Helper()
		if _, err := c.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	mustPub(pubA, "out/x", "1")       // A → B
	mustPub(pubB, "remote/in/y", "2") // B → A as local/in/y
	mustPub(pubA, "both/z", "3")      // A → B, not back to A
	mustPub(pubB, "both/w", "4")      // B → A, not back to B
	eventually.True(t, eventually.Wait, "A got both/w and B got both/z", func() bool {
		return slices.Contains(payloads(subA.received()), "both/w=4") && slices.Contains(payloads(subB.received()), "both/z=3")
	})
	// An echo of both/w (B → A → B) or both/z (A → B → A) would now be queued ahead of these
	// markers on the same bridge connection, so once the markers are in, no echo can follow.
	// Each side waits for both markers: a PUBACK does not wait for the local subscriber's
	// delivery, so the publisher's own node may deliver its marker after the bridged one.
	mustPub(pubA, "out/end", "end")
	mustPub(pubB, "remote/in/end", "e")
	eventually.True(t, eventually.Wait, "the markers on both sides", func() bool {
		gotB, gotA := payloads(subB.received()), payloads(subA.received())
		return slices.Contains(gotB, "out/end=end") && slices.Contains(gotB, "remote/in/end=e") &&
			slices.Contains(gotA, "local/in/end=e") && slices.Contains(gotA, "out/end=end")
	})
	// Each side sees each message once: its own publishes and the bridged ones, no echo.
	wantB := []string{"out/x=1", "remote/in/y=2", "both/z=3", "both/w=4", "out/end=end", "remote/in/end=e"}
	wantA := []string{"out/x=1", "both/z=3", "local/in/y=2", "both/w=4", "out/end=end", "local/in/end=e"}
	gotB, gotA := payloads(subB.received()), payloads(subA.received())
	slices.Sort(gotB)
	slices.Sort(gotA)
	slices.Sort(wantB)
	slices.Sort(wantA)
	if !slices.Equal(gotB, wantB) {
		t.Errorf("B received %q, want %q", gotB, wantB)
	}
	if !slices.Equal(gotA, wantA) {
		t.Errorf("A received %q, want %q", gotA, wantA)
	}

	res := adminCall(t, a, "bridge show")
	wantHdr := []string{"name", "endpoint", "buffer size", "buffer max", "buffer dropped msgs", "MQTT process mailbox len"}
	if !slices.Equal(res.Headers, wantHdr) || len(res.Rows) != 1 ||
		!slices.Equal(res.Rows[0], []string{"br0", addrB, "0", "100", "0", "0"}) {
		t.Errorf("bridge show = %+v", res)
	}
	var m = map[string]float64{}
	for _, s := range a.Reg.Snapshot() {
		m[s.Name] += s.Value
	}
	if m["br0_vmq_bridge_publish_out_1"] < 3 || m["br0_vmq_bridge_publish_in_1"] < 3 {
		t.Errorf("bridge metrics: %v", m)
	}
}

// Without plugins.vmq_bridge, bridge show says how to turn it on.
func TestBridgeShowOff(t *testing.T) {
	n, _ := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := admin.Call(ctx, n.Cfg.String("admin.socket"), []string{"bridge", "show"}, nil)
	if err == nil && res.Type != "error" {
		t.Fatalf("bridge show with vmq_bridge off: %+v", res)
	}
	if msg := fmt.Sprint(err, res); !strings.Contains(msg, "plugins.vmq_bridge = on") {
		t.Fatalf("bridge show with vmq_bridge off says %q", msg)
	}
	res, err = admin.Call(ctx, n.Cfg.String("admin.socket"), []string{"bridge", "start"}, nil)
	if msg := fmt.Sprint(err, res); (err == nil && res.Type != "error") || !strings.Contains(msg, "plugins.vmq_bridge = on") {
		t.Fatalf("bridge start with vmq_bridge off: %q", msg)
	}
}

// vmq-admin bridge start (VerneMQ 2.x; it has no bridge stop) stops every bridge and
// starts the configured ones again: a new bridge that connects and forwards.
func TestBridgeStart(t *testing.T) {
	_, addrB := startNode(t)
	a, addrA := startNode(t, "plugins.vmq_bridge = on", "vmq_bridge.tcp.br0 = "+addrB,
		"vmq_bridge.tcp.br0.restart_timeout = 1", "vmq_bridge.tcp.br0.topic.1 = out/* out 1")
	connected := func() bool { bs := a.Bridges(); return len(bs) == 1 && bs[0].Connected }
	eventually.True(t, eventually.Wait, "bridge connected", connected)
	a.mu.Lock()
	old := a.bridges[0]
	a.mu.Unlock()
	if res := adminCall(t, a, "bridge start"); res.Type == "error" || !strings.Contains(fmt.Sprint(res), "VerneMQ Bridges restarted.") {
		t.Fatalf("bridge start = %+v", res)
	}
	a.mu.Lock()
	restarted := len(a.bridges) == 1 && a.bridges[0] != old
	a.mu.Unlock()
	if !restarted {
		t.Fatal("bridge start did not replace the bridge")
	}
	eventually.True(t, eventually.Wait, "bridge connected again", connected)
	subB, _ := dialV5(t, addrB, "subB", nil)
	ctx := context.Background()
	if _, err := subB.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "out/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pubA, _ := dialV5(t, addrA, "pubA", nil)
	if _, err := pubA.c.Publish(ctx, &paho.Publish{Topic: "out/after", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "B got out/after through the restarted bridge", func() bool {
		return slices.Contains(payloads(subB.received()), "out/after=x")
	})
	if res := adminCall(t, a, "bridge show"); len(res.Rows) != 1 || res.Rows[0][0] != "br0" {
		t.Fatalf("bridge show after start = %+v", res)
	}
}

// A bridge's mountpoint is where its topics live here: clients of a listener with that
// mountpoint exchange messages with the remote, clients without it do not.
func TestBridgeMountpoint(t *testing.T) {
	_, addrB := startNode(t)
	a, _ := startNode(t, "plugins.vmq_bridge = on", "vmq_bridge.tcp.br0 = "+addrB,
		"vmq_bridge.tcp.br0.mountpoint = tenant1", "vmq_bridge.tcp.br0.topic.1 = t/* both 1",
		"listener.tcp.tenant = 127.0.0.1:0", "listener.tcp.tenant.mountpoint = tenant1")
	eventually.True(t, eventually.Wait, "bridge connected", func() bool { return len(a.Bridges()) == 1 && a.Bridges()[0].Connected })
	var tenantAddr, plainAddr string
	a.mu.Lock()
	for _, ml := range a.listeners {
		if ml.cfg.Name == "tenant" {
			tenantAddr = ml.l.Addr().String()
		} else if ml.cfg.Type == "tcp" {
			plainAddr = ml.l.Addr().String()
		}
	}
	a.mu.Unlock()
	ctx := context.Background()
	tenant, _ := dialV5(t, tenantAddr, "tenant-sub", nil)
	plain, _ := dialV5(t, plainAddr, "plain-sub", nil)
	for _, s := range []*v5client{tenant, plain} {
		if _, err := s.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/#", QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	subB, _ := dialV5(t, addrB, "subB", nil)
	if _, err := subB.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "t/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pubB, _ := dialV5(t, addrB, "pubB", nil)
	if _, err := pubB.c.Publish(ctx, &paho.Publish{Topic: "t/in", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "the tenant's subscriber gets B's message", func() bool { return len(tenant.received()) == 1 })
	plainPub, _ := dialV5(t, plainAddr, "plain-pub", nil)
	tenantPub, _ := dialV5(t, tenantAddr, "tenant-pub", nil)
	for _, c := range []*v5client{plainPub, tenantPub} {
		if _, err := c.c.Publish(ctx, &paho.Publish{Topic: "t/out", QoS: 1, Payload: []byte(c.c.ClientID())}); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, eventually.Wait, "B gets the tenant's message", func() bool { return slices.Contains(payloads(subB.received()), "t/out=tenant-pub") })
	// The plain publish went before the tenant's on A; the bridge would have forwarded it first.
	if got := payloads(subB.received()); slices.Contains(got, "t/out=plain-pub") {
		t.Fatalf("a message outside the bridge's mountpoint reached B: %q", got)
	}
	// Acked to its publisher does not mean delivered yet: wait for the plain subscriber's copy.
	eventually.True(t, eventually.Wait, "the plain subscriber gets its listener's message", func() bool { return len(plain.received()) > 0 })
	if got := payloads(plain.received()); len(got) != 1 || got[0] != "t/out=plain-pub" {
		t.Fatalf("the plain subscriber got %q, want only its own listener's message", got)
	}
}
