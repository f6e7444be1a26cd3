package cluster

import (
	"bytes"
	"encoding/hex"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

func TestMessageRoundTripWithProperties(t *testing.T) {
	pf := byte(1)
	exp := uint32(60)
	m := &session.Message{
		Mountpoint: "mp", Topic: "a/b", Payload: []byte("hello"), QoS: 1, Retain: true,
		Props: &packets.Properties{PayloadFormat: &pf, MessageExpiry: &exp, ContentType: "text/plain",
			ResponseTopic: "r/t", CorrelationData: []byte{1, 2}, User: []packets.UserProperty{{Key: "k", Value: "v"}}},
		Expiry: time.Unix(1700000000, 5), From: "c1", Node: "n1",
	}
	f, err := appendFrame(nil, fPublish, func(e *enc) error { return e.message(m) })
	if err != nil {
		t.Fatal(err)
	}
	typ, body, _, err := readFrame(bytes.NewReader(f), nil, 1<<20)
	if err != nil || typ != fPublish {
		t.Fatalf("readFrame: %v type %d", err, typ)
	}
	d := &dec{b: body}
	got := d.message()
	if err := d.done(); err != nil {
		t.Fatal(err)
	}
	if got.Props.MessageExpiry == nil || *got.Props.MessageExpiry != 60 || got.Props.ContentType != "text/plain" ||
		!bytes.Equal(got.Props.CorrelationData, []byte{1, 2}) || len(got.Props.User) != 1 || got.Props.User[0].Value != "v" {
		t.Fatalf("properties lost: %+v", got.Props)
	}
	got.Props, m.Props = nil, nil
	// The fields share one allocation but never the read buffer, which the link reuses.
	clear(body)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("got %+v\nwant %+v", got, m)
	}
}

// The decoder's fixed fixture: fields back as sent, an empty payload as nil.
func TestMessageFixtureDecodes(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want session.Message
	}{
		{"00" + "00" + "00" + "0174" + "0178" + "00" + "00", session.Message{Topic: "t", Payload: []byte("x")}},
		{"00" + "01" + "026d70" + "0174" + "00" + "026331" + "026e31", session.Message{Mountpoint: "mp", Topic: "t", QoS: 1, From: "c1", Node: "n1"}},
	} {
		b, _ := hex.DecodeString(c.hex)
		d := &dec{b: b}
		got := d.message()
		if err := d.done(); err != nil {
			t.Fatalf("%s: %v", c.hex, err)
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Fatalf("%s: got %+v, want %+v", c.hex, *got, c.want)
		}
	}
}

// A fixed byte fixture: a QoS 0 message "t" = "x" from no client, no properties.
func TestMessageFixture(t *testing.T) {
	want, _ := hex.DecodeString("0000000a" + "01" + "00" + "00" + "00" + "0174" + "0178" + "00" + "00")
	f, err := appendFrame(nil, fPublish, func(e *enc) error { return e.message(&session.Message{Topic: "t", Payload: []byte("x")}) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f, want) {
		t.Fatalf("frame %x, want %x", f, want)
	}
}

func TestDecodeRejectsTruncatedAndTrailing(t *testing.T) {
	var e enc
	e.message(&session.Message{Topic: "a/b", Payload: []byte("payload"), QoS: 2})
	for i := 0; i < len(e.b); i++ {
		d := &dec{b: e.b[:i]}
		d.message()
		if d.done() == nil {
			t.Fatalf("truncated at %d decoded without error", i)
		}
	}
	d := &dec{b: append(append([]byte(nil), e.b...), 0)}
	d.message()
	if d.done() == nil {
		t.Fatal("trailing byte accepted")
	}
	bad := append([]byte(nil), e.b...)
	bad[1] = 3 // QoS 3
	d = &dec{b: bad}
	d.message()
	if d.done() == nil {
		t.Fatal("QoS 3 accepted")
	}
}

func TestSessionsAndHandoverRoundTrip(t *testing.T) {
	ops := []op{
		{id: sid("", "c1"), present: true, subs: []session.Sub{
			{Filter: "a/#", Options: packets.SubOptions{QoS: 2, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}, SubID: 7},
			{Filter: "$share/g/b", Options: packets.SubOptions{QoS: 1}}}},
		{id: sid("mp", "c2")},
	}
	var e enc
	encodeSessions(&e, false, 5, 9, 10, ops)
	d := &dec{b: e.b}
	f := decodeSessions(d)
	if err := d.done(); err != nil {
		t.Fatal(err)
	}
	if f.full || f.inc != 5 || f.prev != 9 || f.ver != 10 || !reflect.DeepEqual(f.ops, ops) {
		t.Fatalf("got %+v", f)
	}

	h := handover{found: true, Moved: broker.Moved{Expiry: 3600, OfflineSince: time.Unix(0, 42), Subs: ops[0].subs,
		Queue: []session.Delivery{{Msg: &session.Message{Topic: "q", Payload: []byte("1"), QoS: 1}, QoS: 1, SubIDs: []uint32{7}},
			{Msg: &session.Message{Topic: "q", Payload: []byte("2"), QoS: 1}, QoS: 1, Retain: true}}}}
	e = enc{}
	if err := encodeHandover(&e, 77, h); err != nil {
		t.Fatal(err)
	}
	d = &dec{b: e.b}
	req, got := decodeHandover(d)
	if err := d.done(); err != nil {
		t.Fatal(err)
	}
	if req != 77 || !reflect.DeepEqual(got, h) {
		t.Fatalf("got %d %+v", req, got)
	}
}

func TestReadFrameLimits(t *testing.T) {
	big, _ := appendFrame(nil, fPublish, func(e *enc) error { e.bytes(make([]byte, 100)); return nil })
	if _, _, _, err := readFrame(bytes.NewReader(big), nil, 50); err == nil {
		t.Fatal("frame above incoming_clustering_buffer_size accepted")
	}
	if _, _, _, err := readFrame(bytes.NewReader(big[:20]), nil, 1<<20); err == nil {
		t.Fatal("truncated frame accepted")
	}
	if _, _, _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 0, 1}), nil, 1<<20); err == nil {
		t.Fatal("zero-length frame accepted")
	}
}

func TestHandshake(t *testing.T) {
	run := func(serverCookie, clientCookie string) (string, error, error) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		type res struct {
			name string
			err  error
		}
		ch := make(chan res, 1)
		go func() {
			n, err := serverHandshake(a, linkKey(serverCookie))
			if err != nil {
				a.Close() // as serve does: the client then sees the refusal
			}
			ch <- res{n, err}
		}()
		cerr := clientHandshake(b, linkKey(clientCookie), "node1@127.0.0.1")
		r := <-ch
		return r.name, r.err, cerr
	}
	name, serr, cerr := run("secret", "secret")
	if serr != nil || cerr != nil || name != "node1@127.0.0.1" {
		t.Fatalf("same cookie: name %q server %v client %v", name, serr, cerr)
	}
	_, serr, cerr = run("secret", "other")
	if serr != errBadCookie || cerr == nil {
		t.Fatalf("wrong cookie: server %v client %v", serr, cerr)
	}
	if bytes.Equal(GossipKey("secret"), linkKey("secret")) || len(GossipKey("x")) != 32 {
		t.Fatal("gossip and link keys must differ and the gossip key must be 32 bytes (AES-256)")
	}
}

// Forward's pre-sized frame is byte for byte what appendFrame writes for the stamped
// message, and the caller's message is not stamped in place.
func TestPublishFrameMatchesAppendFrame(t *testing.T) {
	c := &Cluster{o: Options{Node: "nodeA@127.0.0.1"}}
	exp := uint32(5)
	for _, m := range []*session.Message{
		{Topic: "t", Payload: []byte("x")},
		{Mountpoint: "mp", Topic: "sensor/1", Payload: bytes.Repeat([]byte{7}, 300), QoS: 2, Retain: true, From: "dev-1",
			Expiry: time.Unix(1700000000, 0), Props: &packets.Properties{MessageExpiry: &exp, ContentType: "a/b"}},
		{Topic: "t", From: "c", Node: "other@127.0.0.1"}, // already stamped elsewhere
	} {
		node := m.Node
		got, err := c.publishFrame(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := appendFrame(nil, fPublish, func(e *enc) error { return e.message(c.stamp(m)) })
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("topic %s: frame %x, want %x", m.Topic, got, want)
		}
		if m.Node != node {
			t.Fatalf("Forward stamped the shared message: Node %q", m.Node)
		}
	}
}
