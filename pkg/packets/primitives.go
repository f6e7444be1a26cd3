package packets

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

// maxRemaining is the largest value a 4-byte Variable Byte Integer can hold.
const maxRemaining = 268435455

// decoder walks a packet body. The first failure sticks in err so that packet
// decoders read straight through and check once at the end.
type decoder struct {
	b     []byte
	owned bool // b is a private buffer: strings and slices may alias it
	err   *Error
}

func (d *decoder) fail(code ReasonCode, format string, args ...any) {
	if d.err == nil {
		d.err = Errorf(code, format, args...)
	}
}

func (d *decoder) short(what string) {
	d.fail(MalformedPacket, "packet ends inside %s; the sender's remaining length is wrong", what)
}

func (d *decoder) u8(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.short(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u16(what string) uint16 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 2 {
		d.short(what)
		return 0
	}
	v := binary.BigEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *decoder) u32(what string) uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.short(what)
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// varint reads a Variable Byte Integer (at most 4 bytes).
func (d *decoder) varint(what string) uint32 {
	if d.err != nil {
		return 0
	}
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(d.b) {
			d.short(what)
			return 0
		}
		c := d.b[i]
		v |= uint32(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			d.b = d.b[i+1:]
			return v
		}
	}
	d.fail(MalformedPacket, "%s uses more than 4 bytes as a variable byte integer", what)
	return 0
}

// raw reads n bytes without copying.
func (d *decoder) raw(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.short(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// rawStr reads a length-prefixed UTF-8 string and checks it without copying.
func (d *decoder) rawStr(what string) []byte {
	n := d.u16(what)
	b := d.raw(int(n), what)
	if d.err == nil && !validUTF8(b) {
		d.fail(MalformedPacket, "%s is not well-formed UTF-8 or contains U+0000; fix the sender's string encoding", what)
	}
	return b
}

// str reads a UTF-8 string that the caller owns.
func (d *decoder) str(what string) string { return d.ownStr(d.rawStr(what)) }

// ownStr returns b as a string the caller owns (a copy unless the buffer is private).
func (d *decoder) ownStr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if d.owned {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// bin reads length-prefixed binary data; the result is non-nil even when empty
// so that "present but empty" survives a round trip.
func (d *decoder) bin(what string) []byte {
	n := d.u16(what)
	b := d.raw(int(n), what)
	if d.err != nil {
		return nil
	}
	return d.own(b)
}

// own returns b as caller-owned memory (copy unless the buffer is private).
func (d *decoder) own(b []byte) []byte {
	if d.owned {
		return b
	}
	return append(make([]byte, 0, len(b)), b...)
}

// validUTF8 applies the MQTT string rules: well-formed UTF-8, no U+0000.
func validUTF8(b []byte) bool {
	for i, c := range b {
		if c == 0 {
			return false
		}
		if c >= 0x80 {
			rest := b[i:]
			return utf8.Valid(rest) && bytes.IndexByte(rest, 0) < 0
		}
	}
	return true
}

// putVarint writes v (≤ maxRemaining) and returns the byte count.
func putVarint(dst []byte, v int) int {
	i := 0
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v > 0 {
			c |= 0x80
		}
		dst[i] = c
		i++
		if v == 0 {
			return i
		}
	}
}

func appendVarint(dst []byte, v uint32) []byte {
	var tmp [5]byte
	n := putVarint(tmp[:], int(v))
	return append(dst, tmp[:n]...)
}

func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// encoder appends to b; the first failure sticks in err.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) failf(format string, args ...any) {
	if e.err == nil {
		e.err = encodeErr(format, args...)
	}
}

func (e *encoder) str(what, s string) {
	if len(s) > 65535 {
		e.failf("%s is %d bytes, the limit is 65535", what, len(s))
		return
	}
	e.b = append(appendU16(e.b, uint16(len(s))), s...)
}

func (e *encoder) bin(what string, v []byte) {
	if len(v) > 65535 {
		e.failf("%s is %d bytes, the limit is 65535", what, len(v))
		return
	}
	e.b = append(appendU16(e.b, uint16(len(v))), v...)
}

// begin leaves room for a varint length prefix that end fills in once the
// length is known; this avoids a separate sizing pass.
func (e *encoder) begin() int {
	start := len(e.b)
	e.b = append(e.b, 0, 0, 0, 0)
	return start
}

// end writes the length of everything after the reserved prefix at start
// and closes the gap left by unused prefix bytes.
func (e *encoder) end(start int) {
	n := len(e.b) - start - 4
	if n > maxRemaining {
		if e.err == nil {
			e.err = Errorf(PacketTooLarge, "encoded length %d exceeds the MQTT maximum %d; send less data", n, maxRemaining)
		}
		return
	}
	var tmp [4]byte
	l := putVarint(tmp[:], n)
	copy(e.b[start+l:], e.b[start+4:])
	copy(e.b[start:], tmp[:l])
	e.b = e.b[:len(e.b)-(4-l)]
}

// encodeErr reports a packet that cannot be put on the wire as given.
func encodeErr(format string, args ...any) *Error {
	return Errorf(MalformedPacket, "cannot encode: "+format, args...)
}
