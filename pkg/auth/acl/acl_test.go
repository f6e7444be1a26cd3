package acl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/auth"
)

// testACL extends VerneMQ's apps/vmq_acl/test/acl/simple_test.acl.
const testACL = `# simple comment
topic read a/b/c
# other comment
topic write a/b/c
topic write v/w x/y
topic	sensors/+/temp
topic read sys/#

#
# ACL for user 'test'
user test


topic x/y/z/#
topic read only/read
# some patterns
pattern read %m/%u/%c
pattern write %m/%u/%c
pattern devices/%c/#
user other
topic other/#
bogus line here
topic bad/#/x
topic write   padded/topic   
`

func load(t *testing.T, s string) *Plugin {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vmq.acl")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	p := New(Config{File: path})
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseWarnings(t *testing.T) {
	_, warns, err := Parse(strings.NewReader(testACL))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 3 || warns[0].Line != 6 || warns[1].Text != "bogus line here" || !strings.Contains(warns[2].Err, "'#'") {
		t.Fatalf("warnings %+v, want the tab line, the bogus line and bad/#/x", warns)
	}
}

func TestCheck(t *testing.T) {
	p := load(t, testACL)
	test := &auth.Client{Username: "test", ClientID: "cl1", Mountpoint: "mp"}
	other := &auth.Client{Username: "other", ClientID: "cl2"}
	anon := &auth.Client{ClientID: "anon"}
	tests := []struct {
		name  string
		c     *auth.Client
		topic string
		write bool
		want  bool
	}{
		{"global read", anon, "a/b/c", false, true},
		{"global write", anon, "a/b/c", true, true},
		{"global write-only", anon, "v/w x/y", true, true},
		{"global write-only not read", anon, "v/w x/y", false, false},
		{"tab is not a separator", anon, "sensors/1/temp", true, false},
		{"global # covers parent", anon, "sys", false, true},
		{"global # covers children", anon, "sys/a/b", false, true},
		{"global read not write", anon, "sys/a", true, false},
		{"user rule", test, "x/y/z/1", true, true},
		{"user rule parent level", test, "x/y/z", false, true},
		{"user rule not for others", other, "x/y/z/1", true, false},
		{"user rule not for anonymous", anon, "x/y/z/1", true, false},
		{"user read-only", test, "only/read", false, true},
		{"user read-only no write", test, "only/read", true, false},
		{"globals apply to users", test, "a/b/c", true, true},
		{"second user section", other, "other/x", true, true},
		{"padded topic trimmed", other, "padded/topic", true, true},
		{"pattern %m/%u/%c", test, "mp/test/cl1", true, true},
		{"pattern wrong client", test, "mp/test/cl2", true, false},
		{"pattern empty mountpoint", other, "/other/cl2", false, true},
		{"pattern %u needs a user", anon, "/%u/anon", false, false},
		{"pattern devices/%c/#", anon, "devices/anon/x", true, true},
		{"pattern other client's device", anon, "devices/cl1/x", true, false},
		{"subscribe filter + vs rule +", test, "x/y/z/+", false, true},
		{"subscribe wildcard wider than rule", test, "x/#", false, false},
		{"filter + matches rule literal? no", anon, "a/+/c", false, false},
		{"rule # covers $SYS like vmq_topic", test, "x/y/z/$SYS", false, true},
		{"no match", test, "nothing/here", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Allowed(tc.c, tc.topic, tc.write); got != tc.want {
				t.Fatalf("Allowed(%s, %q, write=%v) = %v, want %v", tc.c.Username, tc.topic, tc.write, got, tc.want)
			}
		})
	}
}

func TestHooks(t *testing.T) {
	p := load(t, "topic read in/#\ntopic write out/#\n")
	c := &auth.Client{ClientID: "c"}
	ctx := context.Background()
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "out/1"}); d.Result != auth.OK {
		t.Fatalf("publish out/1: %+v", d)
	}
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "in/1"}); d.Result != auth.Next {
		t.Fatalf("publish in/1 needs write: %+v", d)
	}
	if d, _ := p.AuthOnSubscribe(ctx, c, []auth.Topic{{Filter: "in/1", QoS: 0}, {Filter: "in/#", QoS: 1}}); d.Result != auth.OK {
		t.Fatalf("subscribe in/*: %+v", d)
	}
	if d, _ := p.AuthOnSubscribe(ctx, c, []auth.Topic{{Filter: "in/1", QoS: 0}, {Filter: "out/1", QoS: 1}}); d.Result != auth.Next {
		t.Fatalf("one unreadable filter must fail the whole subscribe: %+v", d)
	}
	// Through the chain, no match is a refusal even with allow_anonymous.
	ch := auth.NewChain(func() bool { return true }, nil, p)
	defer ch.Close()
	if d, _ := ch.AuthorizePublish(ctx, c, &auth.Publish{Topic: "in/1"}); d.Result != auth.Error {
		t.Fatalf("chain publish in/1: %+v", d)
	}
	if d, _ := ch.AuthorizePublish(ctx, c, &auth.Publish{Topic: "out/1"}); d.Result != auth.OK {
		t.Fatalf("chain publish out/1: %+v", d)
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vmq.acl")
	if err := os.WriteFile(path, []byte("topic a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := New(Config{File: path, ReloadInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := &auth.Client{ClientID: "c"}
	if !p.Allowed(c, "a", true) || p.Allowed(c, "b", true) {
		t.Fatal("initial rules wrong")
	}
	if err := os.WriteFile(path, []byte("topic b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "the acl change to be picked up", func() bool {
		return p.Allowed(c, "b", true) && !p.Allowed(c, "a", true)
	})
}

// An identity of "+" or "#" (client id, user name — from CONNECT, a TLS or PROXY CN — or
// mountpoint) matches only a literal level, so it never widens %c/%u/%m patterns: a filter's
// wildcard level is refused where the identity stands [CVE-2017-7650's class].
func TestWildcardIdentities(t *testing.T) {
	p := load(t, "pattern devices/%c/#\npattern users/%u/#\npattern %m/in/#\npattern both/%u/%c\n")
	for _, id := range []string{"+", "#"} {
		clients := map[string]*auth.Client{
			"client id":  {ClientID: id, Username: "u"},
			"user name":  {ClientID: "c", Username: id},
			"mountpoint": {ClientID: "c", Username: "u", Mountpoint: id},
		}
		for what, c := range clients {
			for _, filter := range []string{"devices/+/#", "devices/#", "devices/+/x", "users/+/#", "users/#",
				"+/in/#", "#", "+/in/x", "both/+/+", "both/#", "both/u/+", "both/+/c"} {
				for _, write := range []bool{false, true} {
					if p.Allowed(c, filter, write) {
						t.Errorf("%s %q: %q (write=%v) allowed", what, id, filter, write)
					}
				}
			}
		}
	}
	// The same patterns still serve ordinary identities.
	c := &auth.Client{ClientID: "dev1", Username: "alice", Mountpoint: "site"}
	for _, topic := range []string{"devices/dev1/#", "devices/dev1/t", "users/alice/x", "site/in/#", "both/alice/dev1"} {
		if !p.Allowed(c, topic, false) {
			t.Errorf("%q refused for its own identity", topic)
		}
	}
}
