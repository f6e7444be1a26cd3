package cluster

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// retainPoll is how often the retained topics changed since the last poll are sent to
// the peers (nodes that have subscribers get the message itself at once).
const retainPoll = 250 * time.Millisecond

type retKey = broker.RetainedKey

// retMeta orders writes of one topic cluster-wide: the later timestamp wins, ties by node name.
type retMeta struct {
	ts   int64
	node string
}

func (a retMeta) after(b retMeta) bool {
	return a.ts > b.ts || (a.ts == b.ts && a.node > b.node)
}

// retainSync replicates retained messages, last writer wins.
type retainSync struct {
	mu   sync.Mutex
	seen map[retKey]*session.Message // the store as of the last poll (or as a peer set it)
	meta map[retKey]retMeta          // latest write per topic; a delete stays as a tombstone
}

func (r *retainSync) init() {
	r.seen = map[retKey]*session.Message{}
	r.meta = map[retKey]retMeta{}
}

func (r *retainSync) snapshot(c *Cluster) map[retKey]*session.Message {
	cur := map[retKey]*session.Message{}
	c.b.Retained(func(m *session.Message) bool {
		cur[retKey{Mountpoint: m.Mountpoint, Topic: m.Topic}] = m
		return true
	})
	return cur
}

// poll sends the local sets and deletes since the last poll to every peer, stamped with the
// time of the change (not of the poll: a poll delayed on a busy node must not make an older
// write win over a peer's newer one). A message a peer set (seen holds it) is not sent
// back, nor a delete of one this node never had.
func (r *retainSync) poll(c *Cluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var f []byte
	c.b.RetainedChanges(func(k retKey, m *session.Message, at int64) {
		old, had := r.seen[k]
		switch {
		case m == nil && !had, m != nil && old == m:
			return
		case m == nil:
			delete(r.seen, k)
		default:
			r.seen[k] = m
		}
		meta := retMeta{at, c.o.Node}
		if prev, ok := r.meta[k]; ok && !meta.after(prev) {
			// A peer's write was applied here after this change but stamped earlier (clocks
			// differ): keep ordering by timestamps, this write just after the peer's.
			meta.ts = prev.ts + 1
		}
		r.meta[k] = meta
		f, _ = appendFrame(f, fRetain, func(e *enc) error { return encodeRetain(e, meta, k, m) })
	})
	if len(f) > 0 {
		c.broadcast(f)
	}
}

// noteRemote records a retained message delivered by a peer, so poll does not send it back.
func (r *retainSync) noteRemote(m *session.Message) {
	r.mu.Lock()
	k := retKey{Mountpoint: m.Mountpoint, Topic: m.Topic}
	if len(m.Payload) == 0 {
		delete(r.seen, k)
	} else {
		r.seen[k] = m
	}
	r.mu.Unlock()
}

// fullFrame is every retained message and tombstone of this node, for a joining peer.
func (r *retainSync) fullFrame(c *Cluster) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.snapshot(c)
	f, _ := appendFrame(nil, fRetainSync, func(e *enc) error {
		n := 0
		for k := range r.meta {
			if _, ok := cur[k]; !ok {
				n++
			}
		}
		e.uv(uint64(len(cur) + n))
		for k, m := range cur {
			meta, ok := r.meta[k]
			if !ok {
				meta = retMeta{0, c.o.Node} // never written since start: any real write wins
			}
			if err := encodeRetain(e, meta, k, m); err != nil {
				return err
			}
		}
		for k, meta := range r.meta {
			if _, ok := cur[k]; !ok {
				encodeRetain(e, meta, k, nil)
			}
		}
		return nil
	})
	return f
}

func encodeRetain(e *enc, meta retMeta, k retKey, m *session.Message) error {
	e.sv(meta.ts)
	e.str(meta.node)
	if m == nil {
		e.u8(0)
		e.str(k.Mountpoint)
		e.str(k.Topic)
		return nil
	}
	e.u8(1)
	return e.message(m)
}

func (r *retainSync) handle(c *Cluster, d *dec, full bool) error {
	n := uint64(1)
	if full {
		n = d.uv()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := uint64(0); i < n && d.err == nil; i++ {
		meta := retMeta{ts: d.sv(), node: d.str()}
		var k retKey
		var m *session.Message
		if d.u8() == 1 {
			m = d.message()
			k = retKey{Mountpoint: m.Mountpoint, Topic: m.Topic}
		} else {
			k = retKey{Mountpoint: d.str(), Topic: d.str()}
		}
		if d.err != nil {
			break
		}
		if old, ok := r.meta[k]; ok && !meta.after(old) {
			continue
		}
		if at, ok := c.b.RetainedChangedAt(k); ok && !meta.after(retMeta{at, c.o.Node}) {
			continue // a newer local write not polled yet: the next poll sends it
		}
		r.meta[k] = meta
		if m != nil && len(m.Payload) > 0 {
			m.Retain = true
			c.b.RestoreRetained(m)
			r.seen[k] = m
		} else {
			c.b.DeletePeerRetained(k.Mountpoint, k.Topic)
			delete(r.seen, k)
		}
	}
	return d.done()
}
