package topics

import "strings"

// Match reports whether topic matches filter. Both are assumed valid
// (ValidateTopic, ValidateFilter); Match never allocates.
//
// Filters starting with a wildcard do not match topics starting with '$'
// [MQTT-4.7.2-1]; "sport/#" matches "sport" [MQTT-4.7.1-2]; '+' matches one
// level, including an empty one [MQTT-4.7.1-3]; no normalisation [MQTT-4.7.3-4].
func Match(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false // [MQTT-4.7.2-1]
	}
	// fi/ti are the starts of the current levels; a start past the end means "no more levels".
	fi, ti := 0, 0
	for {
		fe := levelEnd(filter, fi)
		fl := filter[fi:fe]
		if fl == "#" {
			return true // matches the parent level and everything below [MQTT-4.7.1-2]
		}
		if ti > len(topic) {
			return false
		}
		te := levelEnd(topic, ti)
		if fl != "+" && fl != topic[ti:te] {
			return false
		}
		fi, ti = fe+1, te+1
		if fi > len(filter) {
			return ti > len(topic)
		}
	}
}

// levelEnd returns the index of the '/' ending the level that starts at start, or len(s).
func levelEnd(s string, start int) int {
	if i := strings.IndexByte(s[start:], '/'); i >= 0 {
		return start + i
	}
	return len(s)
}
