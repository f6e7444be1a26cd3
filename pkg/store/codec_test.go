package store

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMessageEncodingFixture(t *testing.T) {
	m := Message{Topic: "a/b", Payload: []byte("hi"), QoS: 1, Retain: true, Dup: true,
		Props: []byte{0x23, 0x00, 0x05}, Expiry: 0x0102030405060708, Published: 0x1112131415161718}
	want := []byte{
		1,                      // format version
		0x03,                   // retain|dup
		1,                      // qos
		1, 2, 3, 4, 5, 6, 7, 8, // expiry
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, // published
		3, 'a', '/', 'b', // topic
		3, 0x23, 0x00, 0x05, // props
		2, 'h', 'i', // payload
	}
	got := encodeMessage(m)
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeMessage = % x, want % x", got, want)
	}
	if exp := messageExpiry(got); exp != m.Expiry {
		t.Fatalf("messageExpiry = %x", exp)
	}
	back, err := decodeMessage(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("decode = %+v, want %+v", back, m)
	}
	for i := 0; i < len(want); i++ {
		if _, err := decodeMessage(want[:i]); !errors.Is(err, errCorrupt) {
			t.Fatalf("prefix %d: err %v, want errCorrupt", i, err)
		}
	}
	if _, err := decodeMessage(append(append([]byte(nil), want...), 0)); !errors.Is(err, errCorrupt) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
	bad := append([]byte{2}, want[1:]...)
	if _, err := decodeMessage(bad); !errors.Is(err, errCorrupt) {
		t.Fatalf("version 2 accepted: %v", err)
	}
}

func TestSessionEncodingFixture(t *testing.T) {
	k := SessionKey{Mountpoint: "", ClientID: "c1"}
	s := Session{Key: k, ProtocolVersion: 5, ExpiryInterval: 0xFFFFFFFF,
		DisconnectedAt: time.Unix(0, 0x0A0B0C0D0E0F1011), Username: "u",
		Subscriptions: []Subscription{{Filter: "x/#", QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 1, SubID: 300}}}
	want := []byte{
		1, 5, // version, protocol
		0xFF, 0xFF, 0xFF, 0xFF, // expiry interval
		0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, // disconnected at
		1, 'u', // username
		1,                // one subscription
		3, 'x', '/', '#', // filter
		2, 0x03, 1, // qos, flags, retain handling
		0xAC, 0x02, // sub id 300 uvarint
	}
	got := encodeSession(s)
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeSession = % x, want % x", got, want)
	}
	back, err := decodeSession(k, want)
	if err != nil {
		t.Fatal(err)
	}
	if !back.DisconnectedAt.Equal(s.DisconnectedAt) {
		t.Fatalf("DisconnectedAt %v, want %v", back.DisconnectedAt, s.DisconnectedAt)
	}
	back.DisconnectedAt = s.DisconnectedAt
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("decode = %+v, want %+v", back, s)
	}
	for i := 0; i < len(want); i++ {
		if _, err := decodeSession(k, want[:i]); !errors.Is(err, errCorrupt) {
			t.Fatalf("prefix %d: err %v, want errCorrupt", i, err)
		}
	}
	online, err := decodeSession(k, encodeSession(Session{Key: k}))
	if err != nil || !online.DisconnectedAt.IsZero() {
		t.Fatalf("zero DisconnectedAt round trip: %v %v", online.DisconnectedAt, err)
	}
}

func TestKeyEncodingIsPrefixFree(t *testing.T) {
	a, b := encodeKey(SessionKey{"m", "ab"}), encodeKey(SessionKey{"m", "a"})
	if bytes.HasPrefix(a, b) || bytes.HasPrefix(b, a) {
		t.Fatalf("keys %x and %x prefix each other", a, b)
	}
	k, rest, err := decodeKey(append(encodeKey(SessionKey{"mp", "id"}), 9))
	if err != nil || k != (SessionKey{"mp", "id"}) || !bytes.Equal(rest, []byte{9}) {
		t.Fatalf("decodeKey = %v %x %v", k, rest, err)
	}
	mp, topic, err := decodeRetainedKey(retainedKey("mp", "a/b/c"))
	if err != nil || mp != "mp" || topic != "a/b/c" {
		t.Fatalf("retained key = %q %q %v", mp, topic, err)
	}
}

// Records are sized exactly (the open transaction holds them until the checkpoint): the
// computed lengths match what the encoders write, across varint boundaries.
func TestEncodedSizes(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 70000} {
		s := strings.Repeat("x", n)
		k := SessionKey{Mountpoint: s, ClientID: "c" + s}
		if got, want := keyLen(k), len(encodeKey(k)); got != want {
			t.Errorf("keyLen of %d-byte parts = %d, encoded %d", n, got, want)
		}
		sess := Session{Key: k, Username: s, Subscriptions: []Subscription{{Filter: s, SubID: uint32(n)}, {Filter: "a", SubID: 1 << 28}}}
		if got, want := sessionSize(sess), len(encodeSession(sess)); got != want {
			t.Errorf("sessionSize with %d-byte strings = %d, encoded %d", n, got, want)
		}
		if rec := recPutSession(sess); len(rec) != cap(rec) {
			t.Errorf("session record of %d-byte strings: %d bytes in a buffer of %d", n, len(rec), cap(rec))
		}
	}
}

// What the store reads back from its file (a value or key, perhaps damaged on disk) decodes
// to an error or to a value that encodes and decodes to itself; it never panics.
func FuzzStoredValue(f *testing.F) {
	k := SessionKey{Mountpoint: "mp", ClientID: "c1"}
	f.Add(encodeSession(Session{Key: k, ProtocolVersion: 5, ExpiryInterval: 60, DisconnectedAt: time.Unix(0, 42), Username: "u",
		Subscriptions: []Subscription{{Filter: "x/#", QoS: 2, NoLocal: true, RetainHandling: 1, SubID: 300}}}))
	f.Add(encodeMessage(Message{Topic: "a/b", Payload: []byte("hi"), Props: []byte{1, 1}, QoS: 1, Retain: true, Expiry: 7, Published: 9}))
	f.Add(encodeKey(k))
	f.Add(retainedKey("mp", "a/b"))
	f.Add(expiryKey(1, 2, encodeKey(k)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSession(k, b); err == nil {
			again, err := decodeSession(k, encodeSession(s))
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("session % x: decoded %+v, after a round trip %+v (%v)", b, s, again, err)
			}
		}
		if m, err := decodeMessage(b); err == nil {
			again, err := decodeMessage(encodeMessage(m))
			if err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("message % x: decoded %+v, after a round trip %+v (%v)", b, m, again, err)
			}
			if messageExpiry(b) != m.Expiry {
				t.Fatalf("message % x: messageExpiry %d, decoded %d", b, messageExpiry(b), m.Expiry)
			}
		}
		// Lengths are uvarints, which decode leniently (a redundant continuation byte too):
		// what decodes must survive a round trip, not re-encode to the same bytes.
		if key, rest, err := decodeKey(b); err == nil {
			again, tail, err := decodeKey(append(encodeKey(key), rest...))
			if err != nil || again != key || !bytes.Equal(tail, rest) {
				t.Fatalf("key % x decodes to %+v and % x, after a round trip %+v (%v)", b, key, rest, again, err)
			}
		}
		if mp, topic, err := decodeRetainedKey(b); err == nil {
			if mp2, topic2, err := decodeRetainedKey(retainedKey(mp, topic)); err != nil || mp2 != mp || topic2 != topic {
				t.Fatalf("retained key % x decodes to %q %q, after a round trip %q %q (%v)", b, mp, topic, mp2, topic2, err)
			}
		}
		if exp, seq, key, err := decodeExpiryKey(b); err == nil && !bytes.Equal(expiryKey(exp, seq, key), b) {
			t.Fatalf("expiry key % x decodes to %d %d % x", b, exp, seq, key)
		}
	})
}
