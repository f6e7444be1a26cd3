package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// enc appends the compact binary forms of the data link; every length is a uvarint.
type enc struct{ b []byte }

func (e *enc) u8(v byte)                  { e.b = append(e.b, v) }
func (e *enc) uv(v uint64)                { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) sv(v int64)                 { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) str(s string)               { e.uv(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(b []byte)             { e.uv(uint64(len(b))); e.b = append(e.b, b...) }
func (e *enc) sid(id topics.SubscriberID) { e.str(id.Mountpoint); e.str(id.ClientID) }

// dec reads what enc wrote; the first error sticks and later reads return zero values.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("cluster frame truncated")

func (d *dec) u8() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) sv() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) raw() []byte {
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string { return string(d.raw()) }

// aliasStr is b as a string without a copy; b must never change afterwards.
func aliasStr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *dec) sid() topics.SubscriberID {
	mp := d.str()
	return topics.SubscriberID{Mountpoint: mp, ClientID: d.str()}
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// done reports the sticky error, or trailing bytes as corruption.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("cluster frame has %d unexpected trailing bytes", len(d.b))
	}
	return d.err
}

const (
	msgRetain = 1 << iota
	msgProps
	msgExpiry
)

// message encodes m; properties travel as an MQTT 5 PUBLISH so every property kind round-trips.
func (e *enc) message(m *session.Message) error {
	var flags byte
	if m.Retain {
		flags |= msgRetain
	}
	if m.Props != nil {
		flags |= msgProps
	}
	if !m.Expiry.IsZero() {
		flags |= msgExpiry
	}
	e.u8(flags)
	e.u8(m.QoS)
	e.str(m.Mountpoint)
	e.str(m.Topic)
	e.bytes(m.Payload)
	e.str(m.From)
	e.str(m.Node)
	if m.Props != nil {
		p, err := packets.Encode(nil, &packets.Publish{Topic: "p", Props: m.Props}, packets.V5)
		if err != nil {
			return fmt.Errorf("encode message properties: %w", err)
		}
		e.bytes(p)
	}
	if !m.Expiry.IsZero() {
		e.sv(m.Expiry.UnixNano())
	}
	return nil
}

func (d *dec) message() *session.Message {
	flags := d.u8()
	m := &session.Message{QoS: d.u8()}
	m.Retain = flags&msgRetain != 0
	// One allocation holds every variable field, as the MQTT decoder does for a PUBLISH:
	// the strings alias it (nothing writes to it), instead of one copy per field.
	var raw [5][]byte
	n := 0
	for i := range raw {
		raw[i] = d.raw()
		n += len(raw[i])
	}
	if d.err == nil && n > 0 {
		buf := make([]byte, 0, n)
		var f [5][]byte
		for i, r := range raw {
			start := len(buf)
			buf = append(buf, r...)
			f[i] = buf[start:len(buf):len(buf)]
		}
		m.Mountpoint, m.Topic, m.From, m.Node = aliasStr(f[0]), aliasStr(f[1]), aliasStr(f[3]), aliasStr(f[4])
		if len(f[2]) > 0 {
			m.Payload = f[2]
		}
	}
	if flags&msgProps != 0 {
		m.Props = decodeProps(d, d.raw())
	}
	if flags&msgExpiry != 0 {
		m.Expiry = time.Unix(0, d.sv())
	}
	if m.QoS > 2 {
		d.fail(fmt.Errorf("cluster message with QoS %d", m.QoS))
	}
	return m
}

// decodeProps decodes the PUBLISH written by message: header byte, remaining length, body.
func decodeProps(d *dec, pkt []byte) *packets.Properties {
	if d.err != nil {
		return nil
	}
	if len(pkt) < 2 {
		d.fail(errShort)
		return nil
	}
	rl, n := binary.Uvarint(pkt[1:]) // MQTT's remaining length is the same base-128 varint
	if n <= 0 || uint64(len(pkt)-1-n) != rl {
		d.fail(errors.New("cluster message properties: bad PUBLISH length"))
		return nil
	}
	p, err := packets.Decode(pkt[0], pkt[1+n:], packets.V5)
	if err != nil {
		d.fail(fmt.Errorf("cluster message properties: %w", err))
		return nil
	}
	pub, ok := p.(*packets.Publish)
	if !ok {
		d.fail(errors.New("cluster message properties: not a PUBLISH"))
		return nil
	}
	if pub.Props == nil {
		return &packets.Properties{}
	}
	return pub.Props
}

// delivery encodes d with its message.
func (e *enc) delivery(d session.Delivery) error {
	e.u8(d.QoS)
	var r byte
	if d.Retain {
		r = 1
	}
	e.u8(r)
	e.uv(uint64(len(d.SubIDs)))
	for _, id := range d.SubIDs {
		e.uv(uint64(id))
	}
	return e.message(d.Msg)
}

func (d *dec) delivery() session.Delivery {
	out := session.Delivery{QoS: d.u8(), Retain: d.u8() == 1}
	n := d.uv()
	if n > 1<<16 {
		d.fail(errors.New("cluster delivery: too many subscription identifiers"))
		return out
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		out.SubIDs = append(out.SubIDs, uint32(d.uv()))
	}
	out.Msg = d.message()
	return out
}

// sub packs the subscription options into one byte: qos | nl<<2 | rap<<3 | rh<<4.
func (e *enc) sub(s session.Sub) {
	o := s.Options
	b := o.QoS | o.RetainHandling<<4
	if o.NoLocal {
		b |= 1 << 2
	}
	if o.RetainAsPublished {
		b |= 1 << 3
	}
	e.str(s.Filter)
	e.u8(b)
	e.uv(uint64(s.SubID))
}

func (d *dec) sub() session.Sub {
	s := session.Sub{Filter: d.str()}
	b := d.u8()
	s.Options = packets.SubOptions{QoS: b & 3, NoLocal: b&(1<<2) != 0, RetainAsPublished: b&(1<<3) != 0, RetainHandling: b >> 4 & 3}
	s.SubID = uint32(d.uv())
	return s
}

func (e *enc) subs(ss []session.Sub) {
	e.uv(uint64(len(ss)))
	for _, s := range ss {
		e.sub(s)
	}
}

func (d *dec) subs() []session.Sub {
	n := d.uv()
	if n > uint64(len(d.b)) { // each sub takes at least one byte: a cheap bound against bogus counts
		d.fail(errShort)
		return nil
	}
	out := make([]session.Sub, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.sub())
	}
	return out
}
