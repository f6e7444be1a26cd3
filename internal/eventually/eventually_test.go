package eventually

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	var n atomic.Int32
	if !Within(Wait, func() bool { return n.Add(1) == 5 }) {
		t.Fatal("Within gave up on a condition that came true on the fifth poll")
	}
	start := time.Now()
	if Within(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("Within reported a condition that never held")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("Within gave up after %v, before its 30ms", el)
	}
}
