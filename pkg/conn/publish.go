package conn

import (
	"context"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// publish handles an incoming PUBLISH: topic alias, validation, authorization, routing, acknowledgement.
func (c *client) publish(ctx context.Context, p *packets.Publish) (bool, bool) {
	st := c.srv.settings.Load()
	c.rateCount++
	if c.version == packets.V5 && p.Props != nil {
		if len(p.Props.SubscriptionIDs) > 0 {
			return c.protocolError(packets.ProtocolError, "PUBLISH from a client carries a subscription identifier") // [MQTT-3.3.4-6]
		}
		if a := p.Props.TopicAlias; a != nil {
			if *a == 0 || *a > c.aliasMax {
				return c.protocolError(packets.TopicAliasInvalid, "topic alias out of range") // [MQTT-3.3.2-9]
			}
			if p.Topic == "" {
				t, ok := c.aliases[*a]
				if !ok {
					return c.protocolError(packets.ProtocolError, "unknown topic alias")
				}
				p.Topic = t
			} else {
				if c.aliases == nil {
					c.aliases = map[uint16]string{}
				}
				c.aliases[*a] = p.Topic
			}
		}
	}
	if err := topics.ValidateTopic(p.Topic, st.TopicMaxDepth); err != nil {
		return c.protocolError(packets.TopicNameInvalid, err.Error())
	}
	if rm := c.receiveMaxBroker(st); p.QoS > 0 && c.version == packets.V5 && rm > 0 &&
		int(c.pendingIn.Load())+c.sess.QoS2InLen() >= int(rm) {
		// More unacknowledged QoS 1/2 publishes than the Receive Maximum we announced [MQTT-3.3.4-9].
		return c.protocolError(packets.ReceiveMaximumExceeded, "receive maximum exceeded")
	}
	if p.QoS == 2 && !c.srv.Broker.ReceivedQoS2(c.sess, p.PacketID) {
		// A resend of a message already accepted: acknowledge again, do not deliver twice [MQTT-4.3.3-9].
		c.sess.Send(c, &packets.Ack{Kind: packets.PUBREC, PacketID: p.PacketID})
		return false, false
	}
	if !c.srv.allowed("publish", c.mods.allow("publish")) {
		return c.netsplitPublish(p)
	}
	// The hooks get it for the call only (auth.PublishAuthorizer): one per client, not per publish.
	pub := &c.pub
	*pub = auth.Publish{Topic: p.Topic, QoS: p.QoS, Retain: p.Retain, Payload: p.Payload, Props: p.Props}
	c.beforePlugin()
	dec, mods := c.srv.Auth.AuthorizePublish(ctx, c.auth, pub)
	c.afterPlugin()
	if dec.Result != auth.OK {
		return c.unauthorizedPublish(p, st)
	}
	m := &session.Message{Mountpoint: c.mountpoint, Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain, From: c.sess.ID.ClientID}
	if c.version == packets.V5 && p.Props != nil {
		m.Props, m.Expiry = appProps(p.Props)
	}
	if mods != nil {
		applyPublishModifiers(m, mods)
		c.pause = mods.Throttle // the reader waits after this packet, uncorked
		// on_publish sees the message as authorized, modifiers applied (VerneMQ's HookArgs1).
		*pub = auth.Publish{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain, Payload: m.Payload, Props: m.Props}
	}
	c.srv.Auth.NotifyPublish(c.auth, pub)
	switch p.QoS {
	case 0:
		if _, congested := c.srv.Broker.PublishFlow(m, broker.Ack{}); congested != nil {
			c.congested, c.flowWait = congested, maxFlowWaitQoS0
		}
	case 1, 2:
		c.pendingIn.Add(1)
		_, congested := c.srv.Broker.PublishFlow(m, broker.Ack{To: c, ID: p.PacketID, QoS: p.QoS})
		if congested != nil {
			c.congested, c.flowWait = congested, maxFlowWait
		}
	}
	return false, false
}

// PublishDone acknowledges a QoS 1/2 publish once the broker has it safe (broker.Acker).
func (c *client) PublishDone(id uint16, qos byte, err error) {
	c.pendingIn.Add(-1)
	kind, ackName := packets.PUBACK, "puback"
	if qos == 2 {
		kind, ackName = packets.PUBREC, "pubrec"
	}
	code := packets.Success
	if err != nil {
		code = packets.UnspecifiedError
		c.reasonSent(ackName, code)
	}
	c.sess.Send(c, &packets.Ack{Kind: kind, PacketID: id, ReasonCode: code})
}

// unauthorizedPublish answers a refused PUBLISH: v5 with 0x87; 3.x acknowledges and drops,
// or disconnects with disconnect_on_unauthorized_publish_v3 [MQTT-3.3.5-2].
func (c *client) unauthorizedPublish(p *packets.Publish, st *Settings) (bool, bool) {
	c.pm().PublishAuthError.Inc()
	c.srv.Log.Debug("publish not authorized", "client_id", c.sess.ID.ClientID, "topic", p.Topic)
	if c.version != packets.V5 && st.DisconnectOnUnauthorizedPublishV3 {
		return true, false
	}
	code := packets.Success
	if c.version == packets.V5 {
		code = packets.NotAuthorized
	}
	switch p.QoS {
	case 1:
		if code != packets.Success {
			c.reasonSent("puback", code)
		}
		c.sess.Send(c, &packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID, ReasonCode: code})
	case 2:
		if code != packets.Success {
			c.reasonSent("pubrec", code)
			c.srv.Broker.ReleasedQoS2(c.sess, p.PacketID)
			c.sess.ReleasedQoS2(p.PacketID)
		}
		c.sess.Send(c, &packets.Ack{Kind: packets.PUBREC, PacketID: p.PacketID, ReasonCode: code})
	}
	return false, false
}

// netsplitPublish refuses a publish during a netsplit (allow_publish_during_netsplit = off):
// v5 gets 0x80 in its acknowledgement, older clients are disconnected so they retry later.
func (c *client) netsplitPublish(p *packets.Publish) (bool, bool) {
	c.pm().PublishError.Inc()
	if c.version != packets.V5 {
		return true, false
	}
	switch p.QoS {
	case 1:
		c.reasonSent("puback", packets.UnspecifiedError)
		c.sess.Send(c, &packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID, ReasonCode: packets.UnspecifiedError})
	case 2:
		c.reasonSent("pubrec", packets.UnspecifiedError)
		c.sess.ReleasedQoS2(p.PacketID)
		c.srv.Broker.ReleasedQoS2(c.sess, p.PacketID)
		c.sess.Send(c, &packets.Ack{Kind: packets.PUBREC, PacketID: p.PacketID, ReasonCode: packets.UnspecifiedError})
	}
	return false, false
}

// appProps keeps the properties forwarded to subscribers and turns the expiry interval into a deadline.
func appProps(p *packets.Properties) (*packets.Properties, time.Time) {
	var expiry time.Time
	if p.MessageExpiry != nil {
		expiry = time.Now().Add(time.Duration(*p.MessageExpiry) * time.Second)
	}
	if p.PayloadFormat == nil && p.ContentType == "" && p.ResponseTopic == "" && p.CorrelationData == nil && len(p.User) == 0 {
		return nil, expiry
	}
	return &packets.Properties{
		PayloadFormat: p.PayloadFormat, ContentType: p.ContentType, ResponseTopic: p.ResponseTopic,
		CorrelationData: p.CorrelationData, User: p.User,
	}, expiry
}

func applyPublishModifiers(m *session.Message, mods *auth.PublishModifiers) {
	if mods == nil {
		return
	}
	if mods.Topic != nil {
		m.Topic = *mods.Topic
	}
	if mods.QoS != nil {
		m.QoS = *mods.QoS
	}
	if mods.Payload != nil {
		m.Payload = mods.Payload
	}
	if mods.Retain != nil {
		m.Retain = *mods.Retain
	}
	if mods.Mountpoint != nil {
		m.Mountpoint = *mods.Mountpoint
	}
	if mods.Props != nil {
		// VerneMQ's "properties" modifier replaces the message's properties as a whole.
		var expiry time.Time
		m.Props, expiry = appProps(mods.Props)
		if !expiry.IsZero() {
			m.Expiry = expiry
		}
	}
	if mods.MessageExpiry != nil {
		m.Expiry = time.Now().Add(time.Duration(*mods.MessageExpiry) * time.Second)
	}
	if mods.ContentType != nil || mods.ResponseTopic != nil || mods.CorrelationData != nil || mods.PayloadFormat != nil || len(mods.UserProperties) > 0 {
		var p packets.Properties
		if m.Props != nil {
			p = *m.Props
		}
		if mods.ContentType != nil {
			p.ContentType = *mods.ContentType
		}
		if mods.ResponseTopic != nil {
			p.ResponseTopic = *mods.ResponseTopic
		}
		if mods.CorrelationData != nil {
			p.CorrelationData = mods.CorrelationData
		}
		if mods.PayloadFormat != nil {
			p.PayloadFormat = mods.PayloadFormat
		}
		if len(mods.UserProperties) > 0 {
			p.User = p.User[:0:0]
			for _, u := range mods.UserProperties {
				p.User = append(p.User, packets.UserProperty{Key: u.Key, Value: u.Value})
			}
		}
		m.Props = &p
	}
}
