package auth

import (
	"context"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/topics"
)

// refuse fills in the default refusal code.
func refuse(d Decision) Decision {
	if d.Code == 0 {
		if d.Reason == ReasonInvalidCredentials {
			d.Code = CodeBadCredentials
		} else {
			d.Code = CodeNotAuthorized
		}
	}
	return d
}

// tillOK is vmq_plugin:all_till_ok: try implementers in order until one
// says OK or Error. try reports whether p implements the hook.
func (c *Chain) tillOK(hook string, try func(p Plugin) (Decision, bool)) (Decision, Plugin) {
	found := false
	for _, p := range c.list() {
		var d Decision
		var impl bool
		d = c.call(p, hook, func() Decision {
			var dd Decision
			dd, impl = try(p)
			return dd
		})
		if !impl && d.Result != Error {
			continue
		}
		found = true
		switch d.Result {
		case OK:
			return d, p
		case Error:
			return refuse(d), p
		}
	}
	if !found {
		return refuse(Decision{Result: Error, Reason: ReasonNoMatchingHook}), nil
	}
	return refuse(Decision{Result: Error, Reason: ReasonChainExhausted}), nil
}

// Register is auth_on_register. With allow_anonymous (global or the
// listener's override) on, no plugin is asked and the client is accepted.
func (c *Chain) Register(ctx context.Context, cl *Client, allowAnonymousOverride bool) (Decision, *RegisterModifiers) {
	if allowAnonymousOverride || c.allowAnonymous() {
		return Decision{Result: OK, Reason: ReasonAllowAnonymous}, nil
	}
	var mods *RegisterModifiers
	d, p := c.tillOK("auth_on_register", func(p Plugin) (Decision, bool) {
		r, ok := p.(Registerer)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, mods = r.AuthOnRegister(ctx, cl)
		return d, true
	})
	if d.Result != OK {
		c.log.Warn("can't authenticate client", "mountpoint", cl.Mountpoint, "client_id", cl.ClientID,
			"peer", peer(cl), "reason", d.Reason, "plugin", name(p))
		return d, nil
	}
	return d, mods
}

// AuthorizePublish is auth_on_publish (also used for the will message).
// allow_anonymous does not apply here (see package doc).
// Whatever the plugins say, a client never publishes into $SYS: those topics are the
// broker's own ($SYS/<node>/...), and a client granted "topic #" could forge them.
func (c *Chain) AuthorizePublish(ctx context.Context, cl *Client, pub *Publish) (Decision, *PublishModifiers) {
	if IsSysTopic(pub.Topic) {
		c.publishRefused(cl, pub.Topic, ReasonSysTopic)
		return refuse(Decision{Result: Error, Reason: ReasonSysTopic}), nil
	}
	var mods *PublishModifiers
	d, p := c.tillOK("auth_on_publish", func(p Plugin) (Decision, bool) {
		a, ok := p.(PublishAuthorizer)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, mods = a.AuthOnPublish(ctx, cl, pub)
		return d, true
	})
	if d.Result != OK {
		c.publishRefused(cl, pub.Topic, d.Reason, "plugin", name(p))
		return d, nil
	}
	if mods != nil && mods.Topic != nil {
		if IsSysTopic(*mods.Topic) {
			c.publishRefused(cl, *mods.Topic, ReasonSysTopic)
			return refuse(Decision{Result: Error, Reason: ReasonSysTopic}), nil
		}
		// A rewritten topic is routed and sent to subscribers as is: a wildcard, an empty
		// topic or a NUL would reach them as a PUBLISH they must refuse (VerneMQ checks
		// modifiers the same way and refuses the publish).
		if err := topics.ValidateTopic(*mods.Topic, 0); err != nil {
			c.publishRefused(cl, pub.Topic, ReasonInvalidModifiers, "plugin", name(p), "modified_topic", *mods.Topic, "error", err)
			return refuse(Decision{Result: Error, Reason: ReasonInvalidModifiers}), nil
		}
	}
	return d, mods
}

// IsSysTopic reports whether topic is in the broker's $SYS tree.
func IsSysTopic(topic string) bool {
	return topic == "$SYS" || strings.HasPrefix(topic, "$SYS/")
}

// publishRefused logs a refused publish (VerneMQ's "can't auth publish") with more attributes.
func (c *Chain) publishRefused(cl *Client, topic, reason string, more ...any) {
	c.log.Warn("can't auth publish", append([]any{"mountpoint", cl.Mountpoint, "client_id", cl.ClientID,
		"user", cl.Username, "topic", topic, "reason", reason}, more...)...)
}

// AuthorizeSubscribe is auth_on_subscribe. On OK the returned list is the
// (possibly rewritten) topics to subscribe; a QoS of CodeSubRejected rejects
// one filter. On refusal the list is nil and every filter is rejected.
func (c *Chain) AuthorizeSubscribe(ctx context.Context, cl *Client, topics []Topic) (Decision, []Topic) {
	var changed []Topic
	d, p := c.tillOK("auth_on_subscribe", func(p Plugin) (Decision, bool) {
		a, ok := p.(SubscribeAuthorizer)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, changed = a.AuthOnSubscribe(ctx, cl, topics)
		return d, true
	})
	if d.Result != OK {
		c.log.Warn("can't auth subscribe", "mountpoint", cl.Mountpoint, "client_id", cl.ClientID,
			"user", cl.Username, "topics", len(topics), "reason", d.Reason, "plugin", name(p))
		return d, nil
	}
	if changed == nil {
		changed = topics
	}
	return d, changed
}

// Unsubscribe is on_unsubscribe: returns the filters to remove, rewritten by
// the first plugin answering OK with a list; unchanged otherwise (as VerneMQ,
// a refusal does not stop the unsubscribe).
func (c *Chain) Unsubscribe(ctx context.Context, cl *Client, filters []string) []string {
	var changed []string
	d, _ := c.tillOK("on_unsubscribe", func(p Plugin) (Decision, bool) {
		h, ok := p.(OnUnsubscribeHook)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, changed = h.OnUnsubscribe(ctx, cl, filters)
		return d, true
	})
	if d.Result == OK && changed != nil {
		return changed
	}
	return filters
}

// Deliver is on_deliver: returns the first OK's modifiers, nil to deliver unchanged.
func (c *Chain) Deliver(ctx context.Context, cl *Client, pub *Publish) *PublishModifiers {
	var mods *PublishModifiers
	d, _ := c.tillOK("on_deliver", func(p Plugin) (Decision, bool) {
		h, ok := p.(OnDeliverHook)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, mods = h.OnDeliver(ctx, cl, pub)
		return d, true
	})
	if d.Result != OK {
		return nil
	}
	return mods
}

// Auth is on_auth_m5: one round of enhanced authentication. With no plugin implementing
// it (or all answering next) the refusal's reason is ReasonNoMatchingHook or
// ReasonChainExhausted, which the connection answers with 0x8C (bad authentication method).
func (c *Chain) Auth(ctx context.Context, cl *Client, a *AuthRequest) (Decision, *AuthResult) {
	var res *AuthResult
	d, p := c.tillOK("on_auth_m5", func(p Plugin) (Decision, bool) {
		h, ok := p.(OnAuthHook)
		if !ok {
			return Decision{}, false
		}
		var d Decision
		d, res = h.OnAuth(ctx, cl, a)
		return d, true
	})
	if d.Result != OK {
		c.log.Warn("can't continue enhanced auth", "mountpoint", cl.Mountpoint, "client_id", cl.ClientID,
			"method", a.Method, "reauth", a.ReAuth, "reason", d.Reason, "plugin", name(p))
		return d, nil
	}
	if res == nil {
		res = &AuthResult{}
	}
	return d, res
}

func name(p Plugin) string {
	if p == nil {
		return ""
	}
	return p.Name()
}

func peer(cl *Client) string {
	if cl.Peer == nil {
		return ""
	}
	return cl.Peer.String()
}
