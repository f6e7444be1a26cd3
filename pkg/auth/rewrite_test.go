package auth

import (
	"context"
	"testing"
)

type rewriter struct {
	name    string
	d       Decision
	filters []string
	topic   string
}

func (r *rewriter) Name() string { return r.name }
func (r *rewriter) OnUnsubscribe(context.Context, *Client, []string) (Decision, []string) {
	return r.d, r.filters
}
func (r *rewriter) OnDeliver(context.Context, *Client, *Publish) (Decision, *PublishModifiers) {
	if r.topic == "" {
		return r.d, nil
	}
	return r.d, &PublishModifiers{Topic: &r.topic}
}

func TestUnsubscribeAndDeliver(t *testing.T) {
	ctx, cl := context.Background(), &Client{ClientID: "c"}
	in := []string{"a/b"}
	tests := []struct {
		name      string
		plugins   []Plugin
		wantUnsub string
		wantTopic string // "" = no modifiers
	}{
		{"no implementers", nil, "a/b", ""},
		{"next only", []Plugin{&rewriter{name: "n"}}, "a/b", ""},
		{"first ok rewrites", []Plugin{&rewriter{name: "n"}, &rewriter{name: "r", d: Allow(), filters: []string{"x"}, topic: "t2"},
			&rewriter{name: "late", d: Allow(), filters: []string{"y"}, topic: "t3"}}, "x", "t2"},
		{"error keeps original", []Plugin{&rewriter{name: "e", d: Deny("no"), filters: []string{"x"}, topic: "t2"}}, "a/b", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChain(nil, nil, tc.plugins...)
			defer c.Close()
			if got := c.Unsubscribe(ctx, cl, in); len(got) != 1 || got[0] != tc.wantUnsub {
				t.Fatalf("Unsubscribe = %v, want [%s]", got, tc.wantUnsub)
			}
			m := c.Deliver(ctx, cl, &Publish{Topic: "t"})
			if (m == nil) != (tc.wantTopic == "") || (m != nil && *m.Topic != tc.wantTopic) {
				t.Fatalf("Deliver = %+v, want topic %q", m, tc.wantTopic)
			}
		})
	}
}
