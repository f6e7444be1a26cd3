//go:build linux

package poller

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func arm(t *testing.T, p *Poller, c *net.TCPConn, key uint64, fn func()) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	if err := rc.Control(func(fd uintptr) { werr = p.Wait(int(fd), key, fn) }); err != nil {
		t.Fatal(err)
	}
	if werr != nil {
		t.Fatal(werr)
	}
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func waitFor(t *testing.T, ch <-chan uint64, want uint64) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("woke key %d, want %d", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("key %d not woken within 5s", want)
	}
}

func TestWakesOnDataAndRearms(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	woke := make(chan uint64, 4)
	key := uint64(7)<<32 | 3 // both halves of the event data carry the key
	arm(t, p, s, key, func() { woke <- key })
	select {
	case <-woke:
		t.Fatal("woke with nothing to read")
	case <-time.After(50 * time.Millisecond):
	}
	c.Write([]byte("x"))
	waitFor(t, woke, key)
	if p.Len() != 0 {
		t.Fatalf("Len = %d after wake, want 0", p.Len())
	}
	// One-shot: unread data does not wake again until re-armed (MOD of the old registration).
	arm(t, p, s, key+1, func() { woke <- key + 1 })
	waitFor(t, woke, key+1)
}

func TestWakesOnHangUp(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	woke := make(chan uint64, 1)
	arm(t, p, s, 1, func() { woke <- 1 })
	c.Close()
	waitFor(t, woke, 1)
}

func TestCancelExactlyOnce(t *testing.T) {
	p := newPoller(t)
	for i := uint64(0); i < 200; i++ {
		s, c := pair(t)
		var runs atomic.Int32
		done := make(chan uint64, 1)
		arm(t, p, s, i, func() { runs.Add(1); done <- i })
		c.Write([]byte("x")) // races the Cancel below
		cancelled := p.Cancel(i)
		if !cancelled {
			waitFor(t, done, i)
		} else {
			// A callback racing a successful Cancel would run within microseconds.
			eventually.Never(t, time.Millisecond, fmt.Sprintf("key %d: Cancel=true but the callback ran", i),
				func() bool { return runs.Load() != 0 })
		}
		if got := runs.Load(); cancelled == (got == 1) {
			t.Fatalf("key %d: Cancel=%v but callback ran %d times", i, cancelled, got)
		}
		s.Close()
		c.Close()
	}
}

func TestClosedDescriptorLeavesQuietly(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	var ran atomic.Bool
	arm(t, p, s, 9, func() { ran.Store(true) })
	s.Close() // the kernel drops the registration with the descriptor
	c.Write([]byte("x"))
	eventually.Never(t, eventually.Settle, "callback ran for a closed descriptor", ran.Load)
	if !p.Cancel(9) {
		t.Fatal("Cancel of a closed descriptor's key = false, want true (its owner must resume)")
	}
}

func TestManyParked(t *testing.T) {
	p := newPoller(t)
	const n = 300
	woke := make(chan uint64, n)
	clients := make([]*net.TCPConn, n)
	for i := range n {
		s, c := pair(t)
		clients[i] = c
		arm(t, p, s, uint64(i), func() { woke <- uint64(i) })
	}
	if p.Len() != n {
		t.Fatalf("Len = %d, want %d", p.Len(), n)
	}
	for _, c := range clients {
		c.Write([]byte("x"))
	}
	seen := map[uint64]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case k := <-woke:
			if seen[k] {
				t.Fatalf("key %d woke twice", k)
			}
			seen[k] = true
		case <-deadline:
			t.Fatalf("%d of %d woke", len(seen), n)
		}
	}
}

func TestArmingABadDescriptorFails(t *testing.T) {
	p := newPoller(t)
	if err := p.Wait(-1, 1, func() {}); err == nil || p.Len() != 0 {
		t.Fatalf("Wait(-1) = %v, Len %d; want an error and nothing armed", err, p.Len())
	}
}

// WaitNew adds a descriptor that is not registered yet and, should it be (a caller that
// guessed wrong), re-arms it: both wake on data, as Wait does.
func TestWaitNew(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan uint64, 4)
	for round, key := range []uint64{1, 2} { // the second WaitNew finds the registration of the first
		var werr error
		if err := rc.Control(func(fd uintptr) { werr = p.WaitNew(int(fd), key, func() { woke <- key }) }); err != nil || werr != nil {
			t.Fatalf("round %d: %v %v", round, err, werr)
		}
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, woke, key)
		buf := make([]byte, 1)
		if _, err := s.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}
