package packets

import "strings"

// Reason codes SUBACK and UNSUBACK may carry.
var (
	subackCodesV5   = codeSet(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2)
	subackCodesV3   = codeSet(0x00, 0x01, 0x02, 0x80)
	unsubackCodesV5 = codeSet(0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91)
)

// subscribeOne is a SUBSCRIBE and the array of its one filter, allocated together: a
// device subscribes to one filter, and the packet then costs one allocation, not two.
type subscribeOne struct {
	p   Subscribe
	one [1]Subscription
}

// decodeSubscribe decodes into into (a reader's scratch) unless that is nil.
func decodeSubscribe(d *decoder, v byte, into *subscribeOne) *Subscribe {
	x := into
	if x == nil {
		x = new(subscribeOne)
	} else {
		*x = subscribeOne{}
	}
	p := &x.p
	p.PacketID = d.packetID(SUBSCRIBE)
	if v == V5 {
		p.Props = d.props(propsSubscribe, "SUBSCRIBE")
	}
	if n := countFilters(d.b); n > 1 {
		p.Subscriptions = make([]Subscription, 0, n) // once, not doubling filter by filter
	} else {
		p.Subscriptions = x.one[:0]
	}
	for len(d.b) > 0 && d.err == nil {
		s := Subscription{Filter: d.str("topic filter")}
		o := d.u8("subscription options")
		if d.err != nil {
			break
		}
		s.Options.QoS = o & 0x03
		if s.Options.QoS == 3 {
			d.fail(MalformedPacket, "SUBSCRIBE requests QoS 3 for %q", s.Filter)
			break
		}
		if v != V5 {
			if o&0xFC != 0 {
				d.fail(MalformedPacket, "SUBSCRIBE requested QoS byte 0x%02X sets reserved bits", o)
				break
			}
		} else {
			if o&0xC0 != 0 {
				d.fail(MalformedPacket, "subscription options 0x%02X set reserved bits 6-7", o)
				break
			}
			s.Options.NoLocal = o&0x04 != 0
			s.Options.RetainAsPublished = o&0x08 != 0
			s.Options.RetainHandling = o >> 4 & 0x03
			if s.Options.RetainHandling == 3 {
				d.fail(ProtocolError, "retain handling 3 is invalid for %q", s.Filter)
				break
			}
			if s.Options.NoLocal && strings.HasPrefix(s.Filter, "$share/") {
				d.fail(ProtocolError, "No Local cannot be set on shared subscription %q", s.Filter)
				break
			}
		}
		p.Subscriptions = append(p.Subscriptions, s)
	}
	if d.err == nil && len(p.Subscriptions) == 0 {
		d.fail(ProtocolError, "SUBSCRIBE carries no topic filter; send at least one")
	}
	return p
}

// countFilters counts the filters of a SUBSCRIBE's payload b (each a length-prefixed
// string and an options byte); a malformed payload ends the count, the decoder reports it.
// At most len(b)/3, so a hostile count reserves no more than the packet's own size.
func countFilters(b []byte) int {
	n := 0
	for len(b) >= 2 {
		l := 2 + (int(b[0])<<8 | int(b[1]))
		if len(b) < l+1 {
			break
		}
		b = b[l+1:]
		n++
	}
	return n
}

func encodeSubscribe(e *encoder, p *Subscribe, v byte) {
	if p.PacketID == 0 || len(p.Subscriptions) == 0 {
		e.failf("SUBSCRIBE needs a packet identifier other than 0 and at least one filter")
		return
	}
	e.b = appendU16(e.b, p.PacketID)
	if v == V5 {
		e.props(p.Props, propsSubscribe)
	}
	for _, s := range p.Subscriptions {
		o := s.Options
		if o.QoS > 2 || o.RetainHandling > 2 {
			e.failf("subscription %q has QoS %d / retain handling %d; both must be 0..2", s.Filter, o.QoS, o.RetainHandling)
			return
		}
		e.str("topic filter", s.Filter)
		b := o.QoS
		if v == V5 {
			if o.NoLocal {
				b |= 0x04
			}
			if o.RetainAsPublished {
				b |= 0x08
			}
			b |= o.RetainHandling << 4
		}
		e.b = append(e.b, b)
	}
}

func decodeSuback(d *decoder, v byte) *Suback {
	p := &Suback{PacketID: d.packetID(SUBACK)}
	codes := subackCodesV3
	if v == V5 {
		p.Props = d.props(propsAck, "SUBACK")
		codes = subackCodesV5
	}
	p.ReasonCodes = d.reasonList(codes, SUBACK)
	return p
}

// reasonList reads the rest of the body as one reason code per filter.
func (d *decoder) reasonList(valid *[256]bool, t Type) []ReasonCode {
	if d.err != nil {
		return nil
	}
	if len(d.b) == 0 {
		d.fail(ProtocolError, "%s carries no reason code; it needs one per topic filter", t)
		return nil
	}
	rcs := make([]ReasonCode, len(d.b))
	for i, c := range d.b {
		if !valid[c] {
			d.fail(ProtocolError, "0x%02X is not a valid %s reason code", c, t)
			return nil
		}
		rcs[i] = ReasonCode(c)
	}
	d.b = nil
	return rcs
}

func encodeSuback(e *encoder, p *Suback, v byte) {
	if p.PacketID == 0 || len(p.ReasonCodes) == 0 {
		e.failf("SUBACK needs a packet identifier other than 0 and at least one reason code")
		return
	}
	e.b = appendU16(e.b, p.PacketID)
	if v == V5 {
		e.props(p.Props, propsAck)
	}
	for _, rc := range p.ReasonCodes {
		if v != V5 && rc > GrantedQoS2 {
			rc = UnspecifiedError // 3.1.1 has a single failure code, 0x80
		}
		e.b = append(e.b, byte(rc))
	}
}

func decodeUnsubscribe(d *decoder, v byte) *Unsubscribe {
	p := &Unsubscribe{PacketID: d.packetID(UNSUBSCRIBE)}
	if v == V5 {
		p.Props = d.props(propsUnsubscribe, "UNSUBSCRIBE")
	}
	for len(d.b) > 0 && d.err == nil {
		p.Filters = append(p.Filters, d.str("topic filter"))
	}
	if d.err == nil && len(p.Filters) == 0 {
		d.fail(ProtocolError, "UNSUBSCRIBE carries no topic filter; send at least one")
	}
	return p
}

func encodeUnsubscribe(e *encoder, p *Unsubscribe, v byte) {
	if p.PacketID == 0 || len(p.Filters) == 0 {
		e.failf("UNSUBSCRIBE needs a packet identifier other than 0 and at least one filter")
		return
	}
	e.b = appendU16(e.b, p.PacketID)
	if v == V5 {
		e.props(p.Props, propsUnsubscribe)
	}
	for _, f := range p.Filters {
		e.str("topic filter", f)
	}
}

func decodeUnsuback(d *decoder, v byte) *Unsuback {
	p := &Unsuback{PacketID: d.packetID(UNSUBACK)}
	if v == V5 {
		p.Props = d.props(propsAck, "UNSUBACK")
		p.ReasonCodes = d.reasonList(unsubackCodesV5, UNSUBACK)
	}
	return p
}

func encodeUnsuback(e *encoder, p *Unsuback, v byte) {
	if p.PacketID == 0 {
		e.failf("UNSUBACK needs a packet identifier other than 0")
		return
	}
	e.b = appendU16(e.b, p.PacketID)
	if v == V5 {
		if len(p.ReasonCodes) == 0 {
			e.failf("v5 UNSUBACK needs one reason code per topic filter")
			return
		}
		e.props(p.Props, propsAck)
		for _, rc := range p.ReasonCodes {
			e.b = append(e.b, byte(rc))
		}
	}
}
