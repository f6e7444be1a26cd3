package conn

import (
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// regMods are the auth_on_register(_m5) modifiers a connection keeps after CONNECT
// (VerneMQ keeps them in its session FSM's state). A client without any has none:
// the field is a pointer so that idle connections pay 8 bytes for it.
type regMods struct {
	maxMessageSize   *int           // max_message_size: the largest packet the client may send (0 = protocol maximum)
	lifetime         *time.Duration // max_connection_lifetime (0 = none), in place of the listener's
	receiveMaxBroker *uint16        // fc_receive_max_broker, in place of receive_max_broker
	allowPublish     *bool          // allow_publish: this client's allow_publish_during_netsplit
	allowSubscribe   *bool
	allowUnsubscribe *bool
}

// allow is the client's own allow_<op>_during_netsplit, nil for the node's setting.
func (m *regMods) allow(op string) *bool {
	if m == nil {
		return nil
	}
	switch op {
	case "publish":
		return m.allowPublish
	case "subscribe":
		return m.allowSubscribe
	case "unsubscribe":
		return m.allowUnsubscribe
	}
	return nil
}

// applyRegisterModifiers applies what auth_on_register(_m5) returned to the client
// being registered: its identity, clean start, and the limits VerneMQ lets a plugin set
// per client (vmq_mqtt_fsm/vmq_mqtt5_fsm auth_on_register). Session-queue modifiers
// this broker keeps node-wide are logged once as not applied (see docs/auth.md).
func (c *client) applyRegisterModifiers(ac *auth.Client, m *auth.RegisterModifiers, cleanStart *bool) {
	if m.Mountpoint != nil {
		ac.Mountpoint = *m.Mountpoint
	}
	if m.ClientID != nil {
		ac.ClientID = *m.ClientID
	}
	if m.Username != nil {
		ac.Username = *m.Username
	}
	if m.CleanStart != nil {
		*cleanStart = *m.CleanStart
	}
	if m.MaxMessageRate != nil {
		c.maxRate = *m.MaxMessageRate
	}
	if m.TopicAliasMax != nil {
		c.aliasMax = *m.TopicAliasMax
	}
	if m.MaxMessageSize != nil || m.MaxConnectionLifetime != nil || m.ReceiveMaxBroker != nil ||
		m.AllowPublish != nil || m.AllowSubscribe != nil || m.AllowUnsubscribe != nil {
		c.mods = &regMods{maxMessageSize: m.MaxMessageSize, lifetime: m.MaxConnectionLifetime,
			receiveMaxBroker: m.ReceiveMaxBroker, allowPublish: m.AllowPublish,
			allowSubscribe: m.AllowSubscribe, allowUnsubscribe: m.AllowUnsubscribe}
	}
	c.srv.noteUnapplied(m)
}

// sessionLimits is the node's queue limits with the client's max_online_messages,
// max_offline_messages, max_inflight_messages, queue_type, upgrade_qos and retry_interval modifiers (the
// session keeps them while this client is connected to it, and while it is offline after),
// nil without any of them.
func (c *client) sessionLimits(m *auth.RegisterModifiers) *session.Limits {
	if m == nil || (m.MaxOnlineMessages == nil && m.MaxOfflineMessages == nil && m.MaxInflight == nil &&
		m.QueueType == nil && m.UpgradeQoS == nil && m.RetryInterval == nil) {
		return nil
	}
	l := c.srv.Broker.Limits()
	if m.MaxOnlineMessages != nil {
		l.MaxOnline = *m.MaxOnlineMessages
	}
	if m.MaxOfflineMessages != nil {
		l.MaxOffline = *m.MaxOfflineMessages
	}
	if m.MaxInflight != nil {
		l.MaxInflight = *m.MaxInflight
	}
	if m.QueueType != nil {
		l.LIFO = *m.QueueType == "lifo"
	}
	if m.UpgradeQoS != nil {
		l.UpgradeQoS = *m.UpgradeQoS
	}
	if m.RetryInterval != nil {
		l.RetryInterval = *m.RetryInterval
	}
	return &l
}

// registerV5 applies the MQTT 5 modifiers to what CONNECT asked: the session expiry
// interval replaces the client's, the Receive Maximum towards the client is at most the
// client's own (VerneMQ's min), and so is the Maximum Packet Size: a plugin may lower
// it, never raise it above what the client accepts [MQTT-3.1.2-24].
func registerV5(m *auth.RegisterModifiers, expiry uint32, recvMax int, maxPkt uint32) (uint32, int, uint32) {
	if m.SessionExpiryInterval != nil {
		expiry = *m.SessionExpiryInterval
	}
	if m.ReceiveMax != nil && (recvMax == 0 || int(*m.ReceiveMax) < recvMax) {
		recvMax = int(*m.ReceiveMax)
	}
	if m.MaxPacketSize != nil && *m.MaxPacketSize > 0 && (maxPkt == 0 || *m.MaxPacketSize < maxPkt) {
		maxPkt = *m.MaxPacketSize
	}
	return expiry, recvMax, maxPkt
}

// receiveMaxBroker is the Receive Maximum announced to the client and enforced on its
// QoS 1/2 publishes: the fc_receive_max_broker modifier, else receive_max_broker.
func (c *client) receiveMaxBroker(st *Settings) uint16 {
	if c.mods != nil && c.mods.receiveMaxBroker != nil {
		return *c.mods.receiveMaxBroker
	}
	return st.ReceiveMaxBroker
}

// maxLifetime is max_connection_lifetime: the modifier's, else the listener's.
func (c *client) maxLifetime() time.Duration {
	if c.mods != nil && c.mods.lifetime != nil {
		return *c.mods.lifetime
	}
	return c.peer.MaxLifetime
}

// noteUnapplied logs, once per modifier and node, an auth_on_register modifier this
// broker accepts (VerneMQ's webhooks accept it) but does not apply per client: the
// shared-subscription choice runs node-wide, there is no queue migration drain nor a
// second subscription table, and no stripping by Request Problem Information.
func (s *Server) noteUnapplied(m *auth.RegisterModifiers) {
	for name, set := range map[string]bool{
		"shared_subscription_policy": m.SharedSubPolicy != nil,
		"max_drain_time":             m.MaxDrainTime != nil,
		"max_msgs_per_drain_step":    m.MaxMsgsPerDrainStep != nil,
		"reg_view":                   m.RegView != nil,
		"request_problem_info":       m.RequestProblemInfo != nil,
	} {
		if set {
			if _, seen := s.unapplied.LoadOrStore(name, true); !seen {
				s.Log.Warn("auth_on_register modifier accepted but not applied per client (node-wide setting applies)", "modifier", name)
			}
		}
	}
}
