package node

import (
	"context"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// deliverHook is on_deliver(_m5) for every session: the plugin chain's, asked only while
// a plugin wants it (auth.Chain.DeliverWanted), so without one a delivery costs an atomic load.
type deliverHook struct {
	chain *auth.Chain
	ctx   context.Context
}

// deliverTimeout bounds one on_deliver call chain; a webhook has its own response_timeout.
const deliverTimeout = 30 * time.Second

func (h *deliverHook) Active() bool { return h.chain.DeliverWanted() }

// Deliver applies VerneMQ's on_deliver modifiers (topic, payload; properties for MQTT 5
// clients) to a copy of the message; the message itself is shared and stays as it is.
func (h *deliverHook) Deliver(id topics.SubscriberID, info *session.Info, d session.Delivery) session.Delivery {
	cl := &auth.Client{Mountpoint: id.Mountpoint, ClientID: id.ClientID, Username: info.Username,
		Peer: info.Peer, ProtocolVersion: info.Protocol, Listener: info.Listener}
	m := d.Msg
	pub := &auth.Publish{Topic: m.Topic, QoS: d.QoS, Retain: d.Retain, Payload: m.Payload, Props: m.Props}
	ctx, cancel := context.WithTimeout(h.ctx, deliverTimeout)
	mods := h.chain.Deliver(ctx, cl, pub)
	cancel()
	if mods == nil || mods.Topic == nil && mods.Payload == nil && mods.Props == nil {
		return d
	}
	nm := *m
	if mods.Topic != nil && topics.ValidateTopic(*mods.Topic, 0) == nil {
		nm.Topic = *mods.Topic
	}
	if mods.Payload != nil {
		nm.Payload = mods.Payload
	}
	if mods.Props != nil && info.Protocol == packets.V5 {
		p := *mods.Props
		p.MessageExpiry, p.SubscriptionIDs, p.TopicAlias = nil, nil, nil // the session sets these per delivery
		nm.Props = &p
	}
	d.Msg = &nm
	return d
}
