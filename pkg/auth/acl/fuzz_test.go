package acl

import (
	"strings"
	"testing"
)

// An ACL file an operator wrote (or mangled) parses without a panic, each line either a rule
// or a warning, and every rule of the global section grants the topic it names when that
// topic has no wildcard; checks of any topic, user and client id never panic.
func FuzzParse(f *testing.F) {
	f.Add(testACL, "a/b/c", "user", "client")
	f.Add("pattern read dev/%c/#\npattern write %m/%u/+\nuser x\ntopic #\n", "dev/+/x", "+", "#")
	f.Add("topic a/+/c\r\nuser \t\ntopic write\n#c\n", "a//c", "", "")
	f.Fuzz(func(t *testing.T, text, topic, user, clientID string) {
		rs, warns, err := Parse(strings.NewReader(text))
		if err != nil {
			return // a line longer than the scanner takes: refused whole
		}
		if n := strings.Count(text, "\n") + 1; len(warns) > n {
			t.Fatalf("%d warnings for %d lines", len(warns), n)
		}
		for _, acc := range []access{read, writeAccess} {
			rs.check(acc, topic, user, clientID, "")
		}
		for _, r := range rs.all {
			filter := strings.Join(r.words, "/")
			if strings.ContainsAny(filter, "+#%") {
				continue
			}
			if !rs.check(r.access, filter, user, clientID, "") {
				t.Fatalf("global rule %q (access %d) does not grant its own topic", filter, r.access)
			}
		}
	})
}
