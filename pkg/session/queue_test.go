package session

import "testing"

// The ring keeps a buffer that recent bursts use, frees one far larger than the
// last burst, and trim frees an empty one (the connection idles).
func TestQueueKeepsBufferOfRecentBursts(t *testing.T) {
	var q queue
	d := Delivery{Msg: &Message{Topic: "t"}}
	burst := func(n int) {
		for range n {
			q.push(d)
		}
		for range n {
			if q.pop().Msg == nil {
				t.Fatal("popped an empty delivery")
			}
		}
	}
	burst(100)
	if len(q.buf) != 128 {
		t.Fatalf("buffer of %d after a burst of 100, want 128 kept", len(q.buf))
	}
	burst(20) // smaller bursts reuse it
	if len(q.buf) != 128 {
		t.Fatalf("a smaller burst reallocated: buffer %d", len(q.buf))
	}
	burst(1000)
	burst(50) // far smaller than the buffer (1024): give it back
	if q.buf != nil {
		t.Fatalf("buffer of %d kept after a burst of 50", len(q.buf))
	}
	burst(40)
	if len(q.buf) != 64 {
		t.Fatalf("buffer %d after a burst of 40, want 64", len(q.buf))
	}
	q.push(d)
	q.trim() // not empty: keeps everything
	if q.Len() != 1 || q.pop().Msg == nil {
		t.Fatal("trim dropped a queued delivery")
	}
	q.trim()
	if q.buf != nil {
		t.Fatal("trim of an empty queue kept its buffer")
	}
}
