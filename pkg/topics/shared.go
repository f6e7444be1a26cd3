package topics

import (
	"errors"
	"fmt"
	"strings"
)

const sharePrefix = "$share/"

// ParseShared splits a shared subscription filter "$share/<group>/<filter>".
// For any filter not starting with "$share/" it returns shared=false and
// inner=filter. The inner filter is not validated here: pass it to ValidateFilter.
// Like VerneMQ, the form is also accepted from 3.1 and 3.1.1 clients.
func ParseShared(filter string) (group, inner string, shared bool, err error) {
	if !strings.HasPrefix(filter, sharePrefix) {
		return "", filter, false, nil
	}
	rest := filter[len(sharePrefix):]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		// [MQTT-4.8.2-2] the ShareName must be followed by "/" and a topic filter.
		return "", "", true, fmt.Errorf("shared subscription %s: no topic filter after the group name", short(filter))
	}
	group, inner = rest[:slash], rest[slash+1:]
	if group == "" {
		return "", "", true, errors.New("shared subscription: empty group name") // [MQTT-4.8.2-1]
	}
	if strings.ContainsAny(group, "+#") {
		// [MQTT-4.8.2-2] "/" cannot occur: it ends the group.
		return "", "", true, fmt.Errorf("shared subscription group %s contains a wildcard", short(group))
	}
	if inner == "" {
		return "", "", true, fmt.Errorf("shared subscription %s: empty topic filter", short(filter)) // [MQTT-4.8.2-2]
	}
	return group, inner, true, nil
}
