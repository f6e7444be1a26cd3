package auth

import "context"

// Plugin is anything in the chain. It implements any subset of the hook
// interfaces below, and optionally Starter and io.Closer.
type Plugin interface {
	Name() string
}

// Starter is implemented by plugins that need background work (file reloaders).
type Starter interface {
	Start(ctx context.Context) error
}

// Forgetter is implemented by plugins that cache per-client state.
type Forgetter interface {
	Forget(mountpoint, clientID string)
}

// Registerer is auth_on_register(_m5).
type Registerer interface {
	AuthOnRegister(ctx context.Context, c *Client) (Decision, *RegisterModifiers)
}

// PublishAuthorizer is auth_on_publish(_m5). p is valid only during the call (the caller
// reuses it); copy what must outlive it.
type PublishAuthorizer interface {
	AuthOnPublish(ctx context.Context, c *Client, p *Publish) (Decision, *PublishModifiers)
}

// SubscribeAuthorizer is auth_on_subscribe(_m5); a nil topic list means unchanged.
type SubscribeAuthorizer interface {
	AuthOnSubscribe(ctx context.Context, c *Client, topics []Topic) (Decision, []Topic)
}

// OnUnsubscribeHook is on_unsubscribe(_m5): all_till_ok, may rewrite the
// filter list (nil = unchanged). It runs synchronously.
type OnUnsubscribeHook interface {
	OnUnsubscribe(ctx context.Context, c *Client, filters []string) (Decision, []string)
}

// OnDeliverHook is on_deliver(_m5): all_till_ok on every outgoing PUBLISH, may
// rewrite its topic, payload and (v5) properties. It runs on the subscriber's
// flusher goroutine, and only while some plugin wants it (see HookWanter).
type OnDeliverHook interface {
	OnDeliver(ctx context.Context, c *Client, p *Publish) (Decision, *PublishModifiers)
}

// OnAuthHook is on_auth_m5: one round of MQTT 5 enhanced authentication, at CONNECT
// (with its Authentication Method and Data) or for each AUTH packet of a client that used
// it (continue 0x18, re-authenticate 0x19). c.Props are the packet's properties. OK with
// a result that continues asks the client for another round; OK without ends it
// successfully; Error refuses (CONNACK, or DISCONNECT for a re-authentication).
type OnAuthHook interface {
	OnAuth(ctx context.Context, c *Client, a *AuthRequest) (Decision, *AuthResult)
}

// HookWanter is implemented by plugins that implement a hook's interface but want its
// calls only some of the time (webhooks: while an endpoint is registered for it). The
// chain asks it for "on_deliver" on Refresh; a plugin without it is always called.
type HookWanter interface {
	WantsHook(hook string) bool
}

// Notification hooks (VerneMQ "all" chains). They run on the chain's worker
// goroutine; the Client and Publish they get are copies owned by the hook.

// OnRegisterHook is on_register(_m5); Client.Password is always nil here.
type OnRegisterHook interface {
	OnRegister(ctx context.Context, c *Client)
}

// OnPublishHook is on_publish(_m5): an authorized publish was routed.
type OnPublishHook interface {
	OnPublish(ctx context.Context, c *Client, p *Publish)
}

// OnSubscribeHook is on_subscribe(_m5): an authorized subscribe was applied.
type OnSubscribeHook interface {
	OnSubscribe(ctx context.Context, c *Client, topics []Topic)
}

// OnTopicUnsubscribedHook is on_topic_unsubscribed: subscriptions were removed.
type OnTopicUnsubscribedHook interface {
	OnTopicUnsubscribed(ctx context.Context, id SubscriberID, filters []string)
}

// OnOfflineMessageHook is on_offline_message: a message was queued for an offline session.
type OnOfflineMessageHook interface {
	OnOfflineMessage(ctx context.Context, id SubscriberID, p *Publish)
}

// OnMessageDropHook is on_message_drop; reason is e.g. "queue_full", "expired".
type OnMessageDropHook interface {
	OnMessageDrop(ctx context.Context, id SubscriberID, p *Publish, reason string)
}

// OnClientWakeupHook is on_client_wakeup.
type OnClientWakeupHook interface {
	OnClientWakeup(ctx context.Context, id SubscriberID)
}

// OnClientOfflineHook is on_client_offline.
type OnClientOfflineHook interface {
	OnClientOffline(ctx context.Context, id SubscriberID)
}

// OnClientGoneHook is on_client_gone.
type OnClientGoneHook interface {
	OnClientGone(ctx context.Context, id SubscriberID)
}

// OnSessionExpiredHook is on_session_expired.
type OnSessionExpiredHook interface {
	OnSessionExpired(ctx context.Context, id SubscriberID)
}

// hookNames lists what a plugin implements, in VerneMQ's names, for `plugin show`.
func hookNames(p Plugin) []string {
	var hs []string
	add := func(ok bool, name string) {
		if ok {
			hs = append(hs, name)
		}
	}
	_, ok := p.(Registerer)
	add(ok, "auth_on_register")
	_, ok = p.(PublishAuthorizer)
	add(ok, "auth_on_publish")
	_, ok = p.(SubscribeAuthorizer)
	add(ok, "auth_on_subscribe")
	_, ok = p.(OnRegisterHook)
	add(ok, "on_register")
	_, ok = p.(OnPublishHook)
	add(ok, "on_publish")
	_, ok = p.(OnSubscribeHook)
	add(ok, "on_subscribe")
	_, ok = p.(OnUnsubscribeHook)
	add(ok, "on_unsubscribe")
	_, ok = p.(OnTopicUnsubscribedHook)
	add(ok, "on_topic_unsubscribed")
	_, ok = p.(OnDeliverHook)
	add(ok, "on_deliver")
	_, ok = p.(OnOfflineMessageHook)
	add(ok, "on_offline_message")
	_, ok = p.(OnMessageDropHook)
	add(ok, "on_message_drop")
	_, ok = p.(OnClientWakeupHook)
	add(ok, "on_client_wakeup")
	_, ok = p.(OnClientOfflineHook)
	add(ok, "on_client_offline")
	_, ok = p.(OnClientGoneHook)
	add(ok, "on_client_gone")
	_, ok = p.(OnSessionExpiredHook)
	add(ok, "on_session_expired")
	_, ok = p.(OnAuthHook)
	add(ok, "on_auth_m5")
	return hs
}
