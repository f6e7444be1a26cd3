package passwd

import (
	"strings"
	"testing"
)

// A password-file line an operator wrote (or mangled) parses without a panic; an entry it
// yields checks a password without a panic, and a line vmq-passwd writes for any user name
// it accepts parses back to that user and password.
func FuzzParseLine(f *testing.F) {
	f.Add("u:$6$c2FsdHNhbHRzYWx0$aGFzaA==", "user", "secret")
	f.Add("#dev:$6$YWJj$eHl6", "#", "")
	f.Add("plain:password\r\n", "a b", "pw")
	f.Fuzz(func(t *testing.T, line, user, password string) {
		if e, ok, err := ParseLine(line); ok && err == nil {
			e.Check([]byte(password))
		}
		written, err := Line(user, []byte(password))
		if err != nil {
			return
		}
		e, ok, err := ParseLine(written)
		if strings.HasPrefix(user, "#") && !ok {
			t.Fatalf("vmq-passwd line %q for user %q reads as a comment", written, user)
		}
		if !ok || err != nil || e.User != user || !e.Check([]byte(password)) {
			t.Fatalf("vmq-passwd line %q for user %q: parsed %+v ok %v err %v", written, user, e, ok, err)
		}
	})
}
