package conn

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// tcpPair is a connected loopback TCP pair: the broker's side and the client's.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// directPair is a loopback pair whose broker side is a client with its direct write.
func directPair(t *testing.T) (c *client, w func([]byte) (int, error), sc, cc net.Conn) {
	t.Helper()
	sc, cc = tcpPair(t)
	c = &client{nc: sc, srv: &Server{}}
	if !c.directWriter() {
		t.Fatal("a plain TCP connection has no direct write")
	}
	return c, c.directWrite().WriteDirect, sc, cc
}

// A direct write takes what the socket buffer holds and returns at once when it is full;
// everything it reports written arrives, in order.
func TestWriteDirectNeverBlocks(t *testing.T) {
	c, w, _, cc := directPair(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: more than loopback buffers hold
	start := time.Now()
	n, err := w(big)
	if err != nil || n <= 0 || n >= len(big) {
		t.Fatalf("direct write of 16 MiB to a client that reads nothing: n=%d err=%v", n, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("direct write took %v: it blocked", d)
	}
	if c.out.owed != len(big)-n {
		t.Fatalf("owed %d, want %d", c.out.owed, len(big)-n)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(cc, got); err != nil || !bytes.Equal(got, big[:n]) {
		t.Fatalf("client read %v: bytes differ from the %d written", err, n)
	}
	if n2, err := w([]byte("x")); n2 != 1 || err != nil {
		t.Fatalf("after the client read: n=%d err=%v", n2, err)
	}
}

// The flusher's write deadline (write_timeout) is not the direct write's: it writes what
// the socket takes after that deadline passed as well.
func TestWriteDirectPastDeadline(t *testing.T) {
	_, w, sc, _ := directPair(t)
	sc.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := w([]byte("x")); n != 1 || err != nil {
		t.Fatalf("n=%d err=%v, want 1, nil", n, err)
	}
}

// A closed peer is an error (the session ends the connection).
func TestWriteDirectClosedPeer(t *testing.T) {
	_, w, _, cc := directPair(t)
	cc.(*net.TCPConn).SetLinger(0)
	cc.Close() // RST
	// Polls: the reset reaches the broker's socket asynchronously.
	var err error
	eventually.True(t, eventually.Wait, "a write to the reset connection to fail", func() bool {
		_, err = w([]byte("x"))
		return err != nil
	})
}

// TLS frames its writes: no direct write under it.
func TestNoDirectWriteUnderTLS(t *testing.T) {
	sc, _ := tcpPair(t)
	c := &client{nc: tls.Server(sc, &tls.Config{})}
	if c.directWriter() || c.directWrite() != nil {
		t.Fatal("a TLS connection got a direct write")
	}
}

// The kick of a client that stopped reading does not wait behind the flusher's blocked
// write, and writes no DISCONNECT into the middle of it.
func TestKickDoesNotWaitForABlockedWrite(t *testing.T) {
	c, _, _, _ := directPair(t)
	c.version = packets.V5
	writing := make(chan error, 1)
	go func() {
		_, err := c.Write(bytes.Repeat([]byte("x"), 64<<20)) // more than loopback buffers hold: blocks
		writing <- err
	}()
	// The write holds the writer's lock for as long as it blocks.
	eventually.True(t, eventually.Wait, "the blocked write holding the writer", func() bool {
		if c.out.mu.TryLock() {
			c.out.mu.Unlock()
			return false
		}
		return true
	})
	start := time.Now()
	c.Kick(packets.SessionTakenOver)
	if d := time.Since(start); d > finalWait+time.Second {
		t.Fatalf("kick took %v behind a blocked write (bound %v)", d, finalWait)
	}
	select {
	case err := <-writing:
		if err == nil {
			t.Fatal("the blocked write succeeded after the socket closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the socket did not end the blocked write")
	}
}

// A direct write (every PUBACK, SUBACK, CONNACK a reader writes itself) allocates nothing.
func TestWriteDirectAllocs(t *testing.T) {
	_, w, _, cc := directPair(t)
	ack := []byte{0x40, 2, 0, 1} // PUBACK 1
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := w(ack); n != len(ack) || err != nil {
			t.Fatalf("direct write: n=%d err=%v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a direct write allocates %.1f times, want 0", allocs)
	}
	got := make([]byte, 101*len(ack)) // AllocsPerRun runs it once more to warm up
	if _, err := io.ReadFull(cc, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
}

// lockWithin waits for the writer's lock with a bound: it gets a lock released in time,
// and one it gave up on is free again once its holder releases it (a kick that met a
// write in progress must not leave the socket's writes locked).
func TestLockWithin(t *testing.T) {
	var w socketWriter
	if !w.lockWithin(time.Millisecond) {
		t.Fatal("a free lock was not taken")
	}
	// Released while lockWithin waits (on a slow machine perhaps before: TryLock takes it then).
	time.AfterFunc(20*time.Millisecond, w.unlock)
	if !w.lockWithin(eventually.Wait) {
		t.Fatal("a lock released in time was not taken")
	}
	// Held past the bound: not taken, and free again after its holder unlocks.
	if w.lockWithin(10 * time.Millisecond) {
		t.Fatal("a held lock was taken")
	}
	w.unlock()
	eventually.True(t, eventually.Wait, "the lock free again after a wait that gave up", func() bool {
		if w.mu.TryLock() {
			w.unlock()
			return true
		}
		return false
	})
}
