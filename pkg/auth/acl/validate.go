package acl

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// validateFilter is vmq_topic:validate_topic(subscribe, _) for rule filters.
// Kept local: pkg/topics imports the packet codec, which auth must not depend on.
func validateFilter(f string) error {
	if f == "" {
		return errors.New("empty topic filter")
	}
	if !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
		return fmt.Errorf("topic filter %q is not valid UTF-8 without U+0000", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "+":
		case l == "#":
			if i != len(levels)-1 {
				return fmt.Errorf("topic filter %q: '#' must be the last level", f)
			}
		case strings.ContainsAny(l, "+#"):
			return fmt.Errorf("topic filter %q: wildcards must occupy a whole level", f)
		}
	}
	return nil
}
