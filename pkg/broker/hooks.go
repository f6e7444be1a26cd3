package broker

import "github.com/vernemq-go/vernemq/pkg/session"

// Hooks are the router's notifications (VerneMQ's on_* hooks); nil fields are skipped.
type Hooks struct {
	OnSessionExpired func(id SessionID)
	OnClientGone     func(id SessionID)
	OnOfflineMessage func(id SessionID, d session.Delivery)
	OnMessageDrop    func(id SessionID, d session.Delivery, reason session.DropReason)
	OnSubscribe      func(id SessionID, subs []session.Sub)
	OnUnsubscribe    func(id SessionID, filters []string)
	OnClientWakeup   func(id SessionID)
	OnClientOffline  func(id SessionID)
}

// SetHooks replaces the notification hooks.
func (b *Broker) SetHooks(h Hooks) { b.hooks.Store(&h) }
