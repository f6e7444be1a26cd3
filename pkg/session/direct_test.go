package session

import (
	"bytes"
	"errors"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"sync/atomic"
	"testing"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// directSink is a socket buffer that takes at most room bytes per direct write.
type directSink struct {
	got   bytes.Buffer
	room  int
	calls int
	err   error
}

func (d *directSink) WriteDirect(b []byte) (int, error) {
	d.calls++
	if d.err != nil {
		return 0, d.err
	}
	n := min(len(b), d.room)
	d.got.Write(b[:n])
	return n, nil
}

// directFunc is a DirectWrite made of a function.
type directFunc func(b []byte) (int, error)

func (f directFunc) WriteDirect(b []byte) (int, error) { return f(b) }

// kickLink records Kick.
type kickLink struct {
	countLink
	kicked atomic.Int32
}

func (l *kickLink) Kick(packets.ReasonCode) { l.kicked.Add(1) }

func enc(t *testing.T, ps ...packets.Packet) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = packets.Encode(b, p, packets.V311); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// The reader's Uncork writes the answers of what it handled itself: no flusher write.
func TestUncorkWritesDirect(t *testing.T) {
	s, m := newSession(Limits{MaxOnline: 100, MaxInflight: 10})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the condition", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.writes == 1 }) // the CONNACK, by the flusher
	sent := m.BytesSent.Value()

	s.Cork()
	s.Send(l, &packets.Ack{Kind: packets.PUBACK, PacketID: 7})
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte("x")}, QoS: 1})
	d := &directSink{room: 1 << 20}
	s.Uncork(l, d)

	want := enc(t, &packets.Ack{Kind: packets.PUBACK, PacketID: 7}, &packets.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: []byte("x")})
	if !bytes.Equal(d.got.Bytes(), want) || d.calls != 1 {
		t.Fatalf("direct write %x in %d calls, want %x in 1", d.got.Bytes(), d.calls, want)
	}
	if got := m.BytesSent.Value() - sent; got != uint64(len(want)) {
		t.Fatalf("bytes_sent grew by %d, want %d", got, len(want))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writes != 1 {
		t.Fatalf("the flusher wrote %d more times", l.writes-1)
	}
}

// What the socket did not take goes out through the flusher, first and in order.
func TestUncorkPartialDirectWrite(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100, MaxInflight: 0})
	l := &countLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the condition", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.writes == 1 })

	s.Cork()
	var want []byte
	for i := range 20 {
		p := &packets.Publish{Topic: "t", Payload: []byte{byte(i)}}
		s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: p.Payload}})
		want = append(want, enc(t, p)...)
	}
	d := &directSink{room: 7}
	s.Uncork(l, d)
	// Queued after the partial write: must follow the rest of it.
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte{20}}})
	want = append(want, enc(t, &packets.Publish{Topic: "t", Payload: []byte{20}})...)

	eventually.True(t, eventually.Wait, "the condition", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return d.got.Len()+l.data.Len()-4 == len(want) // 4: the CONNACK
	})
	l.mu.Lock()
	got := append(append([]byte(nil), d.got.Bytes()...), l.data.Bytes()[4:]...)
	l.mu.Unlock()
	if d.got.Len() != 7 || !bytes.Equal(got, want) {
		t.Fatalf("direct %d bytes; stream %x\nwant %x", d.got.Len(), got, want)
	}
}

// A failed direct write ends the connection as a failed flusher write does.
func TestUncorkDirectWriteError(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100})
	l := &kickLink{}
	s.Attach(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the condition", func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.writes == 1 })
	s.Cork()
	s.Send(l, &packets.Ack{Kind: packets.PUBACK, PacketID: 1})
	s.Uncork(l, &directSink{err: errors.New("broken pipe")})
	if l.kicked.Load() != 1 {
		t.Fatalf("kicked %d times, want 1", l.kicked.Load())
	}
	// Not left "flushing": the next connection's packets still go out.
	l2 := &countLink{}
	s.Detach(l)
	s.Attach(l2, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the condition", func() bool { l2.mu.Lock(); defer l2.mu.Unlock(); return l2.writes == 1 })
}

// A reader whose connection was taken over must not write the new connection's packets.
func TestUncorkFromOldLinkWritesNothing(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100})
	old, cur := &countLink{}, &countLink{}
	s.Attach(old, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	s.Detach(old)
	s.Attach(cur, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	s.Cork()
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte("x")}})
	d := &directSink{room: 1 << 20}
	s.Uncork(old, d)
	if d.calls != 0 {
		t.Fatalf("the old reader wrote %x", d.got.Bytes())
	}
	eventually.True(t, eventually.Wait, "the condition", func() bool { return len(cur.publishes(t)) == 1 })
}

// A connection taken over while its reader's direct write was under way: the rest of that
// write must not reach the new connection, whose own packets still go out.
func TestUncorkPartialWriteAfterTakeover(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100})
	old, cur := &countLink{}, &countLink{}
	s.Attach(old, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{})
	eventually.True(t, eventually.Wait, "the condition", func() bool { old.mu.Lock(); defer old.mu.Unlock(); return old.writes == 1 })
	s.Cork()
	for range 5 {
		s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte("x")}})
	}
	s.Uncork(old, directFunc(func(b []byte) (int, error) {
		// The takeover lands while the socket takes only part of the batch.
		s.Detach(old)
		s.Attach(cur, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{ReasonCode: 0})
		return 3, nil
	}))
	want := enc(t, &packets.Connack{})
	// The flusher writes a leftover before anything else: had the rest of the old write been
	// kept, it would come before the CONNACK.
	eventually.True(t, eventually.Wait, "the condition", func() bool { cur.mu.Lock(); defer cur.mu.Unlock(); return cur.data.Len() >= len(want) })
	cur.mu.Lock()
	defer cur.mu.Unlock()
	if !bytes.HasPrefix(cur.data.Bytes(), want) {
		t.Fatalf("new connection got %x first, want its CONNACK %x", cur.data.Bytes(), want)
	}
}

// AttachCorked leaves the CONNACK to the reader's Uncork, with what was queued meanwhile:
// no flusher write (Attach starts the flusher for the CONNACK, TestUncorkWritesDirect).
func TestAttachCorkedConnackByReader(t *testing.T) {
	s, _ := newSession(Limits{MaxOnline: 100, MaxInflight: 10})
	l := &countLink{}
	s.AttachCorked(l, Info{Protocol: packets.V311}, 0, 0, &packets.Connack{SessionPresent: true})
	s.Enqueue(Delivery{Msg: &Message{Topic: "t", Payload: []byte("x")}, QoS: 1}) // a publish routed before the Uncork
	d := &directSink{room: 1 << 20}
	s.Uncork(l, d)
	want := enc(t, &packets.Connack{SessionPresent: true}, &packets.Publish{QoS: 1, Topic: "t", PacketID: 1, Payload: []byte("x")})
	if !bytes.Equal(d.got.Bytes(), want) || d.calls != 1 {
		t.Fatalf("direct write %x in %d calls, want the CONNACK and the queued message %x in 1", d.got.Bytes(), d.calls, want)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writes != 0 {
		t.Fatalf("the flusher wrote %d times, want none", l.writes)
	}
}
