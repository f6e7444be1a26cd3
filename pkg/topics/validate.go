// Package topics holds MQTT topic names and topic filters: validation, matching,
// "$share/<group>/<filter>" parsing and the subscription index the router
// consults on every PUBLISH.
//
// Spec tags follow MQTT 3.1.1 numbering for section 4.7 (v5 renumbers
// 4.7.1-2/-3 as 4.7.1-1/-2 and 1.5.3 as 1.5.4); shared subscriptions are v5 4.8.2.
package topics

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxTopicLen is the longest topic name or filter in bytes [MQTT-4.7.3-3].
const MaxTopicLen = 65535

// ValidateTopic checks a topic name as carried by PUBLISH or a will.
// maxDepth <= 0 means unlimited (VerneMQ topic_max_depth, default 10).
func ValidateTopic(topic string, maxDepth int) error {
	if topic == "" {
		return errors.New("topic name is empty") // [MQTT-4.7.3-1]
	}
	if len(topic) > MaxTopicLen {
		return fmt.Errorf("topic name is %d bytes, more than %d", len(topic), MaxTopicLen) // [MQTT-4.7.3-3]
	}
	depth := 1
	for i := 0; i < len(topic); {
		c := topic[i]
		if c < utf8.RuneSelf {
			switch c {
			case '/':
				depth++
			case '+', '#':
				// [MQTT-4.7.1-1] [MQTT-3.3.2-2]
				return fmt.Errorf("topic name %s contains wildcard %q at byte %d", short(topic), c, i)
			case 0:
				// [MQTT-4.7.3-2] [MQTT-1.5.3-2]
				return fmt.Errorf("topic name %s contains U+0000 at byte %d", short(topic), i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(topic[i:])
		if r == utf8.RuneError && size == 1 {
			// Go's decoder also rejects surrogates and overlong forms [MQTT-1.5.3-1].
			return fmt.Errorf("topic name %s is not well-formed UTF-8 at byte %d", short(topic), i)
		}
		i += size
	}
	if maxDepth > 0 && depth > maxDepth {
		return fmt.Errorf("topic name %s has %d levels, more than topic_max_depth %d", short(topic), depth, maxDepth)
	}
	return nil
}

// ValidateFilter checks a topic filter as carried by SUBSCRIBE or UNSUBSCRIBE.
// For a shared subscription validate the inner filter returned by ParseShared.
// maxDepth <= 0 means unlimited.
func ValidateFilter(filter string, maxDepth int) error {
	if filter == "" {
		return errors.New("topic filter is empty") // [MQTT-4.7.3-1]
	}
	if len(filter) > MaxTopicLen {
		return fmt.Errorf("topic filter is %d bytes, more than %d", len(filter), MaxTopicLen) // [MQTT-4.7.3-3]
	}
	depth, levelStart := 1, 0
	for i := 0; i < len(filter); {
		c := filter[i]
		if c < utf8.RuneSelf {
			switch c {
			case '/':
				depth++
				levelStart = i + 1
			case '+':
				if i != levelStart || (i+1 < len(filter) && filter[i+1] != '/') {
					// [MQTT-4.7.1-3]
					return fmt.Errorf("topic filter %s: '+' at byte %d must occupy a whole level", short(filter), i)
				}
			case '#':
				if i != levelStart || i != len(filter)-1 {
					// [MQTT-4.7.1-2]
					return fmt.Errorf("topic filter %s: '#' at byte %d must be alone in the last level", short(filter), i)
				}
			case 0:
				// [MQTT-4.7.3-2] [MQTT-1.5.3-2]
				return fmt.Errorf("topic filter %s contains U+0000 at byte %d", short(filter), i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(filter[i:])
		if r == utf8.RuneError && size == 1 {
			// [MQTT-1.5.3-1]
			return fmt.Errorf("topic filter %s is not well-formed UTF-8 at byte %d", short(filter), i)
		}
		i += size
	}
	if maxDepth > 0 && depth > maxDepth {
		return fmt.Errorf("topic filter %s has %d levels, more than topic_max_depth %d", short(filter), depth, maxDepth)
	}
	return nil
}

// short quotes s for an error message, cut so a 64 KiB topic does not flood the log.
func short(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:max])
}
