package cluster

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// table replicates the session table: every node owns its sessions and their
// subscriptions, pushes each change at once as a versioned delta to every peer, and
// announces its version periodically so a peer that missed a delta asks for a full copy.
type table struct {
	c     *Cluster
	mu    sync.Mutex
	inc   uint64 // incarnation: a restarted node's versions never collide with its past
	ver   uint64
	dirty map[broker.SessionID]struct{}
	kick  chan struct{}
	nodes map[string]*nodeTable // replicas of the other nodes' tables
}

// nodeTable is the replica of one other node's sessions.
type nodeTable struct {
	inc, ver uint64
	sessions map[broker.SessionID][]session.Sub
}

type op struct {
	id      broker.SessionID
	present bool
	subs    []session.Sub
}

func (t *table) init(c *Cluster) {
	t.c = c
	t.inc = uint64(time.Now().UnixNano())
	t.dirty = map[broker.SessionID]struct{}{}
	t.kick = make(chan struct{}, 1)
	t.nodes = map[string]*nodeTable{}
}

// markDirty schedules id's current state to be pushed to every peer.
func (t *table) markDirty(id broker.SessionID) {
	t.mu.Lock()
	t.dirty[id] = struct{}{}
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// pushDirty sends one delta with every session changed since the last push.
// It runs under t.mu so that deltas and full copies reach each link in version order.
func (t *table) pushDirty() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.dirty) == 0 {
		return
	}
	ops := make([]op, 0, len(t.dirty))
	for id := range t.dirty {
		ops = append(ops, t.localOp(id))
	}
	clear(t.dirty)
	prev := t.ver
	t.ver++
	f, err := appendFrame(nil, fSessions, func(e *enc) error {
		encodeSessions(e, false, t.inc, prev, t.ver, ops)
		return nil
	})
	if err == nil {
		t.c.broadcast(f)
	}
}

func (t *table) localOp(id broker.SessionID) op {
	s := t.c.b.Session(id)
	if s == nil {
		if o, ok := t.c.movedOp(id); ok {
			return o
		}
		return op{id: id}
	}
	return op{id: id, present: true, subs: s.Subs()}
}

// fullFrame is this node's whole table at its current version.
func (t *table) fullFrame() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ops []op
	t.c.b.Sessions(func(s *session.Session) bool {
		ops = append(ops, op{id: s.ID, present: true, subs: s.Subs()})
		return true
	})
	f, _ := appendFrame(nil, fSessions, func(e *enc) error {
		encodeSessions(e, true, t.inc, t.ver, t.ver, ops)
		return nil
	})
	return f
}

func (t *table) digestFrame() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, _ := appendFrame(nil, fDigest, func(e *enc) error {
		e.uv(t.inc)
		e.uv(t.ver)
		return nil
	})
	return f
}

func encodeSessions(e *enc, full bool, inc, prev, ver uint64, ops []op) {
	if full {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.uv(inc)
	e.uv(prev)
	e.uv(ver)
	e.uv(uint64(len(ops)))
	for _, o := range ops {
		e.sid(o.id)
		if o.present {
			e.u8(1)
			e.subs(o.subs)
		} else {
			e.u8(0)
		}
	}
}

type sessionsFrame struct {
	full           bool
	inc, prev, ver uint64
	ops            []op
}

func decodeSessions(d *dec) sessionsFrame {
	f := sessionsFrame{full: d.u8() == 1, inc: d.uv(), prev: d.uv(), ver: d.uv()}
	n := d.uv()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return f
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		o := op{id: d.sid(), present: d.u8() == 1}
		if o.present {
			o.subs = d.subs()
		}
		f.ops = append(f.ops, o)
	}
	return f
}

// apply merges a peer's delta or full copy; it reports false when a delta does not
// follow the version we hold, and the caller then asks for a full copy.
func (t *table) apply(node string, f sessionsFrame) bool {
	ok, present := t.applyLocked(node, f)
	// Sessions we handed to node are now routed there: drop them from our table.
	for _, id := range t.c.confirmMoved(node, present) {
		t.markDirty(id)
	}
	return ok
}

func (t *table) applyLocked(node string, f sessionsFrame) (bool, []broker.SessionID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	nt := t.nodes[node]
	if !f.full && (nt == nil || nt.inc != f.inc || nt.ver != f.prev) {
		return false, nil
	}
	if nt == nil {
		nt = &nodeTable{sessions: map[broker.SessionID][]session.Sub{}}
		t.nodes[node] = nt
	}
	ix := t.c.b.Index()
	if f.full {
		keep := make(map[broker.SessionID]bool, len(f.ops))
		for _, o := range f.ops {
			keep[o.id] = true
		}
		for id, subs := range nt.sessions {
			if !keep[id] {
				setEntries(ix, node, id, subs, nil)
				delete(nt.sessions, id)
			}
		}
	}
	var present []broker.SessionID
	for _, o := range f.ops {
		old := nt.sessions[o.id]
		if o.present {
			present = append(present, o.id)
			setEntries(ix, node, o.id, old, o.subs)
			nt.sessions[o.id] = o.subs
		} else {
			setEntries(ix, node, o.id, old, nil)
			delete(nt.sessions, o.id)
		}
	}
	nt.inc, nt.ver = f.inc, f.ver
	return true, present
}

// setEntries replaces node's index entries of session id: old ones not in subs go, subs are (re)added.
func setEntries(ix *topics.Index, node string, id broker.SessionID, old, subs []session.Sub) {
	keep := make(map[string]bool, len(subs))
	for _, s := range subs {
		keep[s.Filter] = true
	}
	for _, s := range old {
		if !keep[s.Filter] {
			group, filter, _, _ := topics.ParseShared(s.Filter)
			ix.Remove(id, node, filter, group)
		}
	}
	for _, s := range subs {
		group, filter, _, _ := topics.ParseShared(s.Filter)
		ix.Add((&topics.Entry{Subscriber: id, Filter: filter, Options: s.Options, SubID: s.SubID}).At(node, group))
	}
}

// inSync reports whether we hold node's table at (inc, ver).
func (t *table) inSync(node string, inc, ver uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	nt := t.nodes[node]
	return nt != nil && nt.inc == inc && nt.ver == ver
}

// drop forgets node's table and removes its entries from the index.
func (t *table) drop(node string) int {
	t.mu.Lock()
	delete(t.nodes, node)
	t.mu.Unlock()
	return t.c.b.Index().RemoveNode(node)
}

// owners returns the other nodes that hold a session of id.
func (t *table) owners(id broker.SessionID) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for n, nt := range t.nodes {
		if _, ok := nt.sessions[id]; ok {
			out = append(out, n)
		}
	}
	return out
}

// SubscriptionCount returns how many sessions and subscriptions of node this node holds (for tests and `cluster show`).
func (c *Cluster) SubscriptionCount(node string) (sessions, subs int) {
	c.tab.mu.Lock()
	defer c.tab.mu.Unlock()
	nt := c.tab.nodes[node]
	if nt == nil {
		return 0, 0
	}
	for _, s := range nt.sessions {
		subs += len(s)
	}
	return len(nt.sessions), subs
}

// installHooks chains the table's notifications after the hooks already set.
func (c *Cluster) installHooks() {
	h := c.b.Hooks()
	mark := c.tab.markDirty
	prevSub, prevUnsub, prevGone, prevExp, prevWake := h.OnSubscribe, h.OnUnsubscribe, h.OnClientGone, h.OnSessionExpired, h.OnClientWakeup
	h.OnSubscribe = func(id broker.SessionID, subs []session.Sub) {
		mark(id)
		if prevSub != nil {
			prevSub(id, subs)
		}
	}
	h.OnUnsubscribe = func(id broker.SessionID, f []string) {
		mark(id)
		if prevUnsub != nil {
			prevUnsub(id, f)
		}
	}
	h.OnClientGone = func(id broker.SessionID) {
		mark(id)
		if prevGone != nil {
			prevGone(id)
		}
	}
	h.OnSessionExpired = func(id broker.SessionID) {
		mark(id)
		if prevExp != nil {
			prevExp(id)
		}
	}
	h.OnClientWakeup = func(id broker.SessionID) {
		mark(id)
		c.unlockRegistration(id) // registered: the next connect of id may go
		if prevWake != nil {
			prevWake(id)
		}
	}
	c.b.SetHooks(h)
}

// adopt records id with subs in node's replica at once (a session this node just moved
// there), so local publishes route to it before node's own delta arrives.
func (t *table) adopt(node string, id broker.SessionID, subs []session.Sub) {
	t.mu.Lock()
	defer t.mu.Unlock()
	nt := t.nodes[node]
	if nt == nil {
		return // no replica yet: its full copy will bring the session
	}
	if _, ok := nt.sessions[id]; ok {
		return // node's own delta came first: it is the truth (a change since would not be repaired)
	}
	setEntries(t.c.b.Index(), node, id, nil, subs)
	nt.sessions[id] = subs
}
