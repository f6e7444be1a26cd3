package admin

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func testRegistry() *Registry {
	r := NewRegistry()
	r.Register(Command{Path: "session show", AnyFlags: true, Flags: []Param{{Name: "limit", Value: "N"}}})
	r.Register(Command{
		Path: "session disconnect", Args: []Param{{Name: "client-id", Required: true}, {Name: "mountpoint"}},
		Flags: []Param{{Name: "cleanup"}, {Name: "kill_sessions", Short: "k"}},
		Run:   func(ctx context.Context, req *Request) Result { return Text("%s %v", req.Args["client-id"], req.Flags) },
	})
	r.Register(Command{Path: "show", Words: "key"})
	r.Register(Command{Path: "set", AnyArgs: true})
	return r
}

func TestParseArgsFlagsWords(t *testing.T) {
	r := testRegistry()
	cmd, req, err := r.Parse([]string{"session", "disconnect", "client-id=c1", "mountpoint=mp", "--cleanup", "-k"})
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Path != "session disconnect" || req.Args["client-id"] != "c1" || req.Args["mountpoint"] != "mp" {
		t.Fatalf("got %s %v", cmd.Path, req.Args)
	}
	if _, ok := req.Flags["cleanup"]; !ok {
		t.Fatalf("--cleanup not parsed: %v", req.Flags)
	}
	if _, ok := req.Flags["kill_sessions"]; !ok {
		t.Fatalf("-k not mapped to kill_sessions: %v", req.Flags)
	}

	_, req, err = r.Parse([]string{"session", "show", "--user", "--client_id=~^a", "--limit=5", "--user"})
	if err != nil {
		t.Fatal(err)
	}
	want := []FlagValue{{"user", ""}, {"client_id", "~^a"}, {"limit", "5"}, {"user", ""}}
	if !slices.Equal(req.FlagList, want) || req.Flags["client_id"] != "~^a" {
		t.Fatalf("flags %v %v", req.FlagList, req.Flags)
	}

	cmd, req, err = r.Parse([]string{"show", "max_offline_messages", "allow_anonymous"})
	if err != nil || cmd.Path != "show" || !slices.Equal(req.Words, []string{"max_offline_messages", "allow_anonymous"}) {
		t.Fatalf("show: %v %v", err, req)
	}
	cmd, req, err = r.Parse([]string{"set", "a=1", "b=x=y"})
	if err != nil || cmd.Path != "set" || req.Args["b"] != "x=y" {
		t.Fatalf("set: %v %v", err, req)
	}
}

func TestParseErrorsSayWhatToDo(t *testing.T) {
	r := testRegistry()
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"session", "disconnect"}, "needs client-id="},
		{[]string{"session", "disconnect", "client-id=a", "--nope"}, "has no flag --nope"},
		{[]string{"session", "disconnect", "client-id=a", "-z"}, "has no flag -z"},
		{[]string{"session", "disconnect", "client-id=a", "foo=1"}, "takes no argument foo="},
		{[]string{"session", "disconnect", "client-id=a", "bare"}, "unexpected \"bare\""},
		{[]string{"session"}, "needs a sub-command: disconnect, show"},
		{[]string{"sesion", "show"}, "unknown command \"sesion show\""},
		{nil, "no command given"},
		{[]string{"show"}, "needs at least one key"},
	} {
		_, _, err := r.Parse(tc.argv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.argv, err, tc.want)
		}
	}
}

func TestExecRunsHandlerAndRecoversPanics(t *testing.T) {
	r := testRegistry()
	res := r.Exec(context.Background(), []string{"session", "disconnect", "client-id=c9"}, nil)
	if res.Type != "text" || !strings.HasPrefix(res.Text, "c9 ") {
		t.Fatalf("got %+v", res)
	}
	r.Register(Command{Path: "boom", Run: func(context.Context, *Request) Result { panic("x") }})
	if res := r.Exec(context.Background(), []string{"boom"}, nil); res.Type != "error" || !strings.Contains(res.Error, "bug") {
		t.Fatalf("panic not turned into an error: %+v", res)
	}
	// A command answering for cluster nodes runs its handler on a goroutine of its own.
	r.Register(Command{Path: "boom all", Flags: clusterFlags, Run: clustered(&Backend{NodeName: "n1"}, func(context.Context, *Request) Result { panic("x") })})
	if res := r.Exec(context.Background(), []string{"boom", "all"}, nil); res.Type != "error" || !strings.Contains(res.Error, "bug") {
		t.Fatalf("panic of a clustered command not turned into an error: %+v", res)
	}
	if res := r.Exec(context.Background(), []string{"show", "k"}, nil); res.Type != "error" {
		t.Fatalf("command without handler: %+v", res)
	}
}

func TestQueryArgv(t *testing.T) {
	argv, err := QueryArgv("session/disconnect", "client-id=a%20b&--cleanup&--limit=5&-k&word")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"session", "disconnect", "client-id=a b", "--cleanup", "--limit=5", "-k", "word"}
	if !slices.Equal(argv, want) {
		t.Fatalf("got %q want %q", argv, want)
	}
	if _, err := QueryArgv("x", "%zz=1"); err == nil {
		t.Fatal("bad escape accepted")
	}
}

// A flag that takes a value may have it in the next token or attached to its letter, as in
// VerneMQ's clique (vmq-admin plugin enable -n vmq_acl); an on/off flag never takes a token.
func TestParseFlagValueForms(t *testing.T) {
	r := NewRegistry()
	r.Register(Command{Path: "plugin enable", Flags: pluginFlags})
	r.Register(Command{Path: "show", Words: "key", Flags: []Param{{Name: "all", Short: "a"}}})
	for _, argv := range [][]string{
		{"plugin", "enable", "-n", "vmq_acl"},
		{"plugin", "enable", "--name", "vmq_acl"},
		{"plugin", "enable", "-nvmq_acl"},
		{"plugin", "enable", "-n=vmq_acl"},
		{"plugin", "enable", "--name=vmq_acl"},
	} {
		_, req, err := r.Parse(argv)
		if err != nil || req.Flags["name"] != "vmq_acl" || len(req.FlagList) != 1 {
			t.Fatalf("%q: %v %v", argv, err, req)
		}
	}
	// The next token is a flag: -n has no value.
	_, req, err := r.Parse([]string{"plugin", "enable", "-n", "-m", "mod"})
	if err != nil || req.Flags["name"] != "" || req.Flags["module"] != "mod" {
		t.Fatalf("-n -m mod: %v %v", err, req)
	}
	_, req, err = r.Parse([]string{"show", "-a", "allow_anonymous"})
	if err != nil || !slices.Equal(req.Words, []string{"allow_anonymous"}) {
		t.Fatalf("on/off flag took a word: %v %v", err, req)
	}
	if _, _, err := r.Parse([]string{"plugin", "enable", "-x", "vmq_acl"}); err == nil || !strings.Contains(err.Error(), "has no flag -x") {
		t.Fatalf("unknown short flag: %v", err)
	}
}
