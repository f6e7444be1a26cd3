package packets

import (
	"bufio"
	"bytes"
	"testing"
)

// repeatReader yields the same bytes forever, so a benchmark reads packets
// without the cost of rebuilding its input.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	return n, nil
}

var benchPublish = &Publish{QoS: 1, PacketID: 42, Topic: "bench/topic", Payload: bytes.Repeat([]byte{'p'}, 64)}

func BenchmarkReadPacketPublish64(b *testing.B) {
	wire, err := Encode(nil, benchPublish, V311)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(&repeatReader{b: wire})
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPacket(r, V311, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The broker's reader: PUBLISH decoded into a reused scratch, only the body allocated.
func BenchmarkReadPacketIntoPublish64(b *testing.B) {
	wire, err := Encode(nil, benchPublish, V311)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(&repeatReader{b: wire})
	var sc Scratch
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPacketInto(r, V311, 0, &sc); err != nil {
			b.Fatal(err)
		}
	}
}

// A subscriber's PUBACK, as the broker reads it: no allocation.
func BenchmarkReadPacketIntoPuback(b *testing.B) {
	wire, err := Encode(nil, &Ack{Kind: PUBACK, PacketID: 42}, V311)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(&repeatReader{b: wire})
	var sc Scratch
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPacketInto(r, V311, 0, &sc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePublish64(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Encode(buf[:0], benchPublish, V311); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
