package dbacl

import "strings"

// match is vmq_topic:match/2 with the ACL pattern as filter: "+" takes one
// level, a trailing "#" the rest (also none). Deviation, safer: a pattern
// "+" does not take a subscribed "#" (VerneMQ lets ACL "a/+" allow "a/#").
// A level substituted from an identity (lit) matches only the same literal level, never a
// subscribed wildcard: a client id "+" or "#" cannot widen "a/%c/#" (CVE-2017-7650's class).
func match(in, pat []string, lit []bool) bool {
	for i, w := range pat {
		if i < len(lit) && lit[i] {
			if i >= len(in) || in[i] != w || in[i] == "+" || in[i] == "#" {
				return false
			}
			continue
		}
		if w == "#" && i == len(pat)-1 {
			return true
		}
		if i >= len(in) {
			return false
		}
		if (w != "+" && w != in[i]) || (w == "+" && in[i] == "#") {
			return false
		}
	}
	return len(in) == len(pat)
}

// MatchPublish is vmq_diversity_cache:match_publish_acl: the first ACL whose
// pattern, max_qos, max_payload_size and allowed_retain admit the message.
// ok false = refused; mods non-nil = allowed with these modifiers.
func (a *ACLs) MatchPublish(topic string, qos byte, payloadLen int, retain bool) (ok bool, mods *PublishMods) {
	in := strings.Split(topic, "/")
	for i := range a.Publish {
		p := &a.Publish[i]
		if qos > p.MaxQoS || payloadLen > p.MaxPayloadSize || (retain && !p.AllowedRetain) {
			continue
		}
		if match(in, p.Pattern, p.lit) {
			return true, p.Modifiers
		}
	}
	return false, nil
}

// MatchSubscribe is vmq_diversity_cache:match_subscribe_acl for one filter.
func (a *ACLs) MatchSubscribe(filter string, qos byte) (ok bool, mods []TopicQoS) {
	in := strings.Split(filter, "/")
	for i := range a.Subscribe {
		s := &a.Subscribe[i]
		if qos > s.MaxQoS {
			continue
		}
		if match(in, s.Pattern, s.lit) {
			return true, s.Modifiers
		}
	}
	return false, nil
}
