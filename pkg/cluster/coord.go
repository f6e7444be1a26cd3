package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/serf/serf"
	"github.com/vernemq-go/vernemq/pkg/broker"
)

// coordinate_registrations: the registration of a client id is decided by one node,
// its coordinator (rendezvous hash of the id over the running members). A connecting
// node takes the coordinator's lock on the id, learns from it which node registered
// the id last (the table replica may lag), moves or drops the session there, registers,
// and releases the lock naming itself as the new owner. Two simultaneous CONNECTs of
// one id on two nodes therefore run one after the other, and the second takes over the first.

const (
	regLockWait  = 5 * time.Second  // a connect waits this long for the lock, then proceeds uncoordinated
	regLease     = 12 * time.Second // a holder that never releases (crashed) loses the lock; above a hand-over's bound
	regOwnerKeep = 30 * time.Second // the coordinator remembers the last owner this long (table convergence)
)

// regLock is the coordinator's state for one client id.
type regLock struct {
	held    bool
	token   uint64
	owner   string // node that registered the id last
	waiters []regWaiter
	lease   *time.Timer
	forget  *time.Timer
}

type regWaiter struct {
	node string
	req  uint64
}

// regGrant is the answer to a lock request.
type regGrant struct {
	token uint64
	owner string
}

// registrations holds both roles: the locks this node coordinates and the requests it waits on.
type registrations struct {
	mu      sync.Mutex
	next    uint64
	locks   map[broker.SessionID]*regLock
	pending map[uint64]chan regGrant
	held    map[broker.SessionID]heldLock // locks held by connects on this node, released on wakeup
}

type heldLock struct {
	coord string
	token uint64
}

func (r *registrations) init() {
	r.locks = map[broker.SessionID]*regLock{}
	r.pending = map[uint64]chan regGrant{}
	r.held = map[broker.SessionID]heldLock{}
}

// coordinator is the running member with the highest hash of (member, id).
func (c *Cluster) coordinator(id broker.SessionID) string {
	if n := c.rendezvous(id, ""); n != "" {
		return n
	}
	return c.o.Node
}

// rendezvous is the running member (but except) with the highest hash of (member, id):
// every node computes the same answer from the same membership.
func (c *Cluster) rendezvous(id broker.SessionID, except string) string {
	var names []string
	for _, m := range c.serf.Members() {
		if m.Status == serf.StatusAlive && m.Name != except {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	best, bestH := "", uint64(0)
	for _, n := range names {
		h := sha256.Sum256([]byte(n + "\x00" + id.Mountpoint + "\x00" + id.ClientID))
		if v := binary.BigEndian.Uint64(h[:8]); best == "" || v > bestH {
			best, bestH = n, v
		}
	}
	return best
}

// lockRegistration takes id's registration lock at its coordinator and returns the
// node that registered id last ("" if unknown). It gives up after regLockWait.
func (c *Cluster) lockRegistration(ctx context.Context, id broker.SessionID) (string, error) {
	coord := c.coordinator(id)
	if coord != c.o.Node && c.peerUnreachable(coord) {
		// A crashed coordinator is known by its link long before serf drops it: do not
		// make the connect wait regLockWait for an answer that cannot come.
		return "", fmt.Errorf("registration lock: coordinator %s unreachable", coord)
	}
	ch := make(chan regGrant, 1)
	c.reg.mu.Lock()
	c.reg.next++
	req := c.reg.next
	c.reg.pending[req] = ch
	c.reg.mu.Unlock()
	if coord == c.o.Node {
		c.regRequest(c.o.Node, req, id)
	} else {
		f, _ := appendFrame(nil, fRegLock, func(e *enc) error { e.uv(req); e.sid(id); return nil })
		c.sendTo(coord, f)
	}
	ctx, cancel := context.WithTimeout(ctx, regLockWait)
	defer cancel()
	// A coordinator that crashes while we wait is seen by its link within milliseconds.
	check := time.NewTicker(coordCheck)
	defer check.Stop()
	for {
		select {
		case g := <-ch:
			c.reg.mu.Lock()
			c.reg.held[id] = heldLock{coord: coord, token: g.token}
			c.reg.mu.Unlock()
			return g.owner, nil
		case <-check.C:
			if coord == c.o.Node || !c.peerUnreachable(coord) {
				continue
			}
			c.reg.mu.Lock()
			delete(c.reg.pending, req)
			c.reg.mu.Unlock()
			return "", fmt.Errorf("registration lock: coordinator %s became unreachable", coord)
		case <-ctx.Done():
			c.reg.mu.Lock()
			delete(c.reg.pending, req) // a late grant is released at once (regGranted)
			c.reg.mu.Unlock()
			return "", fmt.Errorf("registration lock at %s: %w", coord, ctx.Err())
		}
	}
}

// coordCheck is how often a connect waiting for a registration lock checks its coordinator.
const coordCheck = 50 * time.Millisecond

// unlockRegistration releases the lock a connect of id holds, naming this node the owner.
func (c *Cluster) unlockRegistration(id broker.SessionID) {
	c.reg.mu.Lock()
	h, ok := c.reg.held[id]
	delete(c.reg.held, id)
	c.reg.mu.Unlock()
	if ok {
		c.sendUnlock(h.coord, id, h.token, c.o.Node)
	}
}

func (c *Cluster) sendUnlock(coord string, id broker.SessionID, token uint64, owner string) {
	if coord == c.o.Node {
		c.regRelease(id, token, owner)
		return
	}
	f, _ := appendFrame(nil, fRegUnlock, func(e *enc) error { e.sid(id); e.uv(token); e.str(owner); return nil })
	c.sendTo(coord, f)
}

// regRequest (coordinator) queues node's request and grants it when the lock is free.
func (c *Cluster) regRequest(node string, req uint64, id broker.SessionID) {
	c.reg.mu.Lock()
	l := c.reg.locks[id]
	if l == nil {
		l = &regLock{}
		c.reg.locks[id] = l
	}
	l.waiters = append(l.waiters, regWaiter{node, req})
	g, w, ok := c.grantNextLocked(id, l)
	c.reg.mu.Unlock()
	if ok {
		c.sendGrant(id, w, g)
	}
}

// grantNextLocked hands a free lock to the first waiter.
func (c *Cluster) grantNextLocked(id broker.SessionID, l *regLock) (regGrant, regWaiter, bool) {
	if l.held || len(l.waiters) == 0 {
		return regGrant{}, regWaiter{}, false
	}
	w := l.waiters[0]
	l.waiters = l.waiters[1:]
	c.reg.next++
	l.held, l.token = true, c.reg.next
	if l.forget != nil {
		l.forget.Stop()
		l.forget = nil
	}
	token := l.token
	l.lease = time.AfterFunc(regLease, func() { c.regRelease(id, token, "") })
	return regGrant{token: token, owner: l.owner}, w, true
}

func (c *Cluster) sendGrant(id broker.SessionID, w regWaiter, g regGrant) {
	if w.node == c.o.Node {
		c.regGranted(c.o.Node, w.req, id, g)
		return
	}
	f, _ := appendFrame(nil, fRegGrant, func(e *enc) error { e.uv(w.req); e.sid(id); e.uv(g.token); e.str(g.owner); return nil })
	c.sendTo(w.node, f)
}

// regRelease (coordinator) frees the lock held with token and records owner.
func (c *Cluster) regRelease(id broker.SessionID, token uint64, owner string) {
	c.reg.mu.Lock()
	l := c.reg.locks[id]
	if l == nil || !l.held || l.token != token {
		c.reg.mu.Unlock()
		return
	}
	l.held = false
	l.lease.Stop()
	if owner != "" {
		l.owner = owner
	}
	g, w, ok := c.grantNextLocked(id, l)
	if !ok && !l.held {
		l.forget = time.AfterFunc(regOwnerKeep, func() {
			c.reg.mu.Lock()
			if cur := c.reg.locks[id]; cur == l && !l.held && len(l.waiters) == 0 {
				delete(c.reg.locks, id)
			}
			c.reg.mu.Unlock()
		})
	}
	c.reg.mu.Unlock()
	if ok {
		c.sendGrant(id, w, g)
	}
}

// regGranted (requester) passes a grant to the waiting connect, or releases it when that gave up.
func (c *Cluster) regGranted(coord string, req uint64, id broker.SessionID, g regGrant) {
	c.reg.mu.Lock()
	ch := c.reg.pending[req]
	delete(c.reg.pending, req)
	c.reg.mu.Unlock()
	if ch != nil {
		ch <- g
		return
	}
	c.sendUnlock(coord, id, g.token, "")
}

func (c *Cluster) handleRegFrame(peer string, t byte, d *dec) error {
	switch t {
	case fRegLock:
		req, id := d.uv(), d.sid()
		if err := d.done(); err != nil {
			return err
		}
		c.regRequest(peer, req, id)
	case fRegGrant:
		req, id, token, owner := d.uv(), d.sid(), d.uv(), d.str()
		if err := d.done(); err != nil {
			return err
		}
		c.regGranted(peer, req, id, regGrant{token: token, owner: owner})
	case fRegUnlock:
		id, token, owner := d.sid(), d.uv(), d.str()
		if err := d.done(); err != nil {
			return err
		}
		c.regRelease(id, token, owner)
	}
	return nil
}
