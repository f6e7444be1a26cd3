package cluster

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// FuzzFrameDecode feeds arbitrary bytes to the data link's frame reader and the body
// decoders a peer's frames reach: nothing panics, a frame never asks for more than the
// limit, and a message that decodes re-encodes to one that decodes the same.
func FuzzFrameDecode(f *testing.F) {
	pf := byte(1)
	m := &session.Message{Mountpoint: "mp", Topic: "a/b", Payload: []byte("hi"), QoS: 1, Retain: true,
		Props:  &packets.Properties{PayloadFormat: &pf, ContentType: "t", User: []packets.UserProperty{{Key: "k", Value: "v"}}},
		Expiry: time.Unix(1700000000, 0), From: "c1", Node: "n1"}
	id := topics.SubscriberID{Mountpoint: "mp", ClientID: "c"}
	seeds := []struct {
		t    byte
		body func(e *enc) error
	}{
		{fPublish, func(e *enc) error { return e.message(m) }},
		{fShared, func(e *enc) error { e.sid(id); return e.delivery(session.Delivery{Msg: m, QoS: 1}) }},
		{fDigest, func(e *enc) error { e.uv(1); e.uv(2); return nil }},
		{fRegLock, func(e *enc) error { e.uv(7); e.sid(id); return nil }},
		{fRegGrant, func(e *enc) error { e.uv(7); e.sid(id); e.uv(9); e.str("n2"); return nil }},
		{fAdminReq, func(e *enc) error { e.uv(1); e.uv(2); e.str("cluster"); e.str("show"); return nil }},
		{fSessions, func(e *enc) error { e.uv(0); return nil }},
	}
	for _, s := range seeds {
		fr, err := appendFrame(nil, s.t, s.body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr)
	}
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, fPublish}) // declares 2 GB
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		r := bytes.NewReader(data)
		var buf []byte
		for range 4 {
			typ, body, nb, err := readFrame(r, buf, max)
			buf = nb
			if err != nil {
				return
			}
			if cap(buf) > max {
				t.Fatalf("frame buffer of %d bytes over the limit %d", cap(buf), max)
			}
			decodeBody(t, typ, body)
		}
	})
}

// decodeBody runs the decoders handle runs for typ (without the effects on a node).
func decodeBody(t *testing.T, typ byte, body []byte) {
	d := &dec{b: body}
	switch typ {
	case fPublish:
		m := d.message()
		if d.done() != nil {
			return
		}
		fr, err := appendFrame(nil, fPublish, func(e *enc) error { return e.message(m) })
		if err != nil {
			return // a message the encoder refuses (too large) is not a decoder bug
		}
		d2 := &dec{b: fr[frameHeader:]}
		m2 := d2.message()
		if err := d2.done(); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("message round trip: %v\n got %+v\nwant %+v", err, m2, m)
		}
	case fShared:
		d.sid()
		d.delivery()
	case fSessions:
		decodeSessions(d)
	case fDigest:
		d.uv()
		d.uv()
	case fHandoverRes, fMoveIn:
		decodeHandover(d)
	case fRegLock:
		d.uv()
		d.sid()
	case fRegGrant:
		d.uv()
		d.sid()
		d.uv()
		d.str()
	case fRegUnlock:
		d.sid()
		d.uv()
		d.str()
	case fAdminReq:
		decodeAdminReq(d)
		return
	}
	_ = d.done()
}
