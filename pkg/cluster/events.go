package cluster

import (
	"net"
	"strings"
	"time"

	"github.com/hashicorp/serf/serf"
)

const leaveQuery = "vmq-leave"

// eventLoop follows membership: a joined member gets a link and our full state; a
// member that left is removed at once, a failed one after DeadNodeGrace.
func (c *Cluster) eventLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case ev := <-c.events:
			switch e := ev.(type) {
			case serf.MemberEvent:
				for _, m := range e.Members {
					if m.Name != c.o.Node {
						c.memberEvent(e.Type, m)
					}
				}
			case *serf.Query:
				c.handleQuery(e)
			}
		}
	}
}

func (c *Cluster) memberEvent(t serf.EventType, m serf.Member) {
	switch t {
	case serf.EventMemberJoin, serf.EventMemberUpdate:
		addr := dataAddr(m)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		if tm := c.failed[m.Name]; tm != nil {
			tm.Stop()
			delete(c.failed, m.Name)
			c.publishDownLocked()
			c.resolved.Inc()
		}
		l := c.links[m.Name]
		isNew := l == nil
		if isNew {
			l = newLink(m.Name, c.o.Node, addr, c.key, c.o.OutgoingBuffer, c.log, c.sent, c.dropped, c.linkGauge(m.Name), c.o.ClientTLS)
			c.links[m.Name] = l
		} else {
			l.setAddr(addr)
			l.redialNow() // a restarted peer: do not wait out the backoff of the dead one
		}
		c.mu.Unlock()
		if isNew || t == serf.EventMemberJoin {
			c.log.Info("cluster member joined", "node", m.Name, "data", addr)
			// The full copies go first on the new link; later deltas follow them in order.
			l.send(c.tab.fullFrame())
			l.send(c.ret.fullFrame(c))
		}
	case serf.EventMemberFailed:
		c.netsplitDetected.Inc()
		c.log.Warn("cluster member unreachable; its subscriptions are kept for the grace period",
			"node", m.Name, "grace", c.o.DeadNodeGrace)
		c.mu.Lock()
		if c.failed[m.Name] == nil && !c.closed {
			name := m.Name
			var tm *time.Timer // read by graceOver under c.mu, which is held here
			tm = time.AfterFunc(c.o.DeadNodeGrace, func() { c.graceOver(name, &tm) })
			c.failed[name] = tm
			c.publishDownLocked()
		}
		c.mu.Unlock()
	case serf.EventMemberLeave, serf.EventMemberReap:
		c.log.Info("cluster member left", "node", m.Name)
		c.removeNode(m.Name)
	}
}

// graceOver removes a member that is still failed when its grace period (timer *tm) ends:
// it no longer counts as a netsplit, and its subscriptions go.
func (c *Cluster) graceOver(name string, tm **time.Timer) {
	alive := false
	for _, m := range c.serf.Members() {
		alive = alive || (m.Name == name && m.Status == serf.StatusAlive)
	}
	c.mu.Lock()
	if c.failed[name] != *tm || c.closed {
		c.mu.Unlock() // came back (or failed again) meanwhile, or this node stops
		return
	}
	delete(c.failed, name)
	c.publishDownLocked()
	c.mu.Unlock()
	if alive {
		return
	}
	c.log.Warn("cluster member failed for longer than the grace period: removing its subscriptions", "node", name)
	c.removeNode(name)
}

// removeNode forgets a member: its link, its session table and its index entries.
func (c *Cluster) removeNode(name string) {
	c.mu.Lock()
	l := c.links[name]
	delete(c.links, name)
	if tm := c.failed[name]; tm != nil {
		tm.Stop()
		delete(c.failed, name)
		c.publishDownLocked()
	}
	c.mu.Unlock()
	if l != nil {
		go l.close()
	}
	n := c.tab.drop(name)
	c.log.Info("removed the subscriptions of a departed node", "node", name, "entries", n)
}

// dataAddr is the member's listener.vmq.clustering address from its tags; an
// unspecified host (0.0.0.0) is replaced by the member's gossip address.
func dataAddr(m serf.Member) string {
	addr := m.Tags["vmq"]
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort(m.Addr.String(), port)
	}
	return addr
}

// syncLoop pushes deltas as they come and announces our versions every SyncInterval.
func (c *Cluster) syncLoop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.o.SyncInterval)
	defer tick.Stop()
	poll := time.NewTicker(retainPoll)
	defer poll.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.tab.kick:
			c.tab.pushDirty()
		case <-poll.C:
			c.ret.poll(c)
		case <-tick.C:
			c.expireMoved()
			c.tab.pushDirty()
			c.broadcast(c.tab.digestFrame())
		}
	}
}

// askLeave asks the running node to leave the cluster (vmq-admin cluster leave node=...).
func (c *Cluster) askLeave(node string, kill bool) error {
	payload := node
	if kill {
		payload += "\x00kill"
	}
	_, err := c.serf.Query(leaveQuery, []byte(payload), &serf.QueryParam{FilterNodes: []string{node}})
	return err
}

func (c *Cluster) handleQuery(q *serf.Query) {
	if q.Name != leaveQuery {
		return
	}
	name, flag, _ := strings.Cut(string(q.Payload), "\x00")
	if name != c.o.Node {
		return
	}
	c.log.Warn("asked by another node to leave the cluster")
	if c.o.OnLeaveRequest != nil {
		go c.o.OnLeaveRequest(flag == "kill")
		return
	}
	go c.serf.Leave()
}
