package node

import (
	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// wireHooks makes the router's events VerneMQ's notification hooks of the plugin chain
// (on_offline_message, on_message_drop, on_client_wakeup, on_client_offline,
// on_client_gone, on_session_expired); the connection layer reports the others. The cluster chains its
// own hooks onto these when it starts.
func (n *Node) wireHooks() {
	pub := func(d session.Delivery) *auth.Publish {
		return &auth.Publish{Topic: d.Msg.Topic, QoS: d.QoS, Retain: d.Retain, Payload: d.Msg.Payload, Props: d.Msg.Props}
	}
	sid := func(id broker.SessionID) auth.SubscriberID { return auth.SubscriberID(id) }
	n.Broker.SetHooks(broker.Hooks{
		OnOfflineMessage: func(id broker.SessionID, d session.Delivery) { n.Auth.NotifyOfflineMessage(sid(id), pub(d)) },
		OnMessageDrop: func(id broker.SessionID, d session.Delivery, r session.DropReason) {
			n.Auth.NotifyMessageDrop(sid(id), pub(d), string(r))
		},
		OnClientWakeup: func(id broker.SessionID) { n.Auth.NotifyClientWakeup(sid(id)) },
		// VerneMQ's queue fires on_client_gone when a clean session ends and
		// on_client_offline when a persistent one goes offline, never both.
		OnClientGone:     func(id broker.SessionID) { n.Auth.NotifyClientGone(sid(id)) },
		OnClientOffline:  func(id broker.SessionID) { n.Auth.NotifyClientOffline(sid(id)) },
		OnSessionExpired: func(id broker.SessionID) { n.Auth.NotifySessionExpired(sid(id)) },
	})
}
