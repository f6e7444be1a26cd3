package abuse

import (
	"errors"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

const (
	floodConns = 1000
	// heapBound is the bound for 1,000 connections that each declare 256 MB.
	heapBound = 256 << 20
)

// openMany dials n connections to addr, 50 at a time, and runs first on each.
func openMany(t *testing.T, addr string, n int, first func(net.Conn) error) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 50)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if err := first(c); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatalf("flood connection: %v", err)
	}
	return conns
}

// memory logs and returns the node's Go heap in use and its resident set.
func (n *node) memory(t *testing.T, when string) (heap, rss int64) {
	heap = int64(n.prom(t, "go_memstats_heap_inuse_bytes"))
	rss = n.procStatus(t, "VmRSS")
	t.Logf("%s: heap in use %.1f MiB, RSS %.1f MiB, peak RSS %.1f MiB", when,
		float64(heap)/(1<<20), float64(rss)/(1<<20), float64(n.procStatus(t, "VmHWM"))/(1<<20))
	return heap, rss
}

// closedByPeer reports whether the node closed c (a read ends in EOF or a reset, not a timeout).
// countClosed is how many of conns the node closed, waiting up to d on each.
func countClosed(conns []net.Conn, d time.Duration) int {
	closed := 0
	for _, c := range conns {
		if closedByPeer(c, d) {
			closed++
		}
	}
	return closed
}

func closedByPeer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestDeclaredSizeFlood: 1,000 connections each declare a 256 MB packet, before CONNECT (the
// 14-byte attack of issue 15), just under max_connect_message_size, and after CONNECT, and
// send almost nothing of it. A node with default settings keeps its heap and RSS under
// 256 MB, closes the pre-CONNECT ones (at once, or at mqtt_connect_timeout) and keeps serving.
func TestDeclaredSizeFlood(t *testing.T) {
	n := startNode(t, nil, nil)
	n.memory(t, "idle node")

	t.Run("before CONNECT, 256 MB", func(t *testing.T) {
		attack := []byte{0x10, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c}
		conns := openMany(t, n.addr, floodConns, func(c net.Conn) error {
			_, err := c.Write(attack)
			return err
		})
		heap, rss := n.memory(t, "1,000 pre-CONNECT 256 MB declarations")
		for i, c := range conns {
			if !closedByPeer(c, 5*time.Second) {
				t.Fatalf("connection %d still open: a pre-CONNECT packet over max_connect_message_size must close it", i)
			}
		}
		if heap > heapBound || rss > heapBound {
			t.Fatalf("heap %d / RSS %d bytes exceed %d", heap, rss, heapBound)
		}
	})

	t.Run("before CONNECT, under the cap, slowloris", func(t *testing.T) {
		// A CONNECT header declaring 65,000 bytes (under the 64 KiB default cap), then nothing:
		// the node holds at most a first chunk each and closes them at mqtt_connect_timeout (5 s).
		attack := []byte{0x10, 0xe8, 0xfb, 0x03, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c}
		start := time.Now()
		conns := openMany(t, n.addr, floodConns, func(c net.Conn) error {
			_, err := c.Write(attack)
			return err
		})
		eventually.True(t, 10*time.Second, "the node to read every header", func() bool {
			return n.prom(t, "vernemq_bytes_received") >= float64(floodConns*len(attack))
		})
		heap, rss := n.memory(t, "1,000 pre-CONNECT 65,000-byte declarations, held")
		if heap > heapBound || rss > heapBound {
			t.Fatalf("heap %d / RSS %d bytes exceed %d", heap, rss, heapBound)
		}
		for i, c := range conns {
			if !closedByPeer(c, 15*time.Second-time.Since(start)) {
				t.Fatalf("connection %d still open 15 s after it started a CONNECT: mqtt_connect_timeout is 5 s", i)
			}
		}
		t.Logf("all 1,000 closed %.1f s after the first was opened", time.Since(start).Seconds())
	})

	t.Run("after CONNECT, 256 MB PUBLISH", func(t *testing.T) {
		before := n.prom(t, "vernemq_bytes_received")
		connect, err := packets.Encode(nil, &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanStart: true}, 4)
		if err != nil {
			t.Fatal(err)
		}
		// PUBLISH QoS 0 declaring 268,435,455 bytes: topic "a/b" and 4 bytes of payload follow.
		publish := []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x03, 'a', '/', 'b', 'p', 'a', 'y', 'l'}
		openMany(t, n.addr, floodConns, func(c net.Conn) error {
			if _, err := c.Write(connect); err != nil {
				return err
			}
			ack := make([]byte, 4)
			if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
				return errors.Join(errors.New("no CONNACK 0"), err)
			}
			_, err := c.Write(publish)
			return err
		})
		eventually.True(t, 20*time.Second, "the node to read every PUBLISH header", func() bool {
			return n.prom(t, "vernemq_bytes_received")-before >= float64(floodConns*(len(connect)+len(publish)))
		})
		heap, rss := n.memory(t, "1,000 authenticated 256 MB PUBLISH declarations, held")
		if heap > heapBound || rss > heapBound {
			t.Fatalf("heap %d / RSS %d bytes exceed %d", heap, rss, heapBound)
		}
	})

	// The node still serves: a client subscribes and receives its own message.
	r := dial(t, n.addr)
	if ca := r.connect(&packets.Connect{ClientID: "after-flood", CleanStart: true}); ca.ReasonCode != 0 {
		t.Fatalf("CONNACK %v after the floods", ca.ReasonCode)
	}
	r.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "after/flood", Options: packets.SubOptions{QoS: 1}}}})
	r.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: "after/flood", Payload: []byte("ok")})
	waitPublish(t, r, "after/flood")
	n.memory(t, "after the floods")
}

// waitPublish reads packets until a PUBLISH on topic arrives (5 s).
func waitPublish(t *testing.T, r *raw, topic string) *packets.Publish {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := r.read(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for a PUBLISH on %s: %v", topic, err)
		}
		if pub, ok := p.(*packets.Publish); ok && pub.Topic == topic {
			return pub
		}
	}
}
