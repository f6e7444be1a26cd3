package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Every write is a record: an op code and its arguments, reusing the record codecs. The
// writer applies the record to its open transaction and appends the same bytes to the
// log; a replay at Open applies them again, in order, on the same base state, so bucket
// sequences hand out the same seqs. Nothing an op does may depend on anything but the
// record and the database (DeleteExpired carries its now).
const (
	opPutSession     byte = 1 // key, session record
	opDeleteSession  byte = 2 // key
	opEnqueue        byte = 3 // uvarint(n), n keys, message record
	opAck            byte = 4 // key, uvarint(n), n uvarint seqs
	opDropOldest     byte = 5 // key, uvarint(n)
	opDeleteExpired  byte = 6 // now (8 BE unix ns)
	opPutQoS2        byte = 7 // key, packet id (2 BE)
	opDeleteQoS2     byte = 8 // key, packet id (2 BE)
	opPutRetained    byte = 9 // retained key, message record
	opDeleteRetained byte = 10
)

// applied is what applying a record found out, for the caller's answer and counters.
type applied struct {
	seqs    []uint64       // opEnqueue: one per key
	n       int            // messages removed (ack, drop, expiry)
	existed bool           // opPutSession / opDeleteSession: the record was there before
	deltas  map[string]int // opDeleteExpired: messages removed per encoded session key
}

// maxEncodedKey bounds an encoded session key: the longest bbolt key made from it is an
// expiry index key (16 bytes in front of it). MQTT allows client ids and topics of 64 KiB,
// bbolt keys of 32 KiB, so a request that cannot be stored fails before it is applied.
const maxEncodedKey = bolt.MaxKeySize - 16

var errTooLong = errors.New("store: too long to store")

func checkKey(ek []byte) error {
	if len(ek) > maxEncodedKey {
		return fmt.Errorf("%w: mountpoint and client id take %d bytes, at most %d are stored", errTooLong, len(ek), maxEncodedKey)
	}
	return nil
}

func checkValue(v []byte) error {
	if int64(len(v)) > bolt.MaxValueSize {
		return fmt.Errorf("%w: record of %d bytes, at most %d", errTooLong, len(v), int64(bolt.MaxValueSize))
	}
	return nil
}

// recKey starts a record: op, then the length-prefixed encoded session key k, with room
// for extra bytes. One allocation per record, which the transaction keeps (bbolt holds the
// values it is given until commit): no encoded key or value of its own to copy in.
func recKey(op byte, k SessionKey, extra int) []byte {
	n := keyLen(k)
	b := make([]byte, 0, 1+uvarintLen(uint64(n))+n+extra)
	return appendRecKey(append(b, op), k)
}

// appendRecKey appends k encoded with its length in front, as a record carries a key.
func appendRecKey(b []byte, k SessionKey) []byte {
	return appendKey(binary.AppendUvarint(b, uint64(keyLen(k))), k)
}

func recPutSession(sess Session) []byte {
	return appendSession(recKey(opPutSession, sess.Key, sessionSize(sess)), sess)
}

func recDeleteSession(k SessionKey) []byte { return recKey(opDeleteSession, k, 0) }

func recEnqueue(keys []SessionKey, msg Message) []byte {
	val := encodeMessage(msg)
	size := 1 + binary.MaxVarintLen32 + len(val)
	for _, k := range keys {
		size += binary.MaxVarintLen32 + keyLen(k)
	}
	rec := append(make([]byte, 0, size), opEnqueue)
	rec = binary.AppendUvarint(rec, uint64(len(keys)))
	for _, k := range keys {
		rec = appendRecKey(rec, k)
	}
	return append(rec, val...)
}

func recAck(k SessionKey, seqs []uint64) []byte {
	rec := recKey(opAck, k, binary.MaxVarintLen64*(len(seqs)+1))
	rec = binary.AppendUvarint(rec, uint64(len(seqs)))
	for _, seq := range seqs {
		rec = binary.AppendUvarint(rec, seq)
	}
	return rec
}

func recDropOldest(k SessionKey, n int) []byte {
	return binary.AppendUvarint(recKey(opDropOldest, k, binary.MaxVarintLen64), uint64(n))
}

func recDeleteExpired(now time.Time) []byte {
	return binary.BigEndian.AppendUint64([]byte{opDeleteExpired}, uint64(now.UnixNano()))
}

func recQoS2(op byte, k SessionKey, packetID uint16) []byte {
	return binary.BigEndian.AppendUint16(recKey(op, k, 2), packetID)
}

// recRetained puts msg as the retained message of topic, or deletes it when the payload is empty.
func recRetained(mountpoint, topic string, msg Message) []byte {
	key := retainedKey(mountpoint, topic)
	op, val := opDeleteRetained, []byte(nil)
	if len(msg.Payload) > 0 {
		op, val = opPutRetained, encodeMessage(msg)
	}
	rec := make([]byte, 0, 1+binary.MaxVarintLen32+len(key)+len(val))
	return append(appendBytes(append(rec, op), key), val...)
}

// recDecoder reads a log record's arguments without copying (see decoder.alias).
func recDecoder(rec []byte) decoder { return decoder{b: rec, alias: true, in: " in log record"} }

func (d *decoder) fixed(n int, what string) []byte {
	if d.err != nil || len(d.b) < n {
		d.fail(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// rest is the remaining bytes (a record's trailing value).
func (d *decoder) rest() []byte {
	v := d.b
	d.b = nil
	return v
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes%s", errCorrupt, len(d.b), d.in)
	}
	return d.err
}

// checkRecord validates a record before it is applied, so that applying it cannot fail
// half way: the writer's transaction spans many batches and has no rollback per request.
func checkRecord(rec []byte) error {
	if len(rec) == 0 {
		return fmt.Errorf("%w: empty log record", errCorrupt)
	}
	d := recDecoder(rec[1:])
	switch rec[0] {
	case opPutSession, opPutRetained:
		k := d.bytes("key")
		if err := d.err; err != nil {
			return err
		}
		if rec[0] == opPutRetained && len(k) > bolt.MaxKeySize {
			return fmt.Errorf("%w: retained topic key of %d bytes, at most %d", errTooLong, len(k), bolt.MaxKeySize)
		}
		if len(k) == 0 {
			return fmt.Errorf("%w: empty key in log record", errCorrupt)
		}
		if rec[0] == opPutSession {
			if err := checkKey(k); err != nil {
				return err
			}
		}
		return checkValue(d.rest())
	case opDeleteRetained:
		if k := d.bytes("key"); d.err == nil && len(k) == 0 {
			return fmt.Errorf("%w: empty key in log record", errCorrupt)
		}
		return d.done()
	case opDeleteSession, opAck, opDropOldest, opPutQoS2, opDeleteQoS2:
		ek := d.bytes("key")
		switch rec[0] {
		case opAck:
			n := d.uvarint("seq count")
			for i := uint64(0); i < n && d.err == nil; i++ {
				d.uvarint("seq")
			}
		case opDropOldest:
			d.uvarint("count")
		case opPutQoS2, opDeleteQoS2:
			d.fixed(2, "packet id")
		}
		if err := d.done(); err != nil {
			return err
		}
		return checkKey(ek)
	case opEnqueue:
		n := d.uvarint("key count")
		if d.err == nil && n > uint64(len(d.b)) {
			d.fail("keys")
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			if err := checkKey(d.bytes("key")); err != nil {
				return err
			}
		}
		if d.err != nil {
			return d.err
		}
		v := d.rest()
		if len(v) < msgHeaderLen {
			return fmt.Errorf("%w: short message in log record", errCorrupt)
		}
		return checkValue(v)
	case opDeleteExpired:
		d.fixed(8, "now")
		return d.done()
	}
	return fmt.Errorf("%w: unknown log record op %d", errCorrupt, rec[0])
}

// writeTx is a write transaction records are applied to, with what they reuse across
// records for its life: bbolt's Get makes a cursor and grows its stack level by level on
// every call (issue 19: a session record's write allocated five times more for it).
type writeTx struct {
	*bolt.Tx
	sessions *bolt.Cursor // of the sessions bucket, made at the first session record
}

func newWriteTx(tx *bolt.Tx) *writeTx { return &writeTx{Tx: tx} }

// sessionExists seeks the sessions bucket for ek with the transaction's one cursor (a seek
// starts from the bucket's root whatever the cursor did before, so writes in between are seen).
func (tx *writeTx) sessionExists(ek []byte) bool {
	if tx.sessions == nil {
		tx.sessions = tx.Bucket(bucketSessions).Cursor()
	}
	k, v := tx.sessions.Seek(ek)
	return v != nil && bytes.Equal(k, ek)
}

// applyRecord applies a checked record to tx. It fails only when the database is not as
// this code writes it (a bucket where a value belongs) or bbolt fails; the writer then
// rebuilds its transaction from the log (commit.go).
func applyRecord(tx *writeTx, rec []byte, out *applied) error {
	d := recDecoder(rec[1:])
	switch rec[0] {
	case opPutSession:
		ek, val := d.bytes("key"), d.rest()
		out.existed = tx.sessionExists(ek)
		return tx.Bucket(bucketSessions).Put(ek, val)
	case opDeleteSession:
		ek := d.bytes("key")
		if err := d.done(); err != nil {
			return err
		}
		return applyDeleteSession(tx, ek, out)
	case opEnqueue:
		n := d.uvarint("key count")
		keys := make([][]byte, 0, min(n, uint64(len(d.b))))
		for i := uint64(0); i < n && d.err == nil; i++ {
			keys = append(keys, d.bytes("key"))
		}
		val := d.rest()
		if d.err != nil {
			return d.err
		}
		return applyEnqueue(tx.Tx, keys, val, out)
	case opAck:
		ek := d.bytes("key")
		n := d.uvarint("seq count")
		if d.err == nil && n > uint64(len(d.b)) {
			d.fail("seqs")
		}
		seqs := make([]uint64, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			seqs = append(seqs, d.uvarint("seq"))
		}
		if err := d.done(); err != nil {
			return err
		}
		return applyAck(tx.Tx, ek, seqs, out)
	case opDropOldest:
		ek := d.bytes("key")
		n := d.uvarint("count")
		if err := d.done(); err != nil {
			return err
		}
		return applyDropOldest(tx.Tx, ek, n, out)
	case opDeleteExpired:
		now := d.fixed(8, "now")
		if err := d.done(); err != nil {
			return err
		}
		return applyDeleteExpired(tx.Tx, int64(binary.BigEndian.Uint64(now)), out)
	case opPutQoS2, opDeleteQoS2:
		ek := d.bytes("key")
		id := d.fixed(2, "packet id")
		if err := d.done(); err != nil {
			return err
		}
		key := append(append(make([]byte, 0, len(ek)+2), ek...), id...)
		if rec[0] == opPutQoS2 {
			return tx.Bucket(bucketQoS2).Put(key, nil)
		}
		return tx.Bucket(bucketQoS2).Delete(key)
	case opPutRetained:
		key, val := d.bytes("key"), d.rest()
		if d.err != nil {
			return d.err
		}
		return tx.Bucket(bucketRetained).Put(key, val)
	case opDeleteRetained:
		key := d.bytes("key")
		if err := d.done(); err != nil {
			return err
		}
		return tx.Bucket(bucketRetained).Delete(key)
	}
	return fmt.Errorf("%w: unknown log record op %d", errCorrupt, rec[0])
}

// recordKeys calls fn with each encoded session key whose queue or QoS 2 state rec
// changes (the writer marks them dirty: reads of them go through the writer).
func recordKeys(rec []byte, out *applied, fn func(ek []byte)) {
	d := recDecoder(rec[1:])
	switch rec[0] {
	case opDeleteSession, opAck, opDropOldest, opPutQoS2, opDeleteQoS2:
		fn(d.bytes("key"))
	case opEnqueue:
		n := d.uvarint("key count")
		for i := uint64(0); i < n && d.err == nil; i++ {
			fn(d.bytes("key"))
		}
	case opDeleteExpired:
		for ek := range out.deltas {
			fn([]byte(ek))
		}
	}
}

func applyEnqueue(tx *bolt.Tx, keys [][]byte, val []byte, out *applied) error {
	queues, expiry := tx.Bucket(bucketQueues), tx.Bucket(bucketExpiry)
	exp := messageExpiry(val)
	out.seqs = make([]uint64, len(keys))
	for i, ek := range keys {
		q, err := queues.CreateBucketIfNotExists(ek)
		if err != nil {
			return fmt.Errorf("store: create queue: %w", err)
		}
		seq, err := q.NextSequence()
		if err != nil {
			return err
		}
		q.FillPercent = 0.95 // keys only ever grow, so pack pages densely
		if err := q.Put(seqKey(seq), val); err != nil {
			return fmt.Errorf("store: enqueue: %w", err)
		}
		if exp != 0 {
			if err := expiry.Put(expiryKey(exp, seq, ek), nil); err != nil {
				return err
			}
		}
		out.seqs[i] = seq
	}
	return nil
}

// deleteQueued removes one message and its expiry index entry; it reports whether it existed.
func deleteQueued(tx *bolt.Tx, q *bolt.Bucket, ek []byte, seq uint64) (bool, error) {
	sk := seqKey(seq)
	val := q.Get(sk)
	if val == nil {
		return false, nil
	}
	if exp := messageExpiry(val); exp != 0 {
		if err := tx.Bucket(bucketExpiry).Delete(expiryKey(exp, seq, ek)); err != nil {
			return false, err
		}
	}
	return true, q.Delete(sk)
}

func applyAck(tx *bolt.Tx, ek []byte, seqs []uint64, out *applied) error {
	q := tx.Bucket(bucketQueues).Bucket(ek)
	if q == nil {
		return nil
	}
	for _, seq := range seqs {
		ok, err := deleteQueued(tx, q, ek, seq)
		if err != nil {
			return err
		}
		if ok {
			out.n++
		}
	}
	return nil
}

func applyDropOldest(tx *bolt.Tx, ek []byte, n uint64, out *applied) error {
	q := tx.Bucket(bucketQueues).Bucket(ek)
	if q == nil {
		return nil
	}
	// Collect first: deleting under a moving cursor skips keys in bbolt.
	var seqs []uint64
	c := q.Cursor()
	for key, _ := c.First(); key != nil && uint64(len(seqs)) < n; key, _ = c.Next() {
		seqs = append(seqs, binary.BigEndian.Uint64(key))
	}
	for _, seq := range seqs {
		if _, err := deleteQueued(tx, q, ek, seq); err != nil {
			return err
		}
	}
	out.n = len(seqs)
	return nil
}

func applyDeleteExpired(tx *bolt.Tx, limit int64, out *applied) error {
	out.deltas = map[string]int{}
	idx := tx.Bucket(bucketExpiry)
	var due [][]byte
	c := idx.Cursor()
	for key, _ := c.First(); key != nil; key, _ = c.Next() {
		exp, _, _, err := decodeExpiryKey(key)
		if err != nil {
			return err
		}
		if exp > limit {
			break
		}
		due = append(due, append([]byte(nil), key...))
	}
	for _, key := range due {
		_, seq, ek, _ := decodeExpiryKey(key)
		if err := idx.Delete(key); err != nil {
			return err
		}
		q := tx.Bucket(bucketQueues).Bucket(ek)
		if q == nil || q.Get(seqKey(seq)) == nil {
			continue // stale index entry; nothing to count
		}
		if err := q.Delete(seqKey(seq)); err != nil {
			return err
		}
		out.deltas[string(ek)]++
		out.n++
	}
	return nil
}

func applyDeleteSession(tx *writeTx, ek []byte, out *applied) error {
	b := tx.Bucket(bucketSessions)
	out.existed = tx.sessionExists(ek)
	if err := b.Delete(ek); err != nil {
		return err
	}
	queues := tx.Bucket(bucketQueues)
	if q := queues.Bucket(ek); q != nil {
		idx := tx.Bucket(bucketExpiry)
		if err := q.ForEach(func(key, val []byte) error {
			if exp := messageExpiry(val); exp != 0 {
				return idx.Delete(expiryKey(exp, binary.BigEndian.Uint64(key), ek))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := queues.DeleteBucket(ek); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
	}
	return deletePrefix(tx.Bucket(bucketQoS2), ek)
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
