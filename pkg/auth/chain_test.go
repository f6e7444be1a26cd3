package auth

import (
	"context"
	"sync"
	"testing"
	"time"
)

// answer is a test plugin that gives a fixed answer to the auth hooks.
type answer struct {
	name string
	d    Decision
	mods *RegisterModifiers
	pmod *PublishModifiers
	subs []Topic
	seen *[]string // records which plugins were asked
}

func (a *answer) Name() string { return a.name }
func (a *answer) AuthOnRegister(context.Context, *Client) (Decision, *RegisterModifiers) {
	*a.seen = append(*a.seen, a.name)
	return a.d, a.mods
}
func (a *answer) AuthOnPublish(context.Context, *Client, *Publish) (Decision, *PublishModifiers) {
	*a.seen = append(*a.seen, a.name)
	return a.d, a.pmod
}
func (a *answer) AuthOnSubscribe(_ context.Context, _ *Client, _ []Topic) (Decision, []Topic) {
	*a.seen = append(*a.seen, a.name)
	return a.d, a.subs
}

type named string

func (n named) Name() string { return string(n) }

type panicky struct{}

func (panicky) Name() string { return "panicky" }
func (panicky) AuthOnRegister(context.Context, *Client) (Decision, *RegisterModifiers) {
	panic("boom")
}

func TestRegisterChain(t *testing.T) {
	user := "renamed"
	mods := &RegisterModifiers{Username: &user}
	tests := []struct {
		name      string
		anon      bool
		override  bool
		answers   []Decision
		extra     []Plugin
		want      Result
		wantCode  byte
		wantWhy   string
		wantAsked int
		wantMods  bool
	}{
		{name: "no plugins", want: Error, wantCode: 0x87, wantWhy: ReasonNoMatchingHook},
		{name: "no implementer", extra: []Plugin{named("x")}, want: Error, wantCode: 0x87, wantWhy: ReasonNoMatchingHook},
		{name: "all next", answers: []Decision{Pass(), Pass()}, want: Error, wantCode: 0x87, wantWhy: ReasonChainExhausted, wantAsked: 2},
		{name: "first ok wins", answers: []Decision{Allow(), Deny("x")}, want: OK, wantAsked: 1, wantMods: true},
		{name: "next then ok", answers: []Decision{Pass(), Allow()}, want: OK, wantAsked: 2, wantMods: true},
		{name: "error stops", answers: []Decision{Deny("nope"), Allow()}, want: Error, wantCode: 0x87, wantWhy: "nope", wantAsked: 1},
		{name: "bad credentials", answers: []Decision{Deny(ReasonInvalidCredentials)}, want: Error, wantCode: 0x86, wantWhy: ReasonInvalidCredentials, wantAsked: 1},
		{name: "explicit code", answers: []Decision{{Result: Error, Code: 0x8C}}, want: Error, wantCode: 0x8C, wantAsked: 1},
		{name: "anonymous skips plugins", anon: true, answers: []Decision{Deny("nope")}, want: OK, wantWhy: ReasonAllowAnonymous},
		{name: "listener override", override: true, answers: []Decision{Deny("nope")}, want: OK, wantWhy: ReasonAllowAnonymous},
		{name: "panic is error", extra: []Plugin{panicky{}}, answers: []Decision{Allow()}, want: Error, wantCode: 0x87},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			ps := append([]Plugin(nil), tc.extra...)
			for i, d := range tc.answers {
				ps = append(ps, &answer{name: string(rune('a' + i)), d: d, mods: mods, seen: &seen})
			}
			c := NewChain(func() bool { return tc.anon }, nil, ps...)
			defer c.Close()
			d, m := c.Register(context.Background(), &Client{ClientID: "c1"}, tc.override)
			if d.Result != tc.want || d.Code != tc.wantCode || (tc.wantWhy != "" && d.Reason != tc.wantWhy) {
				t.Fatalf("got %+v, want %v code %#x reason %q", d, tc.want, tc.wantCode, tc.wantWhy)
			}
			if len(seen) != tc.wantAsked {
				t.Fatalf("asked %v, want %d plugins", seen, tc.wantAsked)
			}
			if (m != nil) != tc.wantMods {
				t.Fatalf("modifiers %v, want present=%v", m, tc.wantMods)
			}
		})
	}
}

func TestAnonymousDoesNotBypassAuthorization(t *testing.T) {
	var seen []string
	c := NewChain(func() bool { return true }, nil, &answer{name: "a", d: Pass(), seen: &seen})
	defer c.Close()
	cl := &Client{ClientID: "c"}
	if d, _ := c.AuthorizePublish(context.Background(), cl, &Publish{Topic: "a"}); d.Result != Error || d.Code != 0x87 {
		t.Fatalf("publish with only next answers: %+v, want refused 0x87", d)
	}
	if d, ts := c.AuthorizeSubscribe(context.Background(), cl, []Topic{{Filter: "a", QoS: 1}}); d.Result != Error || ts != nil {
		t.Fatalf("subscribe with only next answers: %+v %v, want refused", d, ts)
	}
}

func TestPublishAndSubscribeModifiers(t *testing.T) {
	var seen []string
	topic := "rewritten"
	sub := []Topic{{Filter: "x", QoS: 1}, {Filter: "y", QoS: CodeSubRejected}}
	c := NewChain(nil, nil,
		&answer{name: "a", d: Pass(), seen: &seen},
		&answer{name: "b", d: Allow(), pmod: &PublishModifiers{Topic: &topic}, subs: sub, seen: &seen})
	defer c.Close()
	cl := &Client{ClientID: "c"}
	d, m := c.AuthorizePublish(context.Background(), cl, &Publish{Topic: "t"})
	if d.Result != OK || m == nil || *m.Topic != topic {
		t.Fatalf("publish: %+v %+v", d, m)
	}
	in := []Topic{{Filter: "x", QoS: 1}, {Filter: "y", QoS: 2}}
	d, ts := c.AuthorizeSubscribe(context.Background(), cl, in)
	if d.Result != OK || len(ts) != 2 || ts[1].QoS != CodeSubRejected {
		t.Fatalf("subscribe: %+v %+v", d, ts)
	}
	// an OK without a list keeps the request's topics
	c2 := NewChain(nil, nil, &answer{name: "a", d: Allow(), seen: &seen})
	defer c2.Close()
	if _, ts := c2.AuthorizeSubscribe(context.Background(), cl, in); len(ts) != 2 || ts[1].QoS != 2 {
		t.Fatalf("unchanged subscribe: %+v", ts)
	}
}

func TestAddRemovePlugins(t *testing.T) {
	var seen []string
	c := NewChain(nil, nil, &answer{name: "a", d: Pass(), seen: &seen})
	defer c.Close()
	if err := c.Add(&answer{name: "a", seen: &seen}); err == nil {
		t.Fatal("adding a duplicate name succeeded")
	}
	if err := c.Add(&answer{name: "b", d: Allow(), seen: &seen}); err != nil {
		t.Fatal(err)
	}
	info := c.Plugins()
	if len(info) != 2 || info[1].Name != "b" || len(info[1].Hooks) != 3 || info[1].Hooks[0] != "auth_on_register" {
		t.Fatalf("plugins: %+v", info)
	}
	if d, _ := c.Register(context.Background(), &Client{}, false); d.Result != OK {
		t.Fatalf("with b: %+v", d)
	}
	if c.Remove("b") == nil || c.Remove("b") != nil {
		t.Fatal("remove b: want it once")
	}
	if d, _ := c.Register(context.Background(), &Client{}, false); d.Result != Error || d.Reason != ReasonChainExhausted {
		t.Fatalf("without b: %+v", d)
	}
}

// recorder records notifications in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	block  chan struct{}
}

func (r *recorder) Name() string { return "rec" }
func (r *recorder) add(s string) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}
func (r *recorder) OnRegister(_ context.Context, c *Client) {
	if c.Password != nil {
		r.add("password leaked")
	}
	r.add("register " + c.ClientID)
}
func (r *recorder) OnPublish(_ context.Context, c *Client, p *Publish) { r.add("publish " + p.Topic) }
func (r *recorder) OnClientGone(_ context.Context, id SubscriberID)    { r.add("gone " + id.ClientID) }
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestNotificationsInOrder(t *testing.T) {
	r := &recorder{}
	c := NewChain(nil, nil, r, panicky{})
	cl := &Client{ClientID: "c1", Password: []byte("secret")}
	c.NotifyRegister(cl)
	p := &Publish{Topic: "a/b"}
	c.NotifyPublish(cl, p)
	p.Topic = "mutated after notify"
	c.NotifyClientGone(cl.SubscriberID())
	c.NotifySessionExpired(cl.SubscriberID()) // nobody implements it: no-op
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"register c1", "publish a/b", "gone c1"}
	got := r.got()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.NotifyClientGone(cl.SubscriberID()) // after Close: dropped, must not panic
}

func TestNotificationsNeverBlockCaller(t *testing.T) {
	r := &recorder{block: make(chan struct{})}
	c := NewChain(nil, nil, r)
	id := SubscriberID{ClientID: "c"}
	start := time.Now()
	for i := 0; i < notifyQueueLen+100; i++ {
		c.NotifyClientGone(id)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("notifying took %v with a stuck plugin", el)
	}
	if c.DroppedNotifications() == 0 {
		t.Fatal("queue overflow not counted")
	}
	close(r.block)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.got()); n < notifyQueueLen {
		t.Fatalf("only %d queued notifications ran before Close returned", n)
	}
}

// A plugin that allows everything still cannot let a client publish into $SYS, directly
// or through a topic modifier; $SYSTEM and $SYSx are ordinary topics.
func TestNoClientPublishIntoSys(t *testing.T) {
	var seen []string
	c := NewChain(nil, nil, &answer{name: "all", d: Allow(), seen: &seen})
	defer c.Close()
	cl := &Client{ClientID: "c"}
	for _, topic := range []string{"$SYS", "$SYS/VerneMQ@127.0.0.1/mqtt/publish/received", "$SYS/"} {
		if d, _ := c.AuthorizePublish(context.Background(), cl, &Publish{Topic: topic}); d.Result != Error || d.Code != CodeNotAuthorized || d.Reason != ReasonSysTopic {
			t.Errorf("publish to %q: %+v, want refused 0x87 sys_topic", topic, d)
		}
	}
	for _, topic := range []string{"$SYSTEM/x", "$SYSx", "a/$SYS/b"} {
		if d, _ := c.AuthorizePublish(context.Background(), cl, &Publish{Topic: topic}); d.Result != OK {
			t.Errorf("publish to %q: %+v, want allowed", topic, d)
		}
	}
	sys := "$SYS/forged"
	c2 := NewChain(nil, nil, &answer{name: "rewrite", d: Allow(), pmod: &PublishModifiers{Topic: &sys}, seen: &seen})
	defer c2.Close()
	if d, m := c2.AuthorizePublish(context.Background(), cl, &Publish{Topic: "t"}); d.Result != Error || m != nil {
		t.Errorf("publish rewritten into $SYS: %+v %+v, want refused", d, m)
	}
}
