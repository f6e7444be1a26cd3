package dbacl

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/vernemq-go/vernemq/pkg/auth"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		in, pat string
		want    bool
	}{
		{"a/b/c", "a/+/c", true}, {"a/b", "a/#", true}, {"a", "a/#", true}, {"a/b/c", "a/b", false},
		{"a/+", "a/+", true}, {"a/#", "a/+", false}, {"a/#", "a/#", true}, {"b", "a/#", false}, {"a/b", "a/b/c", false},
	}
	for _, c := range cases {
		if got := match(splitT(c.in), splitT(c.pat), nil); got != c.want {
			t.Errorf("match(%s, %s) = %v, want %v", c.in, c.pat, got, c.want)
		}
	}
}

func splitT(s string) []string { ws, _ := subst(s, Who{}); return ws }

// A client id, user name or mountpoint of "+" or "#" is substituted as a literal level:
// it never widens a database ACL pattern [CVE-2017-7650's class].
func TestWildcardIdentities(t *testing.T) {
	pats := `[{"pattern":"devices/%c/#"},{"pattern":"users/%u/#"},{"pattern":"%m/in/#"},{"pattern":"x/%c"}]`
	for _, id := range []string{"+", "#"} {
		for what, who := range map[string]Who{
			"client id":  {ClientID: id, Username: "u"},
			"user name":  {ClientID: "c", Username: id},
			"mountpoint": {ClientID: "c", Username: "u", Mountpoint: id},
		} {
			a, err := ParseJSON([]byte(pats), []byte(pats), who)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"devices/+/#", "devices/#", "devices/+/x", "users/+/#", "users/#", "+/in/#", "#", "x/+", "x/#"} {
				if ok, _ := a.MatchSubscribe(f, 0); ok {
					t.Errorf("%s %q may subscribe %q", what, id, f)
				}
			}
			for _, topic := range []string{"devices/other/x", "users/other/x", "other/in/x", "x/other"} {
				if ok, _ := a.MatchPublish(topic, 0, 1, false); ok {
					t.Errorf("%s %q may publish to %q", what, id, topic)
				}
			}
		}
	}
	a, err := ParseJSON([]byte(pats), []byte(pats), Who{ClientID: "dev1", Username: "alice", Mountpoint: "site"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"devices/dev1/#", "users/alice/x", "site/in/#", "x/dev1"} {
		if ok, _ := a.MatchSubscribe(f, 0); !ok {
			t.Errorf("%q refused for its own identity", f)
		}
	}
}

func TestParseErrors(t *testing.T) {
	who := Who{ClientID: "c"}
	for _, bad := range []string{`{}`, `[{"max_qos":1}]`, `[{"pattern":"a","max_qos":3}]`,
		`[{"pattern":"a","modifiers":5}]`, `[{"pattern":"a","max_payload_size":-1}]`} {
		if _, err := ParseJSON([]byte(bad), nil, who); err == nil {
			t.Errorf("publish_acl %s accepted", bad)
		}
	}
	if _, err := ParseJSON(nil, []byte(`[{"pattern":"a","modifiers":[["t",7]]}]`), who); err == nil {
		t.Error("subscribe modifier qos 7 accepted")
	}
	a, err := ParseJSON([]byte(`null`), []byte(``), who)
	if err != nil || len(a.Publish)+len(a.Subscribe) != 0 {
		t.Fatalf("null ACLs: %v %v", a, err)
	}
}

func TestRegisterPrefersClientRow(t *testing.T) {
	a := NewAuthorizer("x", "test", nil)
	c := &auth.Client{ClientID: "c1", Username: "u", Password: []byte("p")}
	h, _ := bcrypt.GenerateFromPassword([]byte("p"), bcrypt.MinCost)
	checked := 0
	star := Row{ClientID: "*", Check: func() bool { checked++; return true }, PublishACL: []byte(`[{"pattern":"star"}]`)}
	own := Row{ClientID: "c1", Check: Checker("bcrypt", string(h), c.Password), PublishACL: []byte(`[{"pattern":"own"}]`)}
	if d := a.Register(c, []Row{star, own}); d.Result != auth.OK {
		t.Fatalf("register: %+v", d)
	}
	if checked != 0 {
		t.Fatal("the '*' row's hash was checked although the client's own row matched")
	}
	if d, _ := a.AuthOnPublish(context.Background(), c, &auth.Publish{Topic: "own"}); d.Result != auth.OK {
		t.Fatalf("own row's ACL not used: %+v", d)
	}
	if d := a.Register(c, []Row{{ClientID: "*", PasswordOK: false}}); d.Reason != auth.ReasonInvalidCredentials {
		t.Fatalf("no matching password: %+v", d)
	}
}

func TestSHA256(t *testing.T) {
	// echo -n secret | sha256sum
	const want = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
	if SHA256Hex([]byte("secret")) != want || !CheckSHA256(want, []byte("secret")) || CheckSHA256(want, []byte("x")) {
		t.Fatal("sha256 hex mismatch")
	}
}
