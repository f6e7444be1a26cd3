package broker

import (
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Publish routes m (a will, a $SYS message) to every matching subscriber: local sessions
// get a delivery in their queue, each remote node with matching subscribers gets one copy.
// It returns the local matches. A client's publish goes through PublishFlow instead.
func (b *Broker) Publish(m *session.Message) int {
	n, _ := b.publish(m, nil, Ack{})
	return n
}

// Acker is told, once per publish, when a QoS 1/2 publish may be acknowledged: every copy
// for an offline session is durable (err nil) or could not be stored.
type Acker interface {
	PublishDone(id uint16, qos byte, err error)
}

// Ack names the publish an Acker acknowledges; the zero Ack acknowledges nothing. A value,
// not a closure, so a publish allocates nothing to be acknowledged.
type Ack struct {
	To  Acker
	ID  uint16
	QoS byte
}

// PublishFlow is Publish for a connection's publishes: ack is told when to acknowledge
// (once every copy queued for an offline persistent session is durable),
// and it returns a channel the publisher's reader should wait on (bounded) before
// reading more: a subscriber's queue is filling up.
func (b *Broker) PublishFlow(m *session.Message, ack Ack) (int, <-chan struct{}) {
	return b.publish(m, nil, ack)
}

func (b *Broker) publish(m *session.Message, done func(error), ack Ack) (int, <-chan struct{}) {
	w := b.persist.newWait(done)
	w.ack = ack
	if m.Retain {
		b.setRetained(m, w)
	}
	n := b.route(m, w, true)
	congested := w.congested
	w.release()
	return n, congested
}

// DeliverLocal routes m, received from another node, to this node's subscribers only.
// The channel, when not nil, says a subscriber's queue is filling up: the link reader
// should wait on it (bounded) before reading more, as a local publisher does.
func (b *Broker) DeliverLocal(m *session.Message) (int, <-chan struct{}) {
	if m.Retain {
		b.retain.set(m, false) // the publishing node replicates it
	}
	w := b.persist.newWait(nil)
	n := b.route(m, w, false)
	congested := w.congested
	w.release()
	return n, congested
}

func (b *Broker) route(m *session.Message, w *wait, forward bool) int {
	r := b.results.Get().(*topics.Result)
	defer func() {
		r.Reset()
		b.results.Put(r)
	}()
	b.index.Match(m.Mountpoint, m.Topic, r)
	remote := b.remoteNodes()
	var nodes []string
	local := 0
	for i, e := range r.Direct {
		if e.Node() != "" {
			if forward && remote != nil && !contains(nodes, e.Node()) {
				nodes = append(nodes, e.Node())
			}
			continue
		}
		if e.Options.NoLocal && e.Subscriber.ClientID == m.From && m.Node == "" {
			continue // [MQTT-3.8.3-3]
		}
		s, _ := e.Owner.(*session.Session)
		if s == nil {
			continue
		}
		// Overlapping subscriptions of one session: one copy with the highest QoS and every identifier.
		first, more := ownerEntries(r, i, s)
		if first < i {
			continue
		}
		d := b.delivery(m, e)
		for j := i + 1; more && j < len(r.Direct); j++ {
			o := r.Direct[j]
			if o.Node() == "" && o.Owner == e.Owner && !(o.Options.NoLocal && o.Subscriber.ClientID == m.From) {
				od := b.delivery(m, o)
				if od.QoS > d.QoS {
					d.QoS = od.QoS
				}
				d.Retain = d.Retain || od.Retain
				if o.SubID != 0 {
					d.SubIDs = append(d.SubIDs, o.SubID)
				}
			}
		}
		b.enqueue(s, d, w)
		local++
	}
	for _, sm := range r.Shared {
		if b.deliverShared(m, sm, w, forward, remote) {
			local++
		}
	}
	b.m.RouterMatchesLocal.Add(uint64(local))
	for _, n := range nodes {
		remote.Forward(n, m)
	}
	b.m.RouterMatchesRemote.Add(uint64(len(nodes)))
	return local
}

// ownerEntries returns the index of s's first entry in r.Direct (i is one of its
// entries) and whether s has an entry after i. Small results scan; large fan-outs index
// the owners once per publish, so a fan-out to n sessions costs O(n), not O(n²).
func ownerEntries(r *topics.Result, i int, s *session.Session) (first int, more bool) {
	if len(r.Direct) <= 16 {
		first = i
		for j, p := range r.Direct {
			if j != i && p.Node() == "" && p.Owner == any(s) {
				first = min(first, j)
				more = more || j > i
			}
		}
		return first, more
	}
	if len(r.Seen) == 0 { // built on first use; Reset empties it
		if r.Seen == nil {
			r.Seen = map[any]int{}
		}
		// Value: the first index, or its last index+1 negated once a second entry shows up.
		for j, e := range r.Direct {
			if e.Node() != "" {
				continue
			}
			if _, ok := r.Seen[e.Owner]; !ok {
				r.Seen[e.Owner] = j
			} else {
				r.Seen[e.Owner] = -(j + 1)
			}
		}
	}
	v := r.Seen[any(s)]
	if v >= 0 {
		return v, false // s's only entry
	}
	// Overlapping entries: the first is the earliest index holding s; scan only for s's entries.
	last := -v - 1
	first = i
	for j := 0; j < i; j++ {
		if r.Direct[j].Node() == "" && r.Direct[j].Owner == any(s) {
			first = j
			break
		}
	}
	return first, last > i
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// delivery builds the delivery of m for the subscription e.
func (b *Broker) delivery(m *session.Message, e *topics.Entry) session.Delivery {
	qos := m.QoS
	upgrade := false // upgrade_outgoing_qos, or the session's upgrade_qos modifier
	if s, ok := e.Owner.(*session.Session); ok {
		upgrade = s.Limits().UpgradeQoS
	} else {
		upgrade = b.limits.Load().UpgradeQoS
	}
	if e.Options.QoS < qos || upgrade {
		qos = e.Options.QoS
	}
	d := session.Delivery{Msg: m, QoS: qos, Retain: m.Retain && e.Options.RetainAsPublished}
	if e.SubID != 0 {
		d.SubIDs = []uint32{e.SubID}
	}
	return d
}

// enqueue offers d to s; copies for offline persistent sessions go to the store first.
func (b *Broker) enqueue(s *session.Session, d session.Delivery, w *wait) {
	b.persist.deliver(s, d, w)
}

// deliverShared gives m to one member of a shared group, by shared_subscription_policy.
func (b *Broker) deliverShared(m *session.Message, sm topics.SharedMatch, w *wait, forward bool, remote Remote) bool {
	policy := b.set.Load().SharedPolicy
	var online, offline, remotes []*topics.Entry
	for _, e := range sm.Members {
		if e.Node() != "" {
			if forward && remote != nil && policy != PolicyLocalOnly {
				remotes = append(remotes, e)
			}
			continue
		}
		s, ok := e.Owner.(*session.Session)
		switch {
		case !ok:
			continue // a local entry always has its session; nothing to deliver to without one
		case s.Online():
			online = append(online, e)
		default:
			offline = append(offline, e)
		}
	}
	// Online members before offline ones in every policy (an offline member only queues).
	shuffle(online)
	shuffle(remotes)
	shuffle(offline)
	var order []*topics.Entry
	switch policy {
	case PolicyRandom:
		order = append(append(online, remotes...), offline...)
		shuffle(order[:len(online)+len(remotes)])
	case PolicyPreferOnlineBeforeLocal:
		order = append(append(online, remotes...), offline...)
	default: // prefer_local: every local member before a remote one; local_only has no remotes
		order = append(append(online, offline...), remotes...)
	}
	for _, e := range order {
		if e.Node() != "" {
			remote.ForwardShared(e.Node(), m, e.Subscriber, b.delivery(m, e))
			b.m.RouterMatchesRemote.Inc()
			return false
		}
		s := e.Owner.(*session.Session) // local members were checked above
		d := b.delivery(m, e)
		if b.persist.deliver(s, d, w) {
			return true
		}
	}
	return false
}

// DeliverShared delivers d to the local session sub (chosen by the node that routed it).
func (b *Broker) DeliverShared(sub topics.SubscriberID, d session.Delivery) bool {
	s := b.Session(sub)
	if s == nil {
		return false
	}
	w := b.persist.newWait(nil)
	defer w.release()
	return b.persist.deliver(s, d, w)
}
