package packets

// Reason codes each v5 packet may carry (v5 section 2.4 and per-packet tables).
var (
	pubackCodes     = codeSet(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99) // PUBACK, PUBREC
	pubrelCodes     = codeSet(0x00, 0x92)                                           // PUBREL, PUBCOMP
	disconnectCodes = codeSet(0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F,
		0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2)
	authCodes = codeSet(0x00, 0x18, 0x19)
)

// packetID reads a packet identifier, which must not be 0.
func (d *decoder) packetID(t Type) uint16 {
	id := d.u16("packet identifier")
	if d.err == nil && id == 0 {
		d.fail(ProtocolError, "%s has packet identifier 0; use 1..65535", t)
	}
	return id
}

// reason reads a v5 reason code and checks it against the packet's table.
func (d *decoder) reason(valid *[256]bool, t Type) ReasonCode {
	rc := ReasonCode(d.u8("reason code"))
	if d.err == nil && !valid[rc] {
		d.fail(ProtocolError, "0x%02X is not a valid %s reason code", byte(rc), t)
	}
	return rc
}

func decodeAck(d *decoder, t Type, v byte, into *Ack) *Ack {
	a := into
	if a == nil {
		a = new(Ack)
	}
	*a = Ack{Kind: t, PacketID: d.packetID(t)}
	if v != V5 || len(d.b) == 0 || d.err != nil {
		return a // v5: a missing reason code means Success
	}
	codes := pubackCodes
	if t == PUBREL || t == PUBCOMP {
		codes = pubrelCodes
	}
	a.ReasonCode = d.reason(codes, t)
	if len(d.b) > 0 {
		a.Props = d.props(propsAck, t.String())
	}
	return a
}

func encodeAck(e *encoder, a *Ack, v byte) {
	if a.Kind < PUBACK || a.Kind > PUBCOMP {
		e.failf("Ack.Kind %s is not PUBACK, PUBREC, PUBREL or PUBCOMP", a.Kind)
		return
	}
	if a.PacketID == 0 {
		e.failf("%s needs a packet identifier other than 0", a.Kind)
		return
	}
	e.b = appendU16(e.b, a.PacketID)
	if v == V5 {
		e.optReason(a.ReasonCode, a.Props, propsAck)
	}
}

// optReason writes a v5 reason code and properties, leaving out what the
// spec lets a sender omit: properties when empty, the code when also Success.
func (e *encoder) optReason(rc ReasonCode, p *Properties, allowed propSet) {
	mark := len(e.b)
	e.b = append(e.b, byte(rc))
	e.props(p, allowed)
	if e.err == nil && len(e.b) == mark+2 { // property length 0
		e.b = e.b[:mark+1]
		if rc == Success {
			e.b = e.b[:mark]
		}
	}
}

// noBodyDisconnect is every decoded DISCONNECT without a body (3.1.1's, v5's normal one):
// one shared value, so a client's last packet allocates nothing. Readers do not change it.
var noBodyDisconnect = &Disconnect{}

func decodeDisconnect(d *decoder, v byte) *Disconnect {
	if v != V5 || len(d.b) == 0 {
		return noBodyDisconnect
	}
	p := &Disconnect{}
	p.ReasonCode = d.reason(disconnectCodes, DISCONNECT)
	if len(d.b) > 0 {
		p.Props = d.props(propsDisconnect, "DISCONNECT")
	}
	return p
}

func encodeDisconnect(e *encoder, p *Disconnect, v byte) {
	if v == V5 {
		e.optReason(p.ReasonCode, p.Props, propsDisconnect)
	}
}

func decodeAuth(d *decoder) *Auth {
	p := &Auth{}
	if len(d.b) == 0 {
		return p
	}
	p.ReasonCode = d.reason(authCodes, AUTH)
	if len(d.b) > 0 {
		p.Props = d.props(propsAuth, "AUTH")
	}
	return p
}

// encodeAuth omits reason and properties together only; a lone reason code
// is not a form the spec describes for AUTH.
func encodeAuth(e *encoder, p *Auth) {
	if p.ReasonCode == Success && p.Props.empty() {
		return
	}
	e.b = append(e.b, byte(p.ReasonCode))
	e.props(p.Props, propsAuth)
}
