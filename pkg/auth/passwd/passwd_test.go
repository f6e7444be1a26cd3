package passwd

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

// fixture is user "alice", password "secret", salt bytes 1..12, computed
// with Python's hashlib (sha512(password+salt)), as vmq_passwd.c does.
const fixture = "alice:$6$AQIDBAUGBwgJCgsM$XtaqFTpVqKCBusKxL7SramYPpHVSOw+CXtRUIv0PpX6q57MW1a1RUVsLMxkhMn6XOYi3uYMZcGrMAEzcnh9EoA==\n"

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHashKnownAnswer(t *testing.T) {
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	want := "XtaqFTpVqKCBusKxL7SramYPpHVSOw+CXtRUIv0PpX6q57MW1a1RUVsLMxkhMn6XOYi3uYMZcGrMAEzcnh9EoA=="
	if got := Hash([]byte("secret"), salt); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}

func TestLineRoundTrip(t *testing.T) {
	l, err := Line("bob", []byte("pw:with$odd chars"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l, "bob:$6$") || len(strings.Split(l, "$")) != 4 {
		t.Fatalf("line %q is not user:$6$salt$hash", l)
	}
	e, ok, err := ParseLine(l + "\n")
	if err != nil || !ok || len(e.Salt) != SaltLen {
		t.Fatalf("parse %q: %+v %v %v", l, e, ok, err)
	}
	if !e.Check([]byte("pw:with$odd chars")) || e.Check([]byte("pw")) {
		t.Fatal("Check accepts the wrong password or rejects the right one")
	}
	if _, err := Line("a:b", []byte("x")); err == nil {
		t.Fatal("user name with ':' accepted")
	}
}

func TestAuthOnRegister(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vmq.passwd")
	writeFile(t, path, "\n# comment\nbroken line\n"+fixture+"carol:$6$!!!$x\r\n")
	p := New(Config{File: path})
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if p.Users() != 1 {
		t.Fatalf("loaded %d users, want 1 (bad lines skipped)", p.Users())
	}
	tests := []struct {
		name string
		user string
		pw   []byte
		want auth.Result
		why  string
	}{
		{"right password", "alice", []byte("secret"), auth.OK, ""},
		{"wrong password", "alice", []byte("Secret"), auth.Error, auth.ReasonInvalidCredentials},
		{"empty password", "alice", []byte{}, auth.Error, auth.ReasonInvalidCredentials},
		{"no password", "alice", nil, auth.Next, ""},
		{"unknown user", "mallory", []byte("secret"), auth.Next, ""},
		{"no user", "", []byte("secret"), auth.Next, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := p.AuthOnRegister(context.Background(), &auth.Client{Username: tc.user, Password: tc.pw})
			if d.Result != tc.want || d.Reason != tc.why {
				t.Fatalf("got %+v, want %v %q", d, tc.want, tc.why)
			}
		})
	}
	// Through the chain a wrong password is CONNACK 0x86, an unknown user 0x87.
	c := auth.NewChain(nil, nil, p)
	defer c.Close()
	if d, _ := c.Register(context.Background(), &auth.Client{Username: "alice", Password: []byte("x")}, false); d.Code != auth.CodeBadCredentials {
		t.Fatalf("wrong password via chain: %+v", d)
	}
	if d, _ := c.Register(context.Background(), &auth.Client{Username: "bob", Password: []byte("x")}, false); d.Code != auth.CodeNotAuthorized {
		t.Fatalf("unknown user via chain: %+v", d)
	}
}

func TestReloadOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vmq.passwd")
	writeFile(t, path, fixture)
	p := New(Config{File: path, ReloadInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	alice := &auth.Client{Username: "alice", Password: []byte("secret")}
	if d, _ := p.AuthOnRegister(ctx, alice); d.Result != auth.OK {
		t.Fatalf("before change: %+v", d)
	}
	dave, err := Line("dave", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, dave+"\n") // alice removed, dave added
	var d1, d2 auth.Decision
	if !eventually.Within(eventually.Wait, func() bool {
		d1, _ = p.AuthOnRegister(ctx, alice)
		d2, _ = p.AuthOnRegister(ctx, &auth.Client{Username: "dave", Password: []byte("pw")})
		return d1.Result == auth.Next && d2.Result == auth.OK
	}) {
		t.Fatalf("file change not picked up: alice %+v dave %+v", d1, d2)
	}
	// A missing file keeps the last table, as VerneMQ's reloader does.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(); err == nil {
		t.Fatal("reload of a missing file reported no error")
	}
	if d, _ := p.AuthOnRegister(ctx, &auth.Client{Username: "dave", Password: []byte("pw")}); d.Result != auth.OK {
		t.Fatalf("after file removal: %+v", d)
	}
}

// vmq-passwd writes users "#" and "#dev" as ordinary lines: they are entries, not comments;
// a line starting with "#" that is not a whole entry is a comment.
func TestHashUserIsNotAComment(t *testing.T) {
	for _, user := range []string{"#", "#dev"} {
		l, err := Line(user, []byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		e, ok, err := ParseLine(l)
		if err != nil || !ok || e.User != user || !e.Check([]byte("pw")) {
			t.Fatalf("%q: %+v ok=%v err=%v", l, e, ok, err)
		}
	}
	for _, comment := range []string{"# users of site 1", "#", "#:not an entry", "# alice:$6$x$y:z"} {
		if _, ok, err := ParseLine(comment); ok || err != nil {
			t.Fatalf("%q: ok=%v err=%v, want a comment", comment, ok, err)
		}
	}
}
