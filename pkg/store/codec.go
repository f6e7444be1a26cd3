package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// formatVersion is the first byte of every encoded value; bump it when the layout changes.
const formatVersion byte = 1

// errCorrupt is wrapped by every decode failure so callers can tell bad data from I/O errors.
var errCorrupt = errors.New("store: corrupt record (delete the store dir or restore a backup)")

// Message flag bits.
const (
	flagRetain byte = 1 << 0
	flagDup    byte = 1 << 1
)

// Subscription flag bits.
const (
	subNoLocal           byte = 1 << 0
	subRetainAsPublished byte = 1 << 1
)

// msgHeaderLen is version, flags, qos, expiry(8), published(8); expiry sits at a fixed offset
// so deletes can maintain the expiry index without decoding the whole message.
const msgHeaderLen = 3 + 8 + 8

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// decoder reads length-prefixed fields and remembers the first error.
type decoder struct {
	b   []byte
	err error
	// alias makes bytes return slices into b, not copies: for log records, which live
	// until the transaction they are applied to commits (bbolt keeps what it is given).
	alias bool
	// in names what is decoded in errors ("" for a bbolt record).
	in string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s%s", errCorrupt, what, d.in)
	}
}

func (d *decoder) byte1(what string) byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u32(what string) uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) i64(what string) int64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return int64(v)
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a copy (bbolt values are only valid inside their transaction) unless alias.
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail(what)
		return nil
	}
	if d.alias {
		v := d.b[:n:n]
		d.b = d.b[n:]
		return v
	}
	var out []byte
	if n > 0 {
		out = append([]byte(nil), d.b[:n]...)
	}
	d.b = d.b[n:]
	return out
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) version(what string) {
	if v := d.byte1(what); d.err == nil && v != formatVersion {
		d.err = fmt.Errorf("%w: %s has format version %d, this build reads %d", errCorrupt, what, v, formatVersion)
	}
}

// encodeKey is prefix-free (both parts length-prefixed), so it can prefix other keys.
func encodeKey(k SessionKey) []byte { return appendKey(make([]byte, 0, keyLen(k)), k) }

// appendKey appends encodeKey's bytes to b: records embed the key without a copy of their own.
func appendKey(b []byte, k SessionKey) []byte {
	b = appendString(b, k.Mountpoint)
	return appendString(b, k.ClientID)
}

// keyLen is the length of k encoded.
func keyLen(k SessionKey) int { return strLen(k.Mountpoint) + strLen(k.ClientID) }

// strLen is the length of s encoded by appendString.
func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

// uvarintLen is the length of x encoded by binary.AppendUvarint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// decodeKey returns the key and the bytes after it.
func decodeKey(b []byte) (SessionKey, []byte, error) {
	d := decoder{b: b}
	k := SessionKey{Mountpoint: d.str("mountpoint"), ClientID: d.str("client id")}
	return k, d.b, d.err
}

func encodeSession(s Session) []byte { return appendSession(make([]byte, 0, sessionSize(s)), s) }

// sessionSize is the length of s encoded: a record is sized exactly, since the open
// transaction holds it until the checkpoint.
func sessionSize(s Session) int {
	n := 2 + 4 + 8 + strLen(s.Username) + uvarintLen(uint64(len(s.Subscriptions)))
	for _, sub := range s.Subscriptions {
		n += strLen(sub.Filter) + 3 + uvarintLen(uint64(sub.SubID))
	}
	return n
}

func appendSession(b []byte, s Session) []byte {
	b = append(b, formatVersion, s.ProtocolVersion)
	b = binary.BigEndian.AppendUint32(b, s.ExpiryInterval)
	var disc int64
	if !s.DisconnectedAt.IsZero() {
		disc = s.DisconnectedAt.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(disc))
	b = appendString(b, s.Username)
	b = binary.AppendUvarint(b, uint64(len(s.Subscriptions)))
	for _, sub := range s.Subscriptions {
		b = appendString(b, sub.Filter)
		var fl byte
		if sub.NoLocal {
			fl |= subNoLocal
		}
		if sub.RetainAsPublished {
			fl |= subRetainAsPublished
		}
		b = append(b, sub.QoS, fl, sub.RetainHandling)
		b = binary.AppendUvarint(b, uint64(sub.SubID))
	}
	return b
}

func decodeSession(k SessionKey, b []byte) (Session, error) {
	var s Session
	err := decodeSessionInto(&s, k, b)
	return s, err
}

// decodeSessionInto decodes into s, reusing the storage of its Subscriptions (a restore of
// a million sessions otherwise allocates a slice each only to copy it).
func decodeSessionInto(s *Session, k SessionKey, b []byte) error {
	d := decoder{b: b}
	d.version("session")
	subs := s.Subscriptions[:0]
	*s = Session{Key: k, ProtocolVersion: d.byte1("protocol version"), ExpiryInterval: d.u32("expiry interval"), QoS2: s.QoS2[:0]}
	if disc := d.i64("disconnected at"); disc != 0 {
		s.DisconnectedAt = time.Unix(0, disc)
	}
	s.Username = d.str("username")
	n := d.uvarint("subscription count")
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("subscriptions")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		sub := Subscription{Filter: d.str("filter"), QoS: d.byte1("qos")}
		fl := d.byte1("subscription flags")
		sub.NoLocal = fl&subNoLocal != 0
		sub.RetainAsPublished = fl&subRetainAsPublished != 0
		sub.RetainHandling = d.byte1("retain handling")
		sub.SubID = uint32(d.uvarint("subscription id"))
		subs = append(subs, sub)
	}
	if d.err != nil {
		*s = Session{}
		return fmt.Errorf("session %q/%q: %w", k.Mountpoint, k.ClientID, d.err)
	}
	if len(subs) > 0 {
		s.Subscriptions = subs
	}
	return nil
}

func encodeMessage(m Message) []byte {
	b := make([]byte, 0, msgHeaderLen+6+len(m.Topic)+len(m.Props)+len(m.Payload))
	var fl byte
	if m.Retain {
		fl |= flagRetain
	}
	if m.Dup {
		fl |= flagDup
	}
	b = append(b, formatVersion, fl, m.QoS)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Expiry))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Published))
	b = appendString(b, m.Topic)
	b = appendBytes(b, m.Props)
	return appendBytes(b, m.Payload)
}

func decodeMessage(b []byte) (Message, error) {
	d := decoder{b: b}
	d.version("message")
	fl := d.byte1("flags")
	m := Message{QoS: d.byte1("qos"), Retain: fl&flagRetain != 0, Dup: fl&flagDup != 0}
	m.Expiry = d.i64("expiry")
	m.Published = d.i64("published")
	m.Topic = d.str("topic")
	m.Props = d.bytes("props")
	m.Payload = d.bytes("payload")
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes after message", errCorrupt, len(d.b))
	}
	return m, d.err
}

// messageExpiry reads the expiry field without decoding the message.
func messageExpiry(b []byte) int64 {
	if len(b) < msgHeaderLen {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b[3:11]))
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// expiryKey orders the index by expiry time first so DeleteExpired scans only what is due.
func expiryKey(expiry int64, seq uint64, key []byte) []byte {
	b := make([]byte, 0, 16+len(key))
	b = binary.BigEndian.AppendUint64(b, uint64(expiry))
	b = binary.BigEndian.AppendUint64(b, seq)
	return append(b, key...)
}

func decodeExpiryKey(b []byte) (expiry int64, seq uint64, key []byte, err error) {
	if len(b) < 16 {
		return 0, 0, nil, fmt.Errorf("%w: short expiry index key", errCorrupt)
	}
	return int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint64(b[8:]), b[16:], nil
}

// retainedKey is mountpoint (length-prefixed) then the raw topic.
func retainedKey(mountpoint, topic string) []byte {
	b := make([]byte, 0, 2+len(mountpoint)+len(topic))
	b = appendString(b, mountpoint)
	return append(b, topic...)
}

func decodeRetainedKey(b []byte) (mountpoint, topic string, err error) {
	d := decoder{b: b}
	mountpoint = d.str("retained mountpoint")
	return mountpoint, string(d.b), d.err
}
