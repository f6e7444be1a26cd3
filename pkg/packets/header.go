package packets

import (
	"bufio"
	"io"
)

// ReadPacket reads one whole packet from r. version is the session's protocol
// level (3, 4, 5; bridge levels are accepted); 0 before CONNECT, when only
// CONNECT is valid and its own protocol level decides how it is decoded.
// maxSize > 0 bounds the whole packet (fixed header + remaining length);
// a larger packet gives *Error{Code: PacketTooLarge} before its body is read.
// I/O errors are returned unchanged: io.EOF when the stream ends cleanly
// before a packet, io.ErrUnexpectedEOF when it ends inside one.
// The returned packet never aliases r's buffer. A DISCONNECT without a body is
// one shared value: read it, do not change it.
func ReadPacket(r *bufio.Reader, version byte, maxSize int) (Packet, error) {
	return ReadPacketInto(r, version, maxSize, nil)
}

// Scratch holds the packets a client sends most, for ReadPacketInto to overwrite instead
// of allocating new ones.
type Scratch struct {
	Publish Publish
	Ack     Ack
	// The CONNECT and a SUBSCRIBE (with the array of its one filter): a device that
	// connects and subscribes once per session sends little else (issue 19).
	Connect   Connect
	Subscribe subscribeOne
}

// ReadPacketInto is ReadPacket that decodes a PUBLISH, an acknowledgement, a CONNECT or a
// SUBSCRIBE into sc, overwriting the previous one (sc nil: new ones), for a reader that is
// done with a packet before it reads the next. What a packet points to (a PUBLISH's topic
// and payload, strings, properties, a will, the filters of a SUBSCRIBE of more than one)
// still gets its own memory, which a session or message may keep.
func ReadPacketInto(r *bufio.Reader, version byte, maxSize int, sc *Scratch) (Packet, error) {
	header, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	rl, n, err := readRemaining(r)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(header, version); err != nil {
		return nil, err
	}
	if maxSize > 0 && 1+n+rl > maxSize {
		return nil, Errorf(PacketTooLarge, "%s of %d bytes exceeds the maximum packet size %d", Type(header>>4), 1+n+rl, maxSize)
	}
	// Small non-PUBLISH bodies are decoded in place (decode copies what it
	// keeps); PUBLISH and big bodies get one private buffer the packet aliases.
	if Type(header>>4) != PUBLISH && rl <= r.Size() {
		body, err := r.Peek(rl)
		if err != nil {
			return nil, unexpected(err)
		}
		p, derr := decode(header, body, version, false, sc)
		if _, err := r.Discard(rl); err != nil {
			return nil, err
		}
		return p, derr
	}
	body, err := readBody(r, rl)
	if err != nil {
		return nil, unexpected(err)
	}
	return decode(header, body, version, true, sc)
}

// bodyChunk is what readBody allocates before any of a big body has arrived.
const bodyChunk = 16 << 10

// readBody reads a body of rl bytes. The declared length alone never reserves more than
// bodyChunk: a big buffer grows (doubling, the last step exactly to rl) as bytes arrive,
// so a peer that declares 256 MB and sends nothing costs 16 KiB, not 256 MB.
// The result has len rl and, once it is complete, cap rl.
func readBody(r io.Reader, rl int) ([]byte, error) {
	if rl <= bodyChunk {
		body := make([]byte, rl)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	body := make([]byte, 0, bodyChunk)
	for len(body) < rl {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(2*cap(body), rl))
			copy(grown, body)
			body = grown
		}
		n, err := io.ReadFull(r, body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readRemaining reads the remaining length; n is its size in bytes.
func readRemaining(r *bufio.Reader) (rl, n int, err error) {
	for n < 4 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, n, unexpected(err)
		}
		rl |= int(c&0x7F) << (7 * n)
		n++
		if c&0x80 == 0 {
			return rl, n, nil
		}
	}
	return 0, n, Errorf(MalformedPacket, "remaining length uses more than 4 bytes")
}

// Decode decodes one packet from its fixed header byte and body (the bytes
// after the remaining length). The packet does not alias body (a DISCONNECT
// without a body is one shared value, as from ReadPacket).
// On a CONNECT error found after the protocol level, the returned packet is
// a partial *Connect (name and level set) so the caller can pick the CONNACK
// version; for every other error the packet is nil.
func Decode(header byte, body []byte, version byte) (Packet, error) {
	return decode(header, body, version, false, nil)
}

// checkHeader validates the packet type and its fixed header flags.
func checkHeader(header byte, version byte) error {
	t, flags := Type(header>>4), header&0x0F
	v := version &^ 0x80
	if v == 0 && t != CONNECT {
		return Errorf(ProtocolError, "first packet is %s; a client must send CONNECT first", t)
	}
	if v != 0 && (v < V31 || v > V5) {
		return Errorf(UnsupportedProtocolVersion, "session protocol level %d is not 3, 4 or 5", version)
	}
	switch t {
	case Reserved:
		return Errorf(MalformedPacket, "packet type 0 is reserved")
	case AUTH:
		if v != V5 {
			return Errorf(MalformedPacket, "AUTH exists only in MQTT 5; packet type 15 is reserved before it")
		}
	case PUBLISH:
		if flags&0x06 == 0x06 {
			return Errorf(MalformedPacket, "PUBLISH with QoS 3 is invalid")
		}
		return nil
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		if v == V31 {
			flags &^= 0x08 // MQTT 3.1 let these carry DUP on retransmission
		}
		if flags != 0x02 {
			return Errorf(MalformedPacket, "%s fixed header flags must be 0x2, got 0x%X", t, flags)
		}
		return nil
	}
	if flags != 0 {
		return Errorf(MalformedPacket, "%s fixed header flags must be 0, got 0x%X", t, flags)
	}
	return nil
}

func decode(header byte, body []byte, version byte, owned bool, sc *Scratch) (Packet, error) {
	if err := checkHeader(header, version); err != nil {
		return nil, err
	}
	if len(body) > maxRemaining {
		return nil, Errorf(MalformedPacket, "body of %d bytes exceeds the MQTT maximum", len(body))
	}
	d := &decoder{b: body, owned: owned}
	v := version &^ 0x80
	var p Packet
	switch t := Type(header >> 4); t {
	case CONNECT:
		var into *Connect
		if sc != nil {
			into = &sc.Connect
		}
		c, err := decodeConnect(d, into)
		if err != nil {
			if c != nil {
				return c, err
			}
			return nil, err
		}
		p = c
	case CONNACK:
		p = decodeConnack(d, v)
	case PUBLISH:
		var into *Publish
		if sc != nil {
			into = &sc.Publish
		}
		p = decodePublish(d, header, v, into)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		var into *Ack
		if sc != nil {
			into = &sc.Ack
		}
		p = decodeAck(d, t, v, into)
	case SUBSCRIBE:
		var into *subscribeOne
		if sc != nil {
			into = &sc.Subscribe
		}
		p = decodeSubscribe(d, v, into)
	case SUBACK:
		p = decodeSuback(d, v)
	case UNSUBSCRIBE:
		p = decodeUnsubscribe(d, v)
	case UNSUBACK:
		p = decodeUnsuback(d, v)
	case PINGREQ:
		p = &Pingreq{}
	case PINGRESP:
		p = &Pingresp{}
	case DISCONNECT:
		p = decodeDisconnect(d, v)
	case AUTH:
		p = decodeAuth(d)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) > 0 {
		return nil, Errorf(MalformedPacket, "%d unexpected bytes after the end of %s", len(d.b), p.Type())
	}
	return p, nil
}

// Encode appends p to dst in the wire format of protocol level version
// (3, 4, 5; a CONNECT uses its own ProtocolLevel when set). For v3/v4
// properties are omitted and v5 reason codes are mapped to what those
// versions can carry. Properties a packet may not carry are dropped.
func Encode(dst []byte, p Packet, version byte) ([]byte, error) {
	v := version &^ 0x80
	if c, ok := p.(*Connect); ok && c.ProtocolLevel != 0 {
		v = ConnectVersion(c)
	}
	if v < V31 || v > V5 {
		return dst, encodeErr("protocol level %d is not 3, 4 or 5", version)
	}
	e := &encoder{b: dst}
	e.b = append(e.b, 0) // fixed header byte, set below
	start := e.begin()
	var flags byte
	switch p := p.(type) {
	case *Connect:
		encodeConnect(e, p, v)
	case *Connack:
		encodeConnack(e, p, v)
	case *Publish:
		flags = encodePublish(e, p, v)
	case *Ack:
		encodeAck(e, p, v)
		if p.Kind == PUBREL {
			flags = 0x02
		}
	case *Subscribe:
		encodeSubscribe(e, p, v)
		flags = 0x02
	case *Suback:
		encodeSuback(e, p, v)
	case *Unsubscribe:
		encodeUnsubscribe(e, p, v)
		flags = 0x02
	case *Unsuback:
		encodeUnsuback(e, p, v)
	case *Pingreq, *Pingresp:
	case *Disconnect:
		encodeDisconnect(e, p, v)
	case *Auth:
		if v != V5 {
			return dst, encodeErr("AUTH exists only in MQTT 5, the session is level %d", v)
		}
		encodeAuth(e, p)
	case nil:
		return dst, encodeErr("nil packet")
	default:
		return dst, encodeErr("unknown packet type %T", p)
	}
	if e.err != nil {
		return dst, e.err
	}
	e.b[start-1] = byte(p.Type())<<4 | flags
	e.end(start)
	if e.err != nil {
		return dst, e.err
	}
	return e.b, nil
}

// ConnectVersion is the CONNECT's protocol level normalised to 3, 4 or 5
// (the 0x80 bridge bit stripped).
func ConnectVersion(c *Connect) byte {
	return c.ProtocolLevel &^ 0x80
}
