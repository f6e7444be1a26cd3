package conn

import (
	"context"
	"slices"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// subscribe validates and authorizes each filter, queues SUBACK, then subscribes (retained messages follow the SUBACK).
func (c *client) subscribe(ctx context.Context, p *packets.Subscribe) (bool, bool) {
	st := c.srv.settings.Load()
	ack := newSuback(p.PacketID, len(p.Subscriptions)) // p is the reader's scratch: nothing of it is kept
	codes := ack.ReasonCodes
	var subID uint32
	if p.Props != nil && len(p.Props.SubscriptionIDs) > 0 {
		subID = p.Props.SubscriptionIDs[0]
	}
	// Sized once for the packet: growing three slices filter by filter was a tenth of a
	// ten-filter SUBSCRIBE's CPU (issue 19, scenario 13).
	ask := make([]auth.Topic, 0, len(p.Subscriptions))
	idx := make([]int, 0, len(p.Subscriptions))
	for i, s := range p.Subscriptions {
		shared, ok := checkFilter(s.Filter, st.TopicMaxDepth)
		if !ok {
			codes[i] = c.failure(packets.TopicFilterInvalid)
			continue
		}
		if shared && s.Options.NoLocal && c.version == packets.V5 {
			return c.protocolError(packets.ProtocolError, "no local on a shared subscription") // [MQTT-3.8.3-4]
		}
		ask = append(ask, auth.Topic{Filter: s.Filter, QoS: s.Options.QoS, NoLocal: s.Options.NoLocal,
			RetainAsPublished: s.Options.RetainAsPublished, RetainHandling: s.Options.RetainHandling})
		idx = append(idx, i)
	}
	var subs []session.Sub
	if len(ask) > 0 && !c.srv.allowed("subscribe", c.mods.allow("subscribe")) {
		c.pm().SubscribeError.Inc()
		for _, i := range idx {
			codes[i] = packets.UnspecifiedError // netsplit and allow_subscribe_during_netsplit = off
		}
		ask = nil
	}
	if len(ask) > 0 {
		c.beforePlugin()
		c.auth.Props = p.Props // the hooks' SUBSCRIBE properties (auth_on_subscribe_m5, on_subscribe_m5)
		defer func() { c.auth.Props = nil }()
		dec, granted := c.srv.Auth.AuthorizeSubscribe(ctx, c.auth, ask)
		c.afterPlugin()
		if dec.Result != auth.OK {
			c.pm().SubscribeAuthError.Inc()
			for _, i := range idx {
				codes[i] = c.failure(packets.NotAuthorized)
			}
		} else {
			if granted == nil {
				granted = ask
			}
			subs = make([]session.Sub, 0, len(granted))
			limit := c.srv.Broker.Settings().MaxSubscriptionsPerClient
			count := c.sess.SubCount()
			// A plugin may answer with another list (VerneMQ subscribes the rewritten list): its
			// k-th topic answers the k-th filter asked; one it added is subscribed without a code
			// of its own, a filter it left out is refused.
			for k := len(granted); k < len(idx); k++ {
				codes[idx[k]] = c.failure(packets.NotAuthorized)
			}
			for k, g := range granted {
				i := -1 // a topic the plugin added
				if k < len(idx) {
					i = idx[k]
				}
				// A filter the plugin wrote is checked as the client's were above.
				rewritten, shared, valid := i < 0 || g.Filter != ask[k].Filter, false, true
				if rewritten {
					shared, valid = checkFilter(g.Filter, st.TopicMaxDepth)
				}
				code := packets.ReasonCode(g.QoS)
				newSub := limit > 0 && !c.sess.HasSub(g.Filter)
				var opts packets.SubOptions
				switch {
				case g.QoS > 2:
					code = packets.NotAuthorized
				case !valid:
					code = packets.TopicFilterInvalid
				case newSub && count >= limit:
					code = packets.QuotaExceeded // max_subscriptions_per_client
				case i < 0:
					opts = packets.SubOptions{QoS: g.QoS, NoLocal: g.NoLocal, RetainAsPublished: g.RetainAsPublished, RetainHandling: g.RetainHandling}
				default:
					opts = p.Subscriptions[i].Options
					opts.QoS = g.QoS
				}
				if code > 2 {
					if i >= 0 {
						codes[i] = c.failure(code)
					}
					continue
				}
				if newSub {
					count++
				}
				if shared {
					opts.NoLocal = false // [MQTT-3.8.3-4]: not on a shared subscription a plugin rewrote to
				}
				if c.version != packets.V5 {
					opts = packets.SubOptions{QoS: g.QoS}
				}
				if c.auth.ProtocolVersion&0x80 != 0 {
					// A bridge (try_private, level 0x80|v) gets none of its own publishes back, so two
					// brokers bridged both ways do not loop, and retain flags as published (as Mosquitto does).
					opts.NoLocal, opts.RetainAsPublished = true, true
				}
				subs = append(subs, session.Sub{Filter: g.Filter, Options: opts, SubID: subID})
				if i >= 0 {
					codes[i] = code
				}
			}
			c.srv.Auth.NotifySubscribe(c.auth, granted)
		}
	}
	// The subscriptions route before the SUBACK goes out: a client that publishes to its own
	// filter right after the SUBACK gets the message.
	suback := func() { c.sess.Send(c, ack) }
	if len(subs) > 0 {
		c.srv.Broker.SubscribeThen(c.sess, subs, suback)
	} else {
		suback()
	}
	return false, false
}

// checkFilter reports whether filter is one a client may subscribe to, and whether it is
// a shared subscription ($share/<group>/<filter>).
func checkFilter(filter string, maxDepth int) (shared, ok bool) {
	_, inner, shared, err := topics.ParseShared(filter)
	return shared, err == nil && topics.ValidateFilter(inner, maxDepth) == nil
}

// subackOne is a SUBACK with the array of its one code, allocated together: a device
// subscribes to one filter, and its SUBACK then costs one allocation, not two.
type subackOne struct {
	p   packets.Suback
	one [1]packets.ReasonCode
}

// newSuback is the SUBACK of packet id with n codes to fill in.
func newSuback(id uint16, n int) *packets.Suback {
	if n == 1 {
		x := &subackOne{p: packets.Suback{PacketID: id}}
		x.p.ReasonCodes = x.one[:]
		return &x.p
	}
	return &packets.Suback{PacketID: id, ReasonCodes: make([]packets.ReasonCode, n)}
}

// failure is the SUBACK code for a refused filter: v5 codes, 0x80 before v5.
func (c *client) failure(code packets.ReasonCode) packets.ReasonCode {
	if c.version != packets.V5 {
		return packets.UnspecifiedError
	}
	return code
}

func (c *client) unsubscribe(ctx context.Context, p *packets.Unsubscribe) (bool, bool) {
	if !c.srv.allowed("unsubscribe", c.mods.allow("unsubscribe")) {
		c.pm().UnsubscribeError.Inc()
		if c.version != packets.V5 {
			return true, false // 3.1.1 has no way to refuse an unsubscribe
		}
		codes := make([]packets.ReasonCode, len(p.Filters))
		for i := range codes {
			codes[i] = packets.UnspecifiedError
		}
		c.sess.Send(c, &packets.Unsuback{PacketID: p.PacketID, ReasonCodes: codes})
		return false, false
	}
	c.beforePlugin()
	c.auth.Props = p.Props // on_unsubscribe_m5's UNSUBSCRIBE properties
	filters := c.srv.Auth.Unsubscribe(ctx, c.auth, p.Filters)
	c.auth.Props = nil
	c.afterPlugin()
	if filters == nil {
		filters = p.Filters
	}
	rewritten := !slices.Equal(filters, p.Filters)
	had := c.srv.Broker.Unsubscribe(c.sess, filters)
	ack := &packets.Unsuback{PacketID: p.PacketID}
	if c.version == packets.V5 {
		ack.ReasonCodes = make([]packets.ReasonCode, len(p.Filters))
		for i := range p.Filters {
			// A plugin's rewrite leaves no filter to report on: success, as VerneMQ.
			if !rewritten && i < len(had) && !had[i] {
				ack.ReasonCodes[i] = packets.NoSubscriptionExisted
			}
		}
	}
	c.sess.Send(c, ack)
	c.srv.Auth.NotifyTopicUnsubscribed(auth.SubscriberID(c.sess.ID), filters)
	return false, false
}
