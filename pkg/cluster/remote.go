package cluster

import (
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Forward sends m once to node, which delivers it to its own subscribers (broker.Remote).
func (c *Cluster) Forward(node string, m *session.Message) {
	f, err := c.publishFrame(m)
	if err != nil {
		c.log.Warn("message not forwarded", "node", node, "topic", m.Topic, "error", err)
		return
	}
	c.sendTo(node, f)
}

// publishFrame encodes m, stamped, as an fPublish frame: once per message per remote node,
// so one allocation sized for the frame, not a growing one (appendFrame from nil regrew it
// ~5 times for a small publish).
func (c *Cluster) publishFrame(m *session.Message) ([]byte, error) {
	e := enc{b: make([]byte, 5, 32+len(m.Mountpoint)+len(m.Topic)+len(m.Payload)+len(m.From)+len(c.o.Node))}
	e.b[4] = fPublish
	if err := e.message(c.stamp(m)); err != nil {
		return nil, err
	}
	return e.finish(0)
}

// ForwardShared sends m to node for the shared-subscription member sub (broker.Remote).
func (c *Cluster) ForwardShared(node string, m *session.Message, sub topics.SubscriberID, d session.Delivery) {
	d.Msg = c.stamp(m)
	f, err := appendFrame(nil, fShared, func(e *enc) error {
		e.sid(sub)
		return e.delivery(d)
	})
	if err != nil {
		c.log.Warn("shared message not forwarded", "node", node, "topic", m.Topic, "error", err)
		return
	}
	c.sendTo(node, f)
}

// stamp returns m marked with the node it entered the cluster on (so No Local and
// loop checks on the receiver see it came from elsewhere); m itself is shared and not changed.
func (c *Cluster) stamp(m *session.Message) *session.Message {
	if m.Node != "" {
		return m
	}
	cp := *m
	cp.Node = c.o.Node
	return &cp
}

// sendTo queues a frame on node's link; without a link (unknown node) it is counted as dropped.
func (c *Cluster) sendTo(node string, f []byte) {
	c.mu.Lock()
	l := c.links[node]
	c.mu.Unlock()
	if l == nil {
		c.dropped.Add(uint64(len(f)))
		return
	}
	l.send(f)
}

// broadcast queues a frame on every link.
func (c *Cluster) broadcast(f []byte) {
	c.mu.Lock()
	links := make([]*link, 0, len(c.links))
	for _, l := range c.links {
		links = append(links, l)
	}
	c.mu.Unlock()
	for _, l := range links {
		l.send(f)
	}
}

// LinkUp reports whether the data link to node is connected (per-peer link state).
func (c *Cluster) LinkUp(node string) bool {
	c.mu.Lock()
	l := c.links[node]
	c.mu.Unlock()
	return l != nil && l.Up()
}
