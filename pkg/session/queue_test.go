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
	burst(50) // one small burst among big ones: keep the buffer
	if len(q.buf) != 1024 {
		t.Fatalf("buffer %d after one burst of 50 following 1000, want 1024 kept", len(q.buf))
	}
	// Bursts that vary (a paced fan-in: 400, then a few) must not regrow the buffer.
	for i := range 100 {
		burst([]int{1000, 10, 30, 5}[i%4])
		if len(q.buf) != 1024 {
			t.Fatalf("buffer %d after varying burst %d, want 1024 kept", len(q.buf), i)
		}
	}
	// An emptying per message (a flusher as fast as the publisher) is no reason to give it back.
	for range 500 {
		burst(1)
	}
	if len(q.buf) != 1024 {
		t.Fatalf("buffer %d after 500 single-message bursts, want 1024 kept", len(q.buf))
	}
	// Far smaller bursts for a while (far below 1024/16, ~21 decays of 1/8 per 1024 pushes): give it back.
	n := 0
	for ; q.buf != nil && n < 1000; n++ {
		burst(50)
	}
	if q.buf != nil || n < 100 {
		t.Fatalf("buffer given back after %d bursts of 50 (nil %v), want after 100-1000", n, q.buf == nil)
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
