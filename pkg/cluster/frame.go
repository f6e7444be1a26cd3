package cluster

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frame types of the data link. A frame is a 4-byte big-endian length of what
// follows, one type byte, and the body.
const (
	fPublish     byte = 1  // message: deliver to local subscribers (Broker.DeliverLocal)
	fShared      byte = 2  // subscriber id + delivery: deliver to that session (Broker.DeliverShared)
	fSessions    byte = 3  // session table delta or full snapshot of the sender
	fDigest      byte = 4  // the sender's table version, for anti-entropy
	fSyncReq     byte = 5  // please send your full table
	fRetain      byte = 6  // retained message set or delete
	fHandoverReq byte = 7  // move (or drop) a session to the asking node
	fHandoverRes byte = 8  // the session moved: its subscriptions and pending deliveries
	fRetainSync  byte = 9  // full retained store of the sender (anti-entropy)
	fRegLock     byte = 10 // take the registration lock of a client id (to its coordinator)
	fRegGrant    byte = 11 // the lock is yours: token and the node that registered the id last
	fRegUnlock   byte = 12 // release the lock, naming the new owner
	fMoveIn      byte = 13 // a leaving node pushes a session here; answered with fHandoverRes
)

const frameHeader = 5

// appendFrame appends a frame of type t whose body is built by body.
func appendFrame(dst []byte, t byte, body func(e *enc) error) ([]byte, error) {
	start := len(dst)
	e := &enc{b: append(dst, 0, 0, 0, 0, t)}
	if err := body(e); err != nil {
		return dst, err
	}
	return e.finish(start)
}

func (e *enc) finish(start int) ([]byte, error) {
	n := len(e.b) - start - 4
	if n > 1<<31-1 {
		return e.b[:start], fmt.Errorf("cluster frame of %d bytes is too large", n)
	}
	binary.BigEndian.PutUint32(e.b[start:], uint32(n))
	return e.b, nil
}

// readFrame reads one frame into buf (grown as needed); max bounds the body
// (incoming_clustering_buffer_size) so a bad peer cannot make us allocate without limit.
func readFrame(r io.Reader, buf []byte, max int) (t byte, body []byte, out []byte, err error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, buf, err
	}
	n := int(binary.BigEndian.Uint32(h[:4]))
	if n < 1 {
		return 0, nil, buf, fmt.Errorf("cluster frame with length %d has no type", n)
	}
	if n-1 > max {
		return 0, nil, buf, fmt.Errorf("cluster frame of %d bytes exceeds incoming_clustering_buffer_size %d", n-1, max)
	}
	if cap(buf) < n-1 {
		buf = make([]byte, n-1)
	}
	body = buf[:n-1]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, buf, err
	}
	return h[4], body, buf, nil
}
