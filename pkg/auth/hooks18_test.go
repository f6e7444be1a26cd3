package auth

import (
	"context"
	"testing"
)

// authPlugin answers on_auth_m5 for one method, next for others.
type authPlugin struct {
	name, method string
	calls        int
}

func (p *authPlugin) Name() string { return p.name }

func (p *authPlugin) OnAuth(_ context.Context, _ *Client, a *AuthRequest) (Decision, *AuthResult) {
	p.calls++
	if a.Method != p.method {
		return Pass(), nil
	}
	if string(a.Data) == "first" {
		return Allow(), &AuthResult{Continue: true, Data: []byte("challenge")}
	}
	return Allow(), &AuthResult{Data: []byte("done")}
}

// The chain asks on_auth_m5 plugins in order; none taking the method is no_matching_hook_found
// (no plugin) or chain_exhausted (all next), which the connection answers with 0x8C.
func TestChainAuth(t *testing.T) {
	ctx := context.Background()
	cl := &Client{ClientID: "c", ProtocolVersion: 5}
	if d, _ := NewChain(nil, nil).Auth(ctx, cl, &AuthRequest{Method: "X"}); d.Result != Error || d.Reason != ReasonNoMatchingHook {
		t.Fatalf("no plugin: %+v", d)
	}
	a, b := &authPlugin{name: "a", method: "A"}, &authPlugin{name: "b", method: "B"}
	c := NewChain(nil, nil, a, b)
	defer c.Close()
	d, r := c.Auth(ctx, cl, &AuthRequest{Method: "B", Data: []byte("first")})
	if d.Result != OK || !r.Continue || string(r.Data) != "challenge" || a.calls != 1 || b.calls != 1 {
		t.Fatalf("second plugin's method: %+v %+v (calls %d %d)", d, r, a.calls, b.calls)
	}
	if d, _ := c.Auth(ctx, cl, &AuthRequest{Method: "C"}); d.Result != Error || d.Reason != ReasonChainExhausted {
		t.Fatalf("method nobody takes: %+v", d)
	}
}

type deliverPlugin struct{ want bool }

func (p *deliverPlugin) Name() string            { return "d" }
func (p *deliverPlugin) WantsHook(h string) bool { return p.want && h == "on_deliver" }
func (p *deliverPlugin) OnDeliver(context.Context, *Client, *Publish) (Decision, *PublishModifiers) {
	return Pass(), nil
}

// DeliverWanted follows the plugins (Add/Remove) and their HookWanter answers (Refresh).
func TestDeliverWanted(t *testing.T) {
	c := NewChain(nil, nil)
	defer c.Close()
	p := &deliverPlugin{}
	c.Add(p)
	if c.DeliverWanted() {
		t.Fatal("a plugin that does not want on_deliver made it wanted")
	}
	p.want = true
	c.Refresh()
	if !c.DeliverWanted() {
		t.Fatal("Refresh missed the plugin wanting on_deliver")
	}
	c.Remove("d")
	if c.DeliverWanted() {
		t.Fatal("on_deliver still wanted after the plugin left")
	}
}
