package node

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/freeport"
)

// TestBridgeFigures measures the figures of docs/benchmarks.md (bridge section); it runs
// only with VMQ_BENCH_BRIDGE=1: throughput A → bridge → B for MQTT 3.1.1 and 5 and with
// the persistent queue, and buffering while B is away (fill rate, heap per buffered
// message, drain rate after B is back).
func TestBridgeFigures(t *testing.T) {
	if os.Getenv("VMQ_BENCH_BRIDGE") == "" {
		t.Skip("set VMQ_BENCH_BRIDGE=1 to measure the bridge figures")
	}
	const n = 50000
	payload := make([]byte, 64)
	for _, tc := range []struct{ name, version, persistent string }{
		{"mqtt 3.1.1, memory buffer", "4", "off"},
		{"mqtt 5, memory buffer", "5", "off"},
		{"mqtt 3.1.1, persistent_queue", "4", "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, err := freeport.Pair() // below the ephemeral range: no outgoing connection takes it meanwhile
			if err != nil {
				t.Fatal(err)
			}
			addrB := fmt.Sprintf("127.0.0.1:%d", port)
			a, addrA := startNode(t, "plugins.vmq_bridge = on", "vmq_bridge.tcp.br0 = "+addrB,
				"vmq_bridge.tcp.br0.restart_timeout = 1", "vmq_bridge.tcp.br0.topic.1 = bench/* out 1",
				"vmq_bridge.tcp.br0.mqtt_version = "+tc.version, "vmq_bridge.tcp.br0.persistent_queue = "+tc.persistent,
				"vmq_bridge.tcp.br0.max_outgoing_buffered_messages = 200000", "max_online_messages = 200000",
				"vmq_bridge.tcp.br0.outgoing_batch_size = "+batchSize())
			eventually.True(t, eventually.Wait, "bridge's local subscription", func() bool { return a.Broker.Index().Len() > 0 })
			pub, _ := dialV5(t, addrA, "pub", nil)
			ctx := context.Background()

			// Buffering: B does not run yet.
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			for i := range n {
				if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("bench/%d", i%100), QoS: 0, Payload: payload}); err != nil {
					t.Fatal(err)
				}
			}
			eventually.True(t, 60*time.Second, "buffered", func() bool { return a.Bridges()[0].BufferSize == n })
			fill := time.Since(start)
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)

			_, _ = startNode(t, "listener.tcp.default = "+addrB)
			var got atomic.Int64
			sub, _ := dialV5(t, addrB, "sub", &paho.ConnectProperties{})
			sub.c.AddOnPublishReceived(func(paho.PublishReceived) (bool, error) { got.Add(1); return true, nil })
			if _, err := sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "bench/#", QoS: byte(subQoS())}}}); err != nil {
				t.Fatal(err)
			}
			eventually.True(t, 30*time.Second, "connected", func() bool { return a.Bridges()[0].Connected })
			start = time.Now()
			eventually.True(t, 120*time.Second, "drained", func() bool { return got.Load() >= n })
			drain := time.Since(start)

			// Throughput with B up: publish and receive n more.
			got.Store(0)
			cpu0 := cpuTime()
			start = time.Now()
			for i := range n {
				if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("bench/%d", i%100), QoS: 0, Payload: payload}); err != nil {
					t.Fatal(err)
				}
			}
			eventually.True(t, 120*time.Second, "forwarded", func() bool { return got.Load() >= n })
			live := time.Since(start)
			cpuPerMsg := (cpuTime() - cpu0) / n
			t.Logf("%s: %d msgs of 64 B; buffering %.0f msg/s, heap %+.0f B/msg; drain after reconnect %.0f msg/s; live A→bridge→B QoS 1 %.0f msg/s, %.1f µs CPU/msg (both nodes, bridge, clients); dropped %d",
				tc.name, n, n/fill.Seconds(), float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n,
				n/drain.Seconds(), n/live.Seconds(), float64(cpuPerMsg.Nanoseconds())/1000, a.Bridges()[0].Dropped)
		})
	}
}

func subQoS() int {
	if os.Getenv("VMQ_BENCH_SUBQOS") == "0" {
		return 0
	}
	return 1
}

func batchSize() string {
	if b := os.Getenv("VMQ_BENCH_BATCH"); b != "" {
		return b
	}
	return "100"
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
