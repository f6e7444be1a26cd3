package auth

import (
	"net"
	"sync"
	"testing"
	"time"
)

func TestThrottlePerSourceAndWindow(t *testing.T) {
	th := NewThrottle()
	a := &net.TCPAddr{IP: net.ParseIP("198.51.100.1"), Port: 1000}
	a2 := &net.TCPAddr{IP: net.ParseIP("198.51.100.1"), Port: 2000} // same source, other port
	b := &net.TCPAddr{IP: net.ParseIP("198.51.100.2"), Port: 1000}
	t0 := time.Unix(1_000_000, 0)
	for range 10 {
		th.Fail(a, t0)
	}
	if th.Blocked(a, t0) {
		t.Fatal("blocked while the throttle is off")
	}
	th.Set(3, time.Minute)
	th.Fail(a, t0)
	th.Fail(a2, t0.Add(time.Second))
	if th.Blocked(a, t0.Add(2*time.Second)) {
		t.Fatal("blocked after 2 failures, limit 3")
	}
	th.Fail(a, t0.Add(3*time.Second))
	if !th.Blocked(a2, t0.Add(4*time.Second)) || th.Blocked(b, t0.Add(4*time.Second)) {
		t.Fatal("want the source with 3 failures blocked (any port), the other not")
	}
	if th.Blocked(a, t0.Add(61*time.Second)) {
		t.Fatal("still blocked after its window")
	}
	if th.Failed.Load() != 13 || th.Throttled.Load() != 1 {
		t.Fatalf("failed %d throttled %d, want 13 and 1", th.Failed.Load(), th.Throttled.Load())
	}
}

func TestThrottleBoundedAndConcurrent(t *testing.T) {
	th := NewThrottle()
	th.Set(1, time.Hour)
	now := time.Unix(1_000_000, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxThrottleSources/2 + 10 {
				ip := net.IPv4(10, byte(g), byte(i>>8), byte(i))
				th.Fail(&net.TCPAddr{IP: ip}, now)
				th.Blocked(&net.TCPAddr{IP: ip}, now)
			}
		}()
	}
	wg.Wait()
	if n := th.Sources(); n > maxThrottleSources {
		t.Fatalf("%d sources kept, bound %d", n, maxThrottleSources)
	}
}
