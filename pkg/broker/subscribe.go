package broker

import (
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Subscribe adds the subscriptions of s (already validated and authorized) and
// queues the retained messages they ask for. It returns, per subscription, whether it was new.
func (b *Broker) Subscribe(s *session.Session, subs []session.Sub) []bool {
	return b.subscribe(s, subs, nil, nil)
}

// SubscribeThen is Subscribe with acked called once the subscriptions route (so a SUBACK
// queued there is never ahead of them) and before the retained messages are queued.
func (b *Broker) SubscribeThen(s *session.Session, subs []session.Sub, acked func()) {
	var isNew [8]bool // which filters are new, on the stack: the connection needs no answer
	b.subscribe(s, subs, acked, isNew[:0])
}

// subscribe is Subscribe and SubscribeThen; isNew is reused for the result when long enough.
func (b *Broker) subscribe(s *session.Session, subs []session.Sub, acked func(), isNew []bool) []bool {
	// One session lock and one index lock for the whole SUBSCRIBE, not one per filter.
	isNew = s.SetSubs(subs, isNew)
	var buf [16]*topics.Entry
	routes := buf[:0]
	for _, sub := range subs {
		routes = append(routes, route(s, sub))
	}
	b.index.AddAll(routes)
	b.persist.saveSession(s)
	if h := b.hooks.Load().OnSubscribe; h != nil {
		h(s.ID, subs)
	}
	if acked != nil {
		acked()
	}
	// Retained messages follow the SUBACK [MQTT-3.3.1-6]. With none retained in the
	// mountpoint (an IoT node's usual state) there is nothing to look up per filter.
	if !b.retain.hasAny(s.ID.Mountpoint) {
		return isNew
	}
	for i, sub := range subs {
		_, filter, shared, _ := topics.ParseShared(sub.Filter)
		if shared {
			continue // retained messages are not sent on shared subscriptions (v5 4.8.2)
		}
		switch sub.Options.RetainHandling {
		case 1:
			if !isNew[i] {
				continue
			}
		case 2:
			continue
		}
		b.retain.match(s.ID.Mountpoint, filter, func(m *session.Message) {
			qos := m.QoS
			if sub.Options.QoS < qos {
				qos = sub.Options.QoS
			}
			d := session.Delivery{Msg: m, QoS: qos, Retain: true}
			if sub.SubID != 0 {
				d.SubIDs = []uint32{sub.SubID}
			}
			s.Enqueue(d)
		})
	}
	return isNew
}

// route is the index entry of s's subscription sub.
func route(s *session.Session, sub session.Sub) *topics.Entry {
	group, filter, _, _ := topics.ParseShared(sub.Filter)
	return (&topics.Entry{Subscriber: s.ID, Filter: filter, Options: sub.Options, SubID: sub.SubID, Owner: s}).At("", group)
}

// Unsubscribe removes filters of s; it reports per filter whether a subscription existed.
func (b *Broker) Unsubscribe(s *session.Session, filters []string) []bool {
	out := make([]bool, len(filters))
	for i, f := range filters {
		group, filter, _, _ := topics.ParseShared(f)
		had := s.RemoveSub(f)
		b.index.Remove(s.ID, "", filter, group)
		out[i] = had
	}
	b.persist.saveSession(s)
	if h := b.hooks.Load().OnUnsubscribe; h != nil {
		h(s.ID, filters)
	}
	return out
}

// dropSubscriptions removes every subscription of s from the index.
func (b *Broker) dropSubscriptions(s *session.Session) {
	for _, sub := range s.Subs() {
		group, filter, _, _ := topics.ParseShared(sub.Filter)
		b.index.Remove(s.ID, "", filter, group)
	}
}

// ReceivedQoS2 records an incoming QoS 2 packet id of s (durably for persistent sessions);
// false means it is a resend already delivered.
func (b *Broker) ReceivedQoS2(s *session.Session, id uint16) bool {
	if !s.ReceivedQoS2(id) {
		return false
	}
	b.persist.qos2(s, id, true)
	return true
}

// ReleasedQoS2 forgets an incoming QoS 2 packet id after PUBREL.
func (b *Broker) ReleasedQoS2(s *session.Session, id uint16) {
	b.persist.qos2(s, id, false)
}
