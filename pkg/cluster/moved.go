package cluster

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// movedKeep is how long a node forwards messages for a session it handed over: until
// every node's table routes to the new owner (a delta is pushed at once; anti-entropy
// repairs a lost one within SyncInterval).
const movedKeep = 30 * time.Second

// movedSessions remembers the sessions this node handed over recently, so messages
// other nodes still route here for them are passed on to the new owner, not lost.
type movedSessions struct {
	mu sync.Mutex
	m  map[broker.SessionID]movedTo
}

type movedTo struct {
	node      string
	subs      []session.Sub
	until     time.Time
	confirmed bool // node's own table lists the session: our table may stop listing it
	sent      bool // the session itself is on node's link: messages may follow it
	// local: the handed-off session's subscriptions are still in our index, so the router
	// passes on what they match (broker.Mover); forwardMoved need not.
	local bool
	held  []session.Delivery
}

func (s *movedSessions) init() { s.m = map[broker.SessionID]movedTo{} }

// noteMoved records that id is moving to node: from now on what arrives for it is held,
// and passed on once the session itself is on node's link (movedSent).
func (c *Cluster) noteMoved(id broker.SessionID, node string, subs []session.Sub) {
	c.mv.mu.Lock()
	c.mv.m[id] = movedTo{node: node, subs: subs, until: time.Now().Add(movedKeep), local: true}
	c.mv.mu.Unlock()
}

// forgetMoved is called when id registers here again: it is ours, not forwarded any more.
func (c *Cluster) forgetMoved(id broker.SessionID) {
	c.mv.mu.Lock()
	delete(c.mv.m, id)
	c.mv.mu.Unlock()
}

// forwardMoved passes m, received from another node, to the new owner of every moved
// session with a matching subscription, as a delivery for that session only (the new
// owner's other subscribers got their copy from the publishing node).
func (c *Cluster) forwardMoved(m *session.Message) {
	type fwd struct {
		id   broker.SessionID
		node string
		d    session.Delivery
	}
	var out []fwd
	c.mv.mu.Lock()
	if len(c.mv.m) == 0 { // the common case, checked before reading the clock: once per received message
		c.mv.mu.Unlock()
		return
	}
	now := time.Now()
	for id, mv := range c.mv.m {
		if now.After(mv.until) {
			delete(c.mv.m, id)
			continue
		}
		if id.Mountpoint != m.Mountpoint || mv.local {
			continue // the local subscriptions matched it: the router passed it on
		}
		if d, ok := deliveryFor(mv.subs, m); ok {
			if !mv.sent {
				mv.held = append(mv.held, d)
				c.mv.m[id] = mv
				continue
			}
			out = append(out, fwd{id, mv.node, d})
		}
	}
	c.mv.mu.Unlock()
	for _, f := range out {
		c.sendShared(f.node, f.id, f.d)
	}
}

// PassOn implements broker.Mover: a delivery for the moved session id (routed to it on
// this node while it moved, or a shared-group delivery from another node) goes to its new
// owner, held until the session itself is on the link.
func (c *Cluster) PassOn(id broker.SessionID, d session.Delivery) bool {
	c.mv.mu.Lock()
	defer c.mv.mu.Unlock()
	mv, ok := c.mv.m[id]
	if !ok || time.Now().After(mv.until) {
		return false
	}
	if !mv.sent {
		mv.held = append(mv.held, d)
		c.mv.m[id] = mv
		return true
	}
	c.sendShared(mv.node, id, d)
	return true
}

// movedSent is called once the session's frame is queued on its new node's link: the
// messages held meanwhile follow it, in order, and later ones go at once. Then this
// node's own publishes are routed to the new node (its entries in our index), and
// release (broker.HandOver's) removes the handed-off session's local subscriptions.
// Not before: a publish forwarded to the new node ahead of the session would find no
// subscriber there, and between removing the local entries and adding the new node's
// a publish here would match neither.
func (c *Cluster) movedSent(id broker.SessionID, release func()) {
	c.mv.mu.Lock()
	mv, ok := c.mv.m[id]
	if ok {
		for _, d := range mv.held {
			c.sendShared(mv.node, id, d)
		}
		mv.held, mv.sent = nil, true
		c.mv.m[id] = mv
	}
	c.mv.mu.Unlock()
	if ok {
		c.tab.adopt(mv.node, id, mv.subs)
		c.mv.mu.Lock()
		if cur, still := c.mv.m[id]; still {
			cur.local = false // before the entries go: a message from a peer is then passed on by one of the two
			c.mv.m[id] = cur
		}
		c.mv.mu.Unlock()
	}
	if release != nil {
		release()
	}
}

func (c *Cluster) sendShared(node string, id broker.SessionID, d session.Delivery) {
	f, err := appendFrame(nil, fShared, func(e *enc) error {
		e.sid(id)
		return e.delivery(d)
	})
	if err != nil {
		c.log.Warn("message for a moved session not forwarded", "client_id", id.ClientID, "error", err)
		return
	}
	c.sendTo(node, f)
}

// deliveryFor builds the one delivery of m for a session with subs (non-shared ones):
// the highest granted QoS and every subscription identifier, as the router does (which
// also skips No Local for messages from other nodes).
func deliveryFor(subs []session.Sub, m *session.Message) (session.Delivery, bool) {
	d := session.Delivery{Msg: m}
	found := false
	for _, s := range subs {
		if _, _, shared, _ := topics.ParseShared(s.Filter); shared || !topics.Match(s.Filter, m.Topic) {
			continue
		}
		q := min(s.Options.QoS, m.QoS)
		if !found || q > d.QoS {
			d.QoS = q
		}
		d.Retain = d.Retain || (m.Retain && s.Options.RetainAsPublished)
		if s.SubID != 0 {
			d.SubIDs = append(d.SubIDs, s.SubID)
		}
		found = true
	}
	return d, found
}

// movedOp is this node's table entry for id while it is handed over: still present
// (other nodes keep routing here, and we pass messages on) until the new owner's table
// lists it, so no node is left without a route between the two nodes' deltas.
func (c *Cluster) movedOp(id broker.SessionID) (op, bool) {
	c.mv.mu.Lock()
	defer c.mv.mu.Unlock()
	mv, ok := c.mv.m[id]
	if !ok || mv.confirmed || time.Now().After(mv.until) {
		return op{}, false
	}
	return op{id: id, present: true, subs: mv.subs}, true
}

// confirmMoved notes that node's table lists the sessions ids; those moved there are
// confirmed and returned, to be pushed as gone from our table.
func (c *Cluster) confirmMoved(node string, ids []broker.SessionID) []broker.SessionID {
	c.mv.mu.Lock()
	defer c.mv.mu.Unlock()
	var out []broker.SessionID
	for _, id := range ids {
		if mv, ok := c.mv.m[id]; ok && mv.node == node && !mv.confirmed {
			mv.confirmed = true
			c.mv.m[id] = mv
			out = append(out, id)
		}
	}
	return out
}

// expireMoved forgets hand-overs older than movedKeep and pushes them as gone from our
// table (in case the new node's table never listed them).
func (c *Cluster) expireMoved() {
	now := time.Now()
	var gone []broker.SessionID
	c.mv.mu.Lock()
	for id, mv := range c.mv.m {
		if now.After(mv.until) {
			delete(c.mv.m, id)
			if !mv.confirmed {
				gone = append(gone, id)
			}
		}
	}
	c.mv.mu.Unlock()
	for _, id := range gone {
		c.tab.markDirty(id)
	}
}
