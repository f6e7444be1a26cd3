package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// nullable is VerneMQ's nullify: "" user name or nil password → JSON null.
func nullable(s string, present bool) any {
	if !present {
		return nil
	}
	return s
}

func peer(c *auth.Client) (any, any) {
	if c.Peer == nil {
		return nil, nil
	}
	if ta, ok := c.Peer.(*net.TCPAddr); ok {
		return ta.IP.String(), ta.Port
	}
	host, port, err := net.SplitHostPort(c.Peer.String())
	if err != nil {
		return c.Peer.String(), nil
	}
	return host, json.Number(port)
}

func base(c *auth.Client) map[string]any {
	return map[string]any{"mountpoint": c.Mountpoint, "client_id": c.ClientID,
		"username": nullable(c.Username, c.Username != "")}
}

// cacheKey is the request without the payload (VerneMQ's cache key excludes it).
func cacheKey(body map[string]any) string {
	k := make(map[string]any, len(body))
	for n, v := range body {
		if n != "payload" {
			k[n] = v
		}
	}
	b, _ := json.Marshal(k)
	return string(b)
}

func refusal(o outcome) auth.Decision {
	if o.reason == "" {
		o.reason = "unknown_error"
	}
	return auth.Deny(o.reason)
}

// settled is the decision of an all_till_ok outcome that is not ok (next: pass on;
// error: refuse), and false for ok, whose modifiers the hook reads.
func settled(o outcome) (auth.Decision, bool) {
	switch o.verdict {
	case "next":
		return auth.Pass(), true
	case "error":
		return refusal(o), true
	}
	return auth.Decision{}, false
}

// badModifiers logs an ok answer whose modifiers VerneMQ would refuse and returns the
// refusal; then says what happens to the request.
func (p *Plugin) badModifiers(hook string, o outcome, then string, err error) auth.Decision {
	p.log.Error("webhook returned bad modifiers; "+then, "hook", hook, "endpoint", o.ep.URL, "err", err)
	return auth.Deny(auth.ReasonInvalidModifiers)
}

// withProps adds the MQTT 5 "properties" of props to body for a v5 client.
func withProps(body map[string]any, c *auth.Client, props *packets.Properties) map[string]any {
	if c.ProtocolVersion == 5 {
		body["properties"] = encodeProps(props)
	}
	return body
}

// registerBody is the body of auth_on_register(_m5) and on_register(_m5).
func registerBody(c *auth.Client) map[string]any {
	body := base(c)
	body["peer_addr"], body["peer_port"] = peer(c)
	return withProps(body, c, c.Props)
}

// publishBody is the body of the publish hooks; on_deliver has properties for every protocol.
func publishBody(c *auth.Client, pub *auth.Publish, props bool) map[string]any {
	body := base(c)
	body["qos"], body["topic"], body["payload"], body["retain"] = pub.QoS, pub.Topic, pub.Payload, pub.Retain
	if props {
		body["properties"] = encodeProps(pub.Props)
		return body
	}
	return withProps(body, c, pub.Props)
}

// subscribeBody is the body of auth_on_subscribe(_m5) and on_subscribe(_m5).
func subscribeBody(c *auth.Client, topics []auth.Topic) map[string]any {
	body := base(c)
	body["topics"] = subTopics(topics, c.ProtocolVersion == 5)
	return withProps(body, c, c.Props)
}

// topicsAnswer is the "topics" of an ok answer to a subscribe or unsubscribe hook: at the
// top level for v3, in "modifiers" for _m5. nil: unchanged.
func topicsAnswer(c *auth.Client, o outcome) (json.RawMessage, error) {
	raw := o.resp.Topics
	if c.ProtocolVersion == 5 {
		var m struct {
			Topics     json.RawMessage `json:"topics"`
			Properties json.RawMessage `json:"properties"`
		}
		if len(o.resp.Modifiers) > 0 && string(o.resp.Modifiers) != "null" {
			if err := json.Unmarshal(o.resp.Modifiers, &m); err != nil {
				return nil, err
			}
		}
		raw = m.Topics
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return raw, nil
}

// AuthOnRegister is auth_on_register(_m5).
func (p *Plugin) AuthOnRegister(ctx context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	hook := hookName("auth_on_register", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	body := registerBody(c)
	body["password"] = nullable(string(c.Password), c.Password != nil)
	if c.ProtocolVersion == 5 {
		body["clean_start"] = c.CleanStart
	} else {
		body["clean_session"] = c.CleanStart
	}
	o := p.allTillOK(ctx, hook, body, cacheKey(body))
	if d, done := settled(o); done {
		return d, nil
	}
	m, err := registerModifiers(hook, o.resp.Modifiers)
	if err != nil {
		return p.badModifiers(hook, o, "refusing", err), nil
	}
	return auth.Allow(), m
}

// AuthOnPublish is auth_on_publish(_m5).
func (p *Plugin) AuthOnPublish(ctx context.Context, c *auth.Client, pub *auth.Publish) (auth.Decision, *auth.PublishModifiers) {
	hook := hookName("auth_on_publish", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	body := publishBody(c, pub, false)
	o := p.allTillOK(ctx, hook, body, cacheKey(body))
	if d, done := settled(o); done {
		return d, nil
	}
	m, err := publishModifiers(hook, o.resp.Modifiers, o.ep.Base64)
	if err != nil {
		return p.badModifiers(hook, o, "refusing", err), nil
	}
	return auth.Allow(), m
}

type wireTopic struct {
	Topic          string `json:"topic"`
	QoS            int    `json:"qos"`
	NoLocal        bool   `json:"no_local"`
	RAP            bool   `json:"rap"`
	RetainHandling string `json:"retain_handling"`
}

// AuthOnSubscribe is auth_on_subscribe(_m5); a returned qos 128 rejects that filter.
func (p *Plugin) AuthOnSubscribe(ctx context.Context, c *auth.Client, topics []auth.Topic) (auth.Decision, []auth.Topic) {
	hook := hookName("auth_on_subscribe", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	body := subscribeBody(c, topics)
	o := p.allTillOK(ctx, hook, body, cacheKey(body))
	if d, done := settled(o); done {
		return d, nil
	}
	raw, err := topicsAnswer(c, o)
	if err != nil {
		return p.badModifiers(hook, o, "refusing", err), nil
	}
	if raw == nil {
		return auth.Allow(), nil
	}
	var wt []wireTopic
	if err := json.Unmarshal(raw, &wt); err != nil {
		return p.badModifiers(hook, o, "refusing", err), nil
	}
	out := make([]auth.Topic, 0, len(wt))
	for _, t := range wt {
		q := byte(auth.CodeSubRejected)
		if t.QoS >= 0 && t.QoS <= 2 {
			q = byte(t.QoS)
		}
		at := auth.Topic{Filter: t.Topic, QoS: q, NoLocal: t.NoLocal, RetainAsPublished: t.RAP}
		switch t.RetainHandling {
		case "send_if_new_sub":
			at.RetainHandling = 1
		case "dont_send":
			at.RetainHandling = 2
		}
		out = append(out, at)
	}
	return auth.Allow(), out
}

// OnRegister is on_register(_m5).
func (p *Plugin) OnRegister(ctx context.Context, c *auth.Client) {
	hook := hookName("on_register", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return
	}
	p.notify(ctx, hook, registerBody(c))
}

// OnPublish is on_publish(_m5).
func (p *Plugin) OnPublish(ctx context.Context, c *auth.Client, pub *auth.Publish) {
	hook := hookName("on_publish", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return
	}
	p.notify(ctx, hook, publishBody(c, pub, false))
}

// OnSubscribe is on_subscribe(_m5).
func (p *Plugin) OnSubscribe(ctx context.Context, c *auth.Client, topics []auth.Topic) {
	hook := hookName("on_subscribe", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return
	}
	p.notify(ctx, hook, subscribeBody(c, topics))
}

// OnUnsubscribe is on_unsubscribe(_m5): all_till_ok; an ok answer may rewrite the
// filters ("topics" at the top level, in "modifiers" for _m5). A refusal or a failed
// call leaves the filters unchanged: VerneMQ unsubscribes them anyway.
func (p *Plugin) OnUnsubscribe(ctx context.Context, c *auth.Client, filters []string) (auth.Decision, []string) {
	hook := hookName("on_unsubscribe", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	body := withProps(base(c), c, c.Props)
	body["topics"] = filters
	o := p.allTillOK(ctx, hook, body, "")
	if d, done := settled(o); done {
		return d, nil
	}
	const unchanged = "unsubscribing unchanged"
	raw, err := topicsAnswer(c, o)
	if err != nil {
		return p.badModifiers(hook, o, unchanged, err), nil
	}
	if raw == nil {
		return auth.Allow(), nil
	}
	var fs []string
	if err := json.Unmarshal(raw, &fs); err != nil {
		return p.badModifiers(hook, o, unchanged, err), nil
	}
	for _, f := range fs {
		if err := topics.ValidateFilter(f, 0); err != nil {
			return p.badModifiers(hook, o, unchanged, fmt.Errorf("topic filter %q: %w", f, err)), nil
		}
	}
	return auth.Allow(), fs
}

func (p *Plugin) idHook(ctx context.Context, hook string, id auth.SubscriberID) {
	if len(p.endpoints(hook)) == 0 {
		return
	}
	p.notify(ctx, hook, map[string]any{"mountpoint": id.Mountpoint, "client_id": id.ClientID})
}

// OnClientWakeup is on_client_wakeup.
func (p *Plugin) OnClientWakeup(ctx context.Context, id auth.SubscriberID) {
	p.idHook(ctx, "on_client_wakeup", id)
}

// OnClientOffline is on_client_offline.
func (p *Plugin) OnClientOffline(ctx context.Context, id auth.SubscriberID) {
	p.idHook(ctx, "on_client_offline", id)
}

// OnClientGone is on_client_gone.
func (p *Plugin) OnClientGone(ctx context.Context, id auth.SubscriberID) {
	p.idHook(ctx, "on_client_gone", id)
}

// OnSessionExpired is on_session_expired.
func (p *Plugin) OnSessionExpired(ctx context.Context, id auth.SubscriberID) {
	p.idHook(ctx, "on_session_expired", id)
}

// OnOfflineMessage is on_offline_message.
func (p *Plugin) OnOfflineMessage(ctx context.Context, id auth.SubscriberID, pub *auth.Publish) {
	hook := "on_offline_message"
	if len(p.endpoints(hook)) == 0 {
		return
	}
	p.notify(ctx, hook, map[string]any{"mountpoint": id.Mountpoint, "client_id": id.ClientID,
		"qos": pub.QoS, "topic": pub.Topic, "payload": pub.Payload, "retain": pub.Retain})
}

// OnDeliver is on_deliver(_m5): all_till_ok before a message goes out to the client;
// an ok answer may rewrite the topic and the payload (v3), and the properties (_m5).
// A refusal or a failed call delivers the message unchanged, as VerneMQ.
func (p *Plugin) OnDeliver(ctx context.Context, c *auth.Client, pub *auth.Publish) (auth.Decision, *auth.PublishModifiers) {
	hook := hookName("on_deliver", c.ProtocolVersion)
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	o := p.allTillOK(ctx, hook, publishBody(c, pub, true), "") // on_deliver/7 has properties for every protocol
	if d, done := settled(o); done {
		return d, nil
	}
	m, err := publishModifiers(hook, o.resp.Modifiers, o.ep.Base64)
	if err != nil {
		return p.badModifiers(hook, o, "delivering unchanged", err), nil
	}
	return auth.Allow(), m
}

// WantsHook tells the chain whether an endpoint is registered for hook or its _m5 twin.
func (p *Plugin) WantsHook(hook string) bool {
	return len(p.endpoints(hook)) > 0 || len(p.endpoints(hook+"_m5")) > 0
}

// OnAuth is on_auth_m5: body {"username","mountpoint","client_id","properties"} with the
// CONNECT's or AUTH's properties (p_authentication_method, p_authentication_data in base64,
// ...); an ok answer carries "modifiers": {"properties": {"p_authentication_method",
// "p_authentication_data" (base64), "p_reason_string"}, "reason_code": 0 (success) or 24
// (0x18, continue_authentication)}.
func (p *Plugin) OnAuth(ctx context.Context, c *auth.Client, a *auth.AuthRequest) (auth.Decision, *auth.AuthResult) {
	hook := "on_auth_m5"
	if len(p.endpoints(hook)) == 0 {
		return auth.Pass(), nil
	}
	body := base(c)
	props := c.Props
	if props == nil {
		props = &packets.Properties{AuthMethod: a.Method, AuthData: a.Data}
	}
	body["properties"] = encodeProps(props)
	o := p.allTillOK(ctx, hook, body, "")
	if d, done := settled(o); done {
		return d, nil
	}
	res, err := authModifiers(o.resp.Modifiers)
	if err != nil {
		return p.badModifiers(hook, o, "refusing", err), nil
	}
	return auth.Allow(), res
}
