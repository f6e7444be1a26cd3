package packets

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// decodeVersion is the session level a fixture is read at: CONNECT comes first.
func decodeVersion(f Fixture) byte {
	if f.Packet.Type() == CONNECT {
		return 0
	}
	return f.Version
}

// split separates a wire packet into its header byte and body.
func split(t *testing.T, b []byte) (byte, []byte) {
	t.Helper()
	rl, n := 0, 1
	for ; n < len(b); n++ {
		rl |= int(b[n]&0x7F) << (7 * (n - 1))
		if b[n]&0x80 == 0 {
			break
		}
	}
	body := b[n+1:]
	if len(body) != rl {
		t.Fatalf("fixture remaining length %d but %d body bytes", rl, len(body))
	}
	return b[0], body
}

func TestFixturesDecode(t *testing.T) {
	for _, f := range Fixtures {
		t.Run(f.Name, func(t *testing.T) {
			h, body := split(t, f.Bytes)
			got, err := Decode(h, body, decodeVersion(f))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, f.Packet) {
				t.Fatalf("Decode:\n got %#v\nwant %#v", got, f.Packet)
			}
			// Both ReadPacket paths: decoded in the bufio buffer, and a private body buffer.
			for _, size := range []int{16, 4096} {
				r := bufio.NewReaderSize(bytes.NewReader(f.Bytes), size)
				got, err := ReadPacket(r, decodeVersion(f), 0)
				if err != nil {
					t.Fatalf("ReadPacket(size %d): %v", size, err)
				}
				if !reflect.DeepEqual(got, f.Packet) {
					t.Fatalf("ReadPacket(size %d):\n got %#v\nwant %#v", size, got, f.Packet)
				}
				if _, err := ReadPacket(r, f.Version, 0); err != io.EOF {
					t.Fatalf("after the packet want io.EOF, got %v", err)
				}
			}
			// Into a scratch that still holds another packet: nothing of it may remain.
			exp, oldName := uint32(9), "old"
			sc := &Scratch{
				Publish: Publish{Dup: true, QoS: 2, Retain: true, Topic: "old", PacketID: 77, Payload: []byte("old"), Props: &Properties{MessageExpiry: &exp}},
				Ack:     Ack{Kind: PUBREC, PacketID: 77, ReasonCode: 0x80, Props: &Properties{ReasonString: "old"}},
				Connect: Connect{ProtocolName: "old", ProtocolLevel: V5, CleanStart: true, KeepAlive: 7, ClientID: "old",
					Username: &oldName, Password: []byte("old"), Will: &Will{Topic: "old"}, Props: &Properties{SessionExpiry: &exp}},
				Subscribe: subscribeOne{p: Subscribe{PacketID: 77, Props: &Properties{ReasonString: "old"}},
					one: [1]Subscription{{Filter: "old", Options: SubOptions{QoS: 2, NoLocal: true}}}},
			}
			sc.Subscribe.p.Subscriptions = sc.Subscribe.one[:]
			r := bufio.NewReaderSize(bytes.NewReader(f.Bytes), 4096)
			got, err = ReadPacketInto(r, decodeVersion(f), 0, sc)
			if err != nil {
				t.Fatalf("ReadPacketInto: %v", err)
			}
			if !reflect.DeepEqual(got, f.Packet) {
				t.Fatalf("ReadPacketInto:\n got %#v\nwant %#v", got, f.Packet)
			}
		})
	}
}

func TestFixturesEncode(t *testing.T) {
	for _, f := range Fixtures {
		t.Run(f.Name, func(t *testing.T) {
			prefix := []byte("prefix")
			got, err := Encode(append([]byte(nil), prefix...), f.Packet, f.Version)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("Encode overwrote dst: %x", got)
			}
			if got = got[len(prefix):]; !bytes.Equal(got, f.Bytes) {
				t.Fatalf("Encode:\n got % x\nwant % x", got, f.Bytes)
			}
		})
	}
}

func TestErrorFixtures(t *testing.T) {
	for _, f := range ErrorFixtures {
		t.Run(f.Name, func(t *testing.T) {
			p, err := ReadPacket(bufio.NewReader(bytes.NewReader(f.Bytes)), f.Version, 0)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("want *Error %s, got packet %#v err %v", f.Code, p, err)
			}
			if pe.Code != f.Code {
				t.Fatalf("want %s, got %v", f.Code, err)
			}
			if p != nil && p.Type() != CONNECT {
				t.Fatalf("error returned a packet %#v", p)
			}
		})
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	for _, f := range Fixtures {
		h, body := split(t, f.Bytes)
		own := append([]byte(nil), body...)
		got, err := Decode(h, own, decodeVersion(f))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for i := range own {
			own[i] = 0xAA
		}
		if !reflect.DeepEqual(got, f.Packet) {
			t.Fatalf("%s: packet changed when the input buffer was overwritten:\n%#v", f.Name, got)
		}
	}
}

func TestReadPacketKeepsPayloadAcrossReads(t *testing.T) {
	var wire []byte
	for i := 0; i < 3; i++ {
		var err error
		wire, err = Encode(wire, &Publish{Topic: "t/" + strings.Repeat("x", i), Payload: bytes.Repeat([]byte{byte('a' + i)}, 10)}, V311)
		if err != nil {
			t.Fatal(err)
		}
		wire, _ = Encode(wire, &Ack{Kind: PUBACK, PacketID: 1}, V311)
	}
	r := bufio.NewReaderSize(bytes.NewReader(wire), 16)
	var pubs []*Publish
	for {
		p, err := ReadPacket(r, V311, 0)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pub, ok := p.(*Publish); ok {
			pubs = append(pubs, pub)
		}
	}
	if len(pubs) != 3 {
		t.Fatalf("read %d PUBLISH, want 3", len(pubs))
	}
	for i, p := range pubs {
		if p.Topic != "t/"+strings.Repeat("x", i) || !bytes.Equal(p.Payload, bytes.Repeat([]byte{byte('a' + i)}, 10)) {
			t.Fatalf("publish %d changed after later reads: %q %q", i, p.Topic, p.Payload)
		}
	}
}

func TestReadPacketIOErrors(t *testing.T) {
	if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(nil)), V311, 0); err != io.EOF {
		t.Fatalf("empty stream: want io.EOF, got %v", err)
	}
	for _, b := range [][]byte{{0x30}, {0x30, 0x80}, {0x30, 5, 0, 1}, {0x40, 2, 0}} {
		if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), V311, 0); err != io.ErrUnexpectedEOF {
			t.Fatalf("% x: want io.ErrUnexpectedEOF, got %v", b, err)
		}
	}
}

func TestReadPacketMaxSize(t *testing.T) {
	wire := []byte{0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'} // 9 bytes in all
	r := bufio.NewReader(bytes.NewReader(wire))
	_, err := ReadPacket(r, V311, 8)
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != PacketTooLarge {
		t.Fatalf("want PacketTooLarge, got %v", err)
	}
	if next, _ := r.ReadByte(); next != 0 || r.Buffered() != 6 {
		t.Fatalf("body was consumed: next byte %x, %d buffered", next, r.Buffered())
	}
	if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(wire)), V311, 9); err != nil {
		t.Fatalf("packet of exactly maxSize: %v", err)
	}
}

func TestLargePackets(t *testing.T) {
	pub := &Publish{QoS: 1, PacketID: 9, Topic: "big", Payload: bytes.Repeat([]byte{7}, 300000)}
	subs := &Subscribe{PacketID: 2}
	for i := 0; i < 1000; i++ {
		subs.Subscriptions = append(subs.Subscriptions, Subscription{Filter: strings.Repeat("f", i%50+1)})
	}
	for _, p := range []Packet{pub, subs} {
		wire, err := Encode(nil, p, V5)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadPacket(bufio.NewReader(bytes.NewReader(wire)), V5, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("%s of %d bytes did not round-trip", p.Type(), len(wire))
		}
	}
}

func TestEncodeVersionMapping(t *testing.T) {
	cases := []struct {
		name    string
		p       Packet
		version byte
		want    []byte
	}{
		{"v311 connack from v5 code", &Connack{ReasonCode: BadUsernameOrPassword}, V311, []byte{0x20, 2, 0, 4}},
		{"v311 connack banned", &Connack{ReasonCode: Banned}, V311, []byte{0x20, 2, 0, 5}},
		{"v311 connack server busy", &Connack{ReasonCode: ServerBusy}, V311, []byte{0x20, 2, 0, 3}},
		{"v31 connack drops session present", &Connack{SessionPresent: true}, V31, []byte{0x20, 2, 0, 0}},
		{"refusal clears session present", &Connack{SessionPresent: true, ReasonCode: ServerBusy}, V5, []byte{0x20, 3, 0, 0x89, 0}},
		{"v5 connack from v3 code", &Connack{ReasonCode: ConnRefusedIdentifier}, V5, []byte{0x20, 3, 0, 0x85, 0}},
		{"v311 suback failure", &Suback{PacketID: 1, ReasonCodes: []ReasonCode{NotAuthorized, GrantedQoS1}}, V311, []byte{0x90, 4, 0, 1, 0x80, 1}},
		{"v311 ack drops reason and props", &Ack{Kind: PUBACK, PacketID: 1, ReasonCode: QuotaExceeded,
			Props: &Properties{ReasonString: "x"}}, V311, []byte{0x40, 2, 0, 1}},
		{"v311 publish drops props", &Publish{Topic: "t", Props: &Properties{ContentType: "c"}}, V311, []byte{0x30, 3, 0, 1, 't'}},
		{"v311 unsuback drops codes", &Unsuback{PacketID: 3, ReasonCodes: []ReasonCode{Success}}, V311, []byte{0xB0, 2, 0, 3}},
		{"v311 disconnect drops reason", &Disconnect{ReasonCode: ServerShuttingDown}, V311, []byte{0xE0, 0}},
		{"v5 drops properties the packet may not carry", &Ack{Kind: PUBACK, PacketID: 1,
			Props: &Properties{SessionExpiry: ptr[uint32](1)}}, V5, []byte{0x40, 2, 0, 1}},
		{"v5 disconnect empty props keeps reason", &Disconnect{ReasonCode: ServerBusy, Props: &Properties{}}, V5, []byte{0xE0, 1, 0x89}},
		{"v311 subscribe drops v5 options", &Subscribe{PacketID: 1, Subscriptions: []Subscription{
			{Filter: "a", Options: SubOptions{QoS: 1, NoLocal: true, RetainHandling: 2}}}}, V311, []byte{0x82, 6, 0, 1, 0, 1, 'a', 1}},
		{"connect level 0 takes session version", &Connect{ClientID: "a"}, V31,
			[]byte{0x10, 0x0F, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0, 0, 0, 0, 1, 'a'}},
	}
	for _, c := range cases {
		got, err := Encode(nil, c.p, c.version)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, c.want) {
			t.Fatalf("%s:\n got % x\nwant % x", c.name, got, c.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 70000)
	cases := []struct {
		name    string
		p       Packet
		version byte
	}{
		{"publish qos 3", &Publish{Topic: "t", QoS: 3, PacketID: 1}, V311},
		{"publish qos1 id 0", &Publish{Topic: "t", QoS: 1}, V311},
		{"topic too long", &Publish{Topic: long}, V311},
		{"auth in v311", &Auth{}, V311},
		{"ack without kind", &Ack{PacketID: 1}, V5},
		{"subscribe empty", &Subscribe{PacketID: 1}, V5},
		{"unsubscribe empty", &Unsubscribe{PacketID: 1}, V5},
		{"suback id 0", &Suback{ReasonCodes: []ReasonCode{0}}, V5},
		{"v5 unsuback without codes", &Unsuback{PacketID: 1}, V5},
		{"subscription id 0", &Subscribe{PacketID: 1, Props: &Properties{SubscriptionIDs: []uint32{0}},
			Subscriptions: []Subscription{{Filter: "a"}}}, V5},
		{"v311 password without username", &Connect{Password: []byte("p")}, V311},
		{"unknown version", &Pingreq{}, 7},
		{"nil packet", nil, V5},
	}
	for _, c := range cases {
		dst := []byte("keep")
		got, err := Encode(dst, c.p, c.version)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: want *Error, got %v", c.name, err)
		}
		if string(got) != "keep" {
			t.Fatalf("%s: dst changed on error: %q", c.name, got)
		}
	}
}

func TestConnectVersionAndPartialConnect(t *testing.T) {
	for level, want := range map[byte]byte{V31: 3, V311: 4, V5: 5, V31Bridge: 3, V311Bridge: 4} {
		if got := ConnectVersion(&Connect{ProtocolLevel: level}); got != want {
			t.Fatalf("ConnectVersion(%#x) = %d, want %d", level, got, want)
		}
	}
	// An unsupported level still tells the caller which CONNACK format to use.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 6, 0x02, 0, 60, 0, 0}
	p, err := Decode(0x10, body, 0)
	c, ok := p.(*Connect)
	if err == nil || !ok || c.ProtocolLevel != 6 || c.ProtocolName != "MQTT" {
		t.Fatalf("want partial CONNECT with level 6 and an error, got %#v, %v", p, err)
	}
}

func TestSessionVersionChecks(t *testing.T) {
	// A 3.1 session may retransmit SUBSCRIBE with DUP set; later versions may not.
	wire := []byte{0x8A, 6, 0, 1, 0, 1, 'a', 0}
	if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(wire)), V31, 0); err != nil {
		t.Fatalf("v3.1 SUBSCRIBE with DUP: %v", err)
	}
	if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(wire)), V311, 0); err == nil {
		t.Fatal("v3.1.1 SUBSCRIBE with DUP was accepted")
	}
	// v3.1.1 allows QoS 0 with DUP (only v5 makes it a protocol error).
	if _, err := Decode(0x38, []byte{0, 1, 't'}, V311); err != nil {
		t.Fatalf("v3.1.1 QoS 0 DUP: %v", err)
	}
	// v5 allows a password without a username.
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x42, 0, 60, 0, 0, 0, 0, 1, 'p'}
	if p, err := Decode(0x10, body, 0); err != nil || p.(*Connect).Username != nil || string(p.(*Connect).Password) != "p" {
		t.Fatalf("v5 password without username: %#v %v", p, err)
	}
}

// trickleReader yields at most n bytes per Read, as a slow socket does.
type trickleReader struct {
	b []byte
	n int
}

func (r *trickleReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// A declared remaining length reserves nothing beyond one chunk until its bytes arrive.
func TestReadBodyGrowsAsBytesArrive(t *testing.T) {
	for _, rl := range []int{0, 1, bodyChunk - 1, bodyChunk, bodyChunk + 1, 3*bodyChunk + 7, 1 << 20} {
		want := make([]byte, rl)
		for i := range want {
			want[i] = byte(i * 7)
		}
		got, err := readBody(&trickleReader{b: want, n: 1000}, rl)
		if err != nil {
			t.Fatalf("rl %d: %v", rl, err)
		}
		if !bytes.Equal(got, want) || cap(got) != rl {
			t.Fatalf("rl %d: got len %d cap %d, equal %v", rl, len(got), cap(got), bytes.Equal(got, want))
		}
	}
	// 256 MB declared, 10 bytes sent: the stream ends inside the body and
	// at most one chunk was ever allocated.
	declared := []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0, 3, 'a', '/', 'b'}
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	for range 10 {
		if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(declared)), V311, 0); err != io.ErrUnexpectedEOF {
			t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
		}
	}
	runtime.ReadMemStats(&ms2)
	if d := ms2.TotalAlloc - ms1.TotalAlloc; d > 10*(bodyChunk+8<<10) {
		t.Fatalf("10 reads of a 256 MB declaration allocated %d bytes", d)
	}
}
