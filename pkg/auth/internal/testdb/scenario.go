package testdb

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
)

// Row is one fixture row in VerneMQ's vmq_auth_acl shape; Password is the
// plaintext each backend test hashes its own way.
type Row struct {
	Mountpoint, ClientID, Username, Password string
	PublishACL, SubscribeACL                 string // JSON arrays
}

// Fixture is what every database backend test stores, then checks with Check.
var Fixture = []Row{
	{"", "*", "alice", "secret",
		`[{"pattern":"a/%u/#","max_qos":1},{"pattern":"small/+","max_payload_size":4,"allowed_retain":false},` +
			`{"pattern":"mod/in","modifiers":{"topic":"mod/out","qos":0,"payload":"changed","retain":false}}]`,
		`[{"pattern":"a/+/x"},{"pattern":"c/%c/#","max_qos":1},{"pattern":"sub/mod","modifiers":[["sub/rewritten",1]]}]`},
	{"", "c-special", "alice", "special", `[{"pattern":"special/%c"}]`, `[{"pattern":"special/#"}]`},
	{"mp1", "*", "carol", "pw-carol", `[{"pattern":"%m/%u"}]`, `[]`},
}

// Plugin is what a database backend implements.
type Plugin interface {
	auth.Registerer
	auth.PublishAuthorizer
	auth.SubscribeAuthorizer
	auth.Forgetter
}

// LogBuffer is a concurrency-safe slog destination tests can search.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a logger writing into l.
func (l *LogBuffer) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func client(mp, id, user, pw string) *auth.Client {
	c := &auth.Client{Mountpoint: mp, ClientID: id, Username: user, ProtocolVersion: 4}
	if pw != "" {
		c.Password = []byte(pw)
	}
	return c
}

func wantResult(t *testing.T, what string, d auth.Decision, want auth.Result) {
	t.Helper()
	if d.Result != want {
		t.Fatalf("%s: got %v (%s), want %v", what, d.Result, d.Reason, want)
	}
}

// Check runs the shared decisions against a plugin holding Fixture.
func Check(t *testing.T, p Plugin) {
	ctx := context.Background()
	reg := func(c *auth.Client) auth.Decision {
		d, _ := p.AuthOnRegister(ctx, c)
		return d
	}
	pub := func(c *auth.Client, topic string, qos byte, payload string, retain bool) (auth.Decision, *auth.PublishModifiers) {
		return p.AuthOnPublish(ctx, c, &auth.Publish{Topic: topic, QoS: qos, Payload: []byte(payload), Retain: retain})
	}
	sub := func(c *auth.Client, ts ...auth.Topic) (auth.Decision, []auth.Topic) {
		return p.AuthOnSubscribe(ctx, c, ts)
	}

	alice := client("", "c1", "alice", "secret")
	wantResult(t, "publish before login", first(pub(alice, "a/alice/b", 0, "x", false)), auth.Error)
	wantResult(t, "subscribe before login", first(sub(alice, auth.Topic{Filter: "a/y/x"})), auth.Error)
	wantResult(t, "correct login", reg(alice), auth.OK)
	d := reg(client("", "c1", "alice", "wrong"))
	wantResult(t, "wrong password", d, auth.Error)
	if d.Reason != auth.ReasonInvalidCredentials {
		t.Fatalf("wrong password reason %q, want %q", d.Reason, auth.ReasonInvalidCredentials)
	}
	// Every login VerneMQ's scripts cannot match is refused with invalid_credentials (they
	// return false): the chain stops there, no later plugin may admit the client.
	for what, c := range map[string]*auth.Client{
		"unknown user":       client("", "c1", "bob", "secret"),
		"no password":        client("", "c1", "alice", ""),
		"no user name":       client("", "c1", "", "secret"),
		"wrong mountpoint":   client("mpX", "c1", "alice", "secret"),
		"client id mismatch": client("", "c-other", "alice", "special"), // c-special's password, another client id
	} {
		d := reg(c)
		if d.Result != auth.Error || d.Reason != auth.ReasonInvalidCredentials {
			t.Fatalf("%s: got %v (%s), want error %s", what, d.Result, d.Reason, auth.ReasonInvalidCredentials)
		}
	}

	// Publish ACL: pattern with %u, max_qos, max_payload_size, allowed_retain.
	wantResult(t, "publish a/alice/b qos1", first(pub(alice, "a/alice/b", 1, "x", false)), auth.OK)
	wantResult(t, "publish a/alice qos0 (# covers parent)", first(pub(alice, "a/alice", 0, "x", false)), auth.OK)
	wantResult(t, "publish over max_qos", first(pub(alice, "a/alice/b", 2, "x", false)), auth.Error)
	wantResult(t, "publish other user's topic", first(pub(alice, "a/bob/b", 0, "x", false)), auth.Error)
	wantResult(t, "publish unlisted topic", first(pub(alice, "b/x", 0, "x", false)), auth.Error)
	wantResult(t, "publish within max_payload_size", first(pub(alice, "small/1", 0, "1234", false)), auth.OK)
	wantResult(t, "publish over max_payload_size", first(pub(alice, "small/1", 0, "12345", false)), auth.Error)
	wantResult(t, "publish retained, not allowed", first(pub(alice, "small/1", 0, "1", true)), auth.Error)
	d, m := pub(alice, "mod/in", 2, "orig", true)
	wantResult(t, "publish with modifiers", d, auth.OK)
	if m == nil || m.Topic == nil || *m.Topic != "mod/out" || m.QoS == nil || *m.QoS != 0 ||
		string(m.Payload) != "changed" || m.Retain == nil || *m.Retain {
		t.Fatalf("publish modifiers = %+v, want topic mod/out qos 0 payload changed retain false", m)
	}

	// Subscribe ACL.
	d, ts := sub(alice, auth.Topic{Filter: "a/y/x", QoS: 2}, auth.Topic{Filter: "c/c1/#", QoS: 1})
	wantResult(t, "subscribe allowed", d, auth.OK)
	if ts != nil {
		t.Fatalf("subscribe without modifiers rewrote topics: %v", ts)
	}
	wantResult(t, "subscribe unlisted", first(sub(alice, auth.Topic{Filter: "a/y/z"})), auth.Error)
	wantResult(t, "subscribe over max_qos", first(sub(alice, auth.Topic{Filter: "c/c1/q", QoS: 2})), auth.Error)
	wantResult(t, "subscribe other client id", first(sub(alice, auth.Topic{Filter: "c/c2/q"})), auth.Error)
	wantResult(t, "subscribe wildcard broader than ACL", first(sub(alice, auth.Topic{Filter: "a/#"})), auth.Error)
	d, ts = sub(alice, auth.Topic{Filter: "a/y/x", QoS: 0}, auth.Topic{Filter: "sub/mod", QoS: 2})
	wantResult(t, "subscribe with modifiers", d, auth.OK)
	if len(ts) != 2 || ts[0] != (auth.Topic{Filter: "a/y/x"}) || ts[1] != (auth.Topic{Filter: "sub/rewritten", QoS: 1}) {
		t.Fatalf("subscribe modifiers = %v, want [a/y/x 0] [sub/rewritten 1]", ts)
	}

	// The client-specific row wins over '*'.
	sp := client("", "c-special", "alice", "special")
	wantResult(t, "client-specific login", reg(sp), auth.OK)
	wantResult(t, "client-specific publish", first(pub(sp, "special/c-special", 0, "", false)), auth.OK)
	wantResult(t, "default row's ACL not used", first(pub(sp, "a/alice/b", 0, "", false)), auth.Error)

	// Mountpoint substitution.
	carol := client("mp1", "cc", "carol", "pw-carol")
	wantResult(t, "mountpoint login", reg(carol), auth.OK)
	wantResult(t, "publish %m/%u", first(pub(carol, "mp1/carol", 0, "", false)), auth.OK)
	wantResult(t, "subscribe with empty subscribe_acl", first(sub(carol, auth.Topic{Filter: "mp1/carol"})), auth.Error)

	// Forget evicts the cached ACLs.
	p.Forget("", "c1")
	wantResult(t, "publish after forget", first(pub(alice, "a/alice/b", 0, "x", false)), auth.Error)
}

func first[A, B any](a A, _ B) A { return a }

// CheckDownAndBack stops the server, expects a fail-closed refusal with a
// log line, starts it again and expects logins to work within 20 s.
func CheckDownAndBack(t *testing.T, p Plugin, s *Server, logs *LogBuffer) {
	ctx := context.Background()
	c := client("", "c1", "alice", "secret")
	s.Stop()
	d, _ := p.AuthOnRegister(ctx, c)
	if d.Result != auth.Error || d.Code != 0x88 {
		t.Fatalf("database down: got %v code %#x (%s), want error 0x88", d.Result, d.Code, d.Reason)
	}
	if !strings.Contains(logs.String(), "auth database unavailable") {
		t.Fatalf("no log line about the database being down; logs:\n%s", logs.String())
	}
	s.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, _ = p.AuthOnRegister(ctx, c)
		if d.Result == auth.OK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database back: login still %v (%s) after 20s", d.Result, d.Reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
