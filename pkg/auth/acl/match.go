package acl

import "strings"

// Substitution tokens in pattern rules; each must be a whole level.
const (
	userSub       = "%u"
	clientSub     = "%c"
	mountpointSub = "%m"
)

// match is vmq_topic:match/2: in is the published topic or subscribed
// filter, ru the rule. Levels compare literally, so "a/+" in the input only
// matches a rule level "+" or a literal "+"; unlike MQTT topic matching a
// rule "#" also covers "$SYS/...". sub, if set, replaces %u/%c/%m levels
// and the substituted value only ever matches literally: an identity "+" or
// "#" matches a level named so, which a filter's wildcard level is not, so
// it never widens a pattern (Mosquitto's CVE-2017-7650; VerneMQ lets it).
func match(in []string, ru []string, sub func(string) (string, bool)) bool {
	for i, w := range ru {
		if w == "#" && i == len(ru)-1 {
			return true // also matches the parent level, as vmq_topic
		}
		if i >= len(in) {
			return false
		}
		if sub != nil {
			if v, ok := sub(w); ok {
				if v != in[i] || isWildcard(in[i]) {
					return false
				}
				continue
			}
		}
		if w != "+" && w != in[i] {
			return false
		}
	}
	return len(in) == len(ru)
}

// check is vmq_acl:check/4: global rules, then the user's, then patterns.
func (rs *Rules) check(acc access, topic, user, clientID, mountpoint string) bool {
	var levels [16]string // on the stack: this runs for every publish
	in := splitLevels(topic, levels[:0])
	for _, r := range rs.all {
		if r.access&acc != 0 && match(in, r.words, nil) {
			return true
		}
	}
	if user != "" {
		for _, r := range rs.users[user] {
			if r.access&acc != 0 && match(in, r.words, nil) {
				return true
			}
		}
	}
	sub := func(w string) (string, bool) {
		switch w {
		case userSub:
			return user, true
		case clientSub:
			return clientID, true
		case mountpointSub:
			return mountpoint, true
		}
		return "", false
	}
	for _, r := range rs.patterns {
		if r.access&acc == 0 {
			continue
		}
		if user == "" && hasWord(r.words, userSub) {
			continue // VerneMQ substitutes the atom undefined, which never matches
		}
		if match(in, r.words, sub) {
			return true
		}
	}
	return false
}

// splitLevels is strings.Split(topic, "/") appended to dst.
func splitLevels(topic string, dst []string) []string {
	for {
		i := strings.IndexByte(topic, '/')
		if i < 0 {
			return append(dst, topic)
		}
		dst = append(dst, topic[:i])
		topic = topic[i+1:]
	}
}

func hasWord(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// isWildcard reports whether a level of a subscribed filter is a wildcard.
func isWildcard(level string) bool { return level == "+" || level == "#" }
