// Package dbacl is the ACL and password logic vmq_diversity's database auth
// scripts share (auth_commons.lua, vmq_diversity_cache): per-client publish
// and subscribe ACLs loaded at CONNECT, cached until the client is
// forgotten, and matched on every PUBLISH and SUBSCRIBE.
//
// An ACL is a JSON array of objects:
//
//	publish_acl:   [{"pattern":"a/%c/#", "max_qos":1, "max_payload_size":128,
//	                 "allowed_retain":false, "modifiers":{"topic":..,"payload":..,"qos":..,"retain":..,"mountpoint":..}}]
//	subscribe_acl: [{"pattern":"a/+", "max_qos":2, "modifiers":[["new/topic",1]]}]
//
// %m, %c and %u levels of a pattern are replaced by the client's mountpoint,
// client id and user name when the ACL is cached, as VerneMQ does.
package dbacl

import (
	"encoding/json"
	"fmt"
	"strings"
)

// maxPayloadSize is VerneMQ's default max_payload_size (256 MiB).
const maxPayloadSize = 268435456

// PublishACL is one publish_acl entry after substitution.
type PublishACL struct {
	Pattern        []string
	MaxQoS         byte
	MaxPayloadSize int
	AllowedRetain  bool
	Modifiers      *PublishMods // nil = allow unchanged
	lit            []bool       // levels substituted from %m/%c/%u: compared literally
}

// PublishMods are a publish ACL's modifiers.
type PublishMods struct {
	Topic      *string `json:"topic"`
	Payload    *string `json:"payload"`
	QoS        *byte   `json:"qos"`
	Retain     *bool   `json:"retain"`
	Mountpoint *string `json:"mountpoint"`
}

// SubscribeACL is one subscribe_acl entry after substitution.
type SubscribeACL struct {
	Pattern   []string
	MaxQoS    byte
	Modifiers []TopicQoS // nil = allow unchanged; else the filters to subscribe instead
	lit       []bool     // levels substituted from %m/%c/%u: compared literally
}

// TopicQoS is one [topic, qos] subscribe modifier.
type TopicQoS struct {
	Topic string
	QoS   byte
}

// ACLs is what is cached per client.
type ACLs struct {
	Publish   []PublishACL
	Subscribe []SubscribeACL
}

// rawACL is one JSON entry before validation.
type rawACL struct {
	Pattern        *string         `json:"pattern"`
	MaxQoS         *float64        `json:"max_qos"`
	MaxPayloadSize *float64        `json:"max_payload_size"`
	AllowedRetain  *bool           `json:"allowed_retain"`
	Modifiers      json.RawMessage `json:"modifiers"`
}

// Who is what %m, %c and %u stand for.
type Who struct{ Mountpoint, ClientID, Username string }

// ParseJSON parses a publish_acl and a subscribe_acl column (JSON text; ""
// or "null" = no entries) for the client who.
func ParseJSON(pub, sub []byte, who Who) (*ACLs, error) {
	var rp, rs []rawACL
	if err := unmarshalList(pub, &rp); err != nil {
		return nil, fmt.Errorf("publish_acl is not a JSON array of ACL objects: %w", err)
	}
	if err := unmarshalList(sub, &rs); err != nil {
		return nil, fmt.Errorf("subscribe_acl is not a JSON array of ACL objects: %w", err)
	}
	return build(rp, rs, who)
}

// ParseValues parses ACLs already decoded into Go values (a BSON document
// or a JSON object's field): each is a []any of map[string]any, or nil.
func ParseValues(pub, sub any, who Who) (*ACLs, error) {
	pj, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("publish_acl: %w", err)
	}
	sj, err := json.Marshal(sub)
	if err != nil {
		return nil, fmt.Errorf("subscribe_acl: %w", err)
	}
	return ParseJSON(pj, sj, who)
}

func unmarshalList(b []byte, into *[]rawACL) error {
	s := strings.TrimSpace(string(b))
	if s == "" || s == "null" {
		return nil
	}
	return json.Unmarshal([]byte(s), into)
}

func build(rp, rs []rawACL, who Who) (*ACLs, error) {
	out := &ACLs{}
	for i, r := range rp {
		if r.Pattern == nil {
			return nil, fmt.Errorf("publish_acl[%d] has no \"pattern\"", i)
		}
		pat, lit := subst(*r.Pattern, who)
		a := PublishACL{Pattern: pat, lit: lit, MaxQoS: 2, MaxPayloadSize: maxPayloadSize, AllowedRetain: true}
		if err := qosField(r.MaxQoS, &a.MaxQoS); err != nil {
			return nil, fmt.Errorf("publish_acl[%d]: %w", i, err)
		}
		if r.MaxPayloadSize != nil {
			if *r.MaxPayloadSize < 0 || *r.MaxPayloadSize > maxPayloadSize {
				return nil, fmt.Errorf("publish_acl[%d]: max_payload_size must be 0..%d", i, maxPayloadSize)
			}
			a.MaxPayloadSize = int(*r.MaxPayloadSize)
		}
		if r.AllowedRetain != nil {
			a.AllowedRetain = *r.AllowedRetain
		}
		if len(r.Modifiers) > 0 && string(r.Modifiers) != "null" {
			var m struct {
				PublishMods
				QoS *float64 `json:"qos"` // BSON doubles arrive as 0.0
			}
			if err := json.Unmarshal(r.Modifiers, &m); err != nil {
				return nil, fmt.Errorf("publish_acl[%d]: modifiers must be an object {topic,payload,qos,retain,mountpoint}: %w", i, err)
			}
			if m.QoS != nil {
				if *m.QoS < 0 || *m.QoS > 2 {
					return nil, fmt.Errorf("publish_acl[%d]: modifier qos must be 0..2", i)
				}
				q := byte(*m.QoS)
				m.PublishMods.QoS = &q
			}
			a.Modifiers = &m.PublishMods
		}
		out.Publish = append(out.Publish, a)
	}
	for i, r := range rs {
		if r.Pattern == nil {
			return nil, fmt.Errorf("subscribe_acl[%d] has no \"pattern\"", i)
		}
		pat, lit := subst(*r.Pattern, who)
		a := SubscribeACL{Pattern: pat, lit: lit, MaxQoS: 2}
		if err := qosField(r.MaxQoS, &a.MaxQoS); err != nil {
			return nil, fmt.Errorf("subscribe_acl[%d]: %w", i, err)
		}
		if len(r.Modifiers) > 0 && string(r.Modifiers) != "null" {
			mods, err := subMods(r.Modifiers)
			if err != nil {
				return nil, fmt.Errorf("subscribe_acl[%d]: %w", i, err)
			}
			a.Modifiers = mods
		}
		out.Subscribe = append(out.Subscribe, a)
	}
	return out, nil
}

func qosField(v *float64, into *byte) error {
	if v == nil {
		return nil
	}
	if *v < 0 || *v > 2 {
		return fmt.Errorf("max_qos must be 0, 1 or 2")
	}
	*into = byte(*v)
	return nil
}

// subMods accepts [["topic", qos], ...] (VerneMQ's Lua form) and
// [{"topic":..,"qos":..}] (the form the MongoDB script documents).
func subMods(raw json.RawMessage) ([]TopicQoS, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("subscribe modifiers must be a list of [topic, qos]: %w", err)
	}
	out := make([]TopicQoS, 0, len(items))
	for _, it := range items {
		var pair []any
		var obj struct {
			Topic *string  `json:"topic"`
			QoS   *float64 `json:"qos"`
		}
		switch {
		case json.Unmarshal(it, &pair) == nil && len(pair) == 2:
			t, ok1 := pair[0].(string)
			q, ok2 := pair[1].(float64)
			if !ok1 || !ok2 || q < 0 || q > 2 {
				return nil, fmt.Errorf("subscribe modifier %s must be [topic, 0..2]", it)
			}
			out = append(out, TopicQoS{Topic: t, QoS: byte(q)})
		case json.Unmarshal(it, &obj) == nil && obj.Topic != nil && obj.QoS != nil && *obj.QoS >= 0 && *obj.QoS <= 2:
			out = append(out, TopicQoS{Topic: *obj.Topic, QoS: byte(*obj.QoS)})
		default:
			return nil, fmt.Errorf("subscribe modifier %s must be [topic, 0..2]", it)
		}
	}
	return out, nil
}

// subst splits a pattern into levels and replaces whole %m/%c/%u levels; lit marks
// them (nil when there is none), so that match compares them literally.
func subst(pattern string, who Who) (ws []string, lit []bool) {
	ws = strings.Split(pattern, "/")
	for i, w := range ws {
		var v string
		switch w {
		case "%m":
			v = who.Mountpoint
		case "%c":
			v = who.ClientID
		case "%u":
			v = who.Username
		default:
			continue
		}
		ws[i] = v
		if lit == nil {
			lit = make([]bool, len(ws))
		}
		lit[i] = true
	}
	return ws, lit
}
