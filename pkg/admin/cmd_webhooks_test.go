package admin

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/webhooks"
)

// withWebhooks wires b to a real vmq_webhooks plugin as pkg/node does; on=false is the plugin off.
func withWebhooks(t *testing.T, b *Backend, on bool) *webhooks.Plugin {
	t.Helper()
	p, err := webhooks.New(webhooks.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	b.WebhooksEnabled = func() bool { return on }
	b.WebhookRegister = func(w Webhook) error {
		return p.Add(webhooks.Endpoint{Hook: w.Hook, URL: w.Endpoint, Base64: w.Base64Payload, NoPayload: w.NoPayload, ResponseTimeout: w.ResponseTimeout})
	}
	b.WebhookDeregister = p.Remove
	b.Webhooks = func() []Webhook {
		var out []Webhook
		for _, e := range p.Endpoints() {
			out = append(out, Webhook{Hook: e.Hook, Endpoint: e.URL, Base64Payload: e.Base64, NoPayload: e.NoPayload, ResponseTimeout: e.ResponseTimeout})
		}
		return out
	}
	b.WebhookCacheStats = func() []WebhookCacheStat { return []WebhookCacheStat{{Stat: "entries", Value: p.CacheLen()}} }
	b.WebhookCacheClear = p.CacheClear
	return p
}

func TestWebhooksRegisterShowDeregister(t *testing.T) {
	b := realBackend(t)
	withWebhooks(t, b, true)
	r := New(b)
	if res := exec(t, r, "webhooks register hook=auth_on_register endpoint=http://127.0.0.1:1/a"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("register: %+v", res)
	}
	if res := exec(t, r, "webhooks register hook=on_publish endpoint=http://127.0.0.1:1/b --base64payload=false --response_timeout=250"); res.Type != "text" {
		t.Fatalf("register with flags: %+v", res)
	}
	res := exec(t, r, "webhooks show")
	if strings.Join(res.Headers, ",") != "hook,endpoint,base64payload,response_timeout" || len(res.Rows) != 2 {
		t.Fatalf("show: %+v", res)
	}
	if got := strings.Join(res.Rows[0], " "); got != "auth_on_register http://127.0.0.1:1/a true 5000" {
		t.Fatalf("row 0 = %q", got)
	}
	if got := strings.Join(res.Rows[1], " "); got != "on_publish http://127.0.0.1:1/b false 250" {
		t.Fatalf("row 1 = %q", got)
	}

	for line, want := range map[string]string{
		"webhooks register hook=auth_on_register endpoint=http://127.0.0.1:1/a":                       "already registered",
		"webhooks register hook=no_such_hook endpoint=http://127.0.0.1:1/a":                           "not supported",
		"webhooks register hook=on_publish endpoint=ftp://x/":                                         "not an http(s) URL",
		"webhooks register hook=on_publish endpoint=http://127.0.0.1:1/c --base64payload=maybe":       "--base64payload=true",
		"webhooks register hook=on_publish endpoint=http://127.0.0.1:1/c --response_timeout=soon":     "milliseconds",
		"webhooks register hook=on_publish":                                                           "needs endpoint=",
		"webhooks deregister hook=on_publish endpoint=http://127.0.0.1:1/a":                           "not registered",
		"webhooks register hook=on_publish endpoint=http://127.0.0.1:1/c --no_such_flag":              "no flag --no_such_flag",
		"webhooks register hook=on_publish endpoint=http://127.0.0.1:1/c --response_timeout=-5":       "positive",
		"webhooks register hook=auth_on_publish endpoint=http://127.0.0.1:1/c --no_payload=sometimes": "--no_payload=true",
	} {
		if res := exec(t, r, line); res.Type != "error" || !strings.Contains(res.Error, want) {
			t.Errorf("%s: %+v, want an error containing %q", line, res, want)
		}
	}

	if res := exec(t, r, "webhooks deregister hook=auth_on_register endpoint=http://127.0.0.1:1/a"); res.Type != "text" {
		t.Fatalf("deregister: %+v", res)
	}
	if res := exec(t, r, "webhooks show"); len(res.Rows) != 1 || res.Rows[0][0] != "on_publish" {
		t.Fatalf("show after deregister: %+v", res)
	}
}

func TestWebhooksCacheShowClear(t *testing.T) {
	b := realBackend(t)
	p := withWebhooks(t, b, true)
	r := New(b)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		w.Header().Set("cache-control", "max-age=60")
		w.Write([]byte(`{"result":"ok"}`))
	}))
	defer srv.Close()
	if res := exec(t, r, "webhooks register hook=auth_on_register endpoint="+srv.URL); res.Type != "text" {
		t.Fatalf("register: %+v", res)
	}
	cl := &auth.Client{ClientID: "c1", ProtocolVersion: 4, Peer: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		if d, _ := p.AuthOnRegister(ctx, cl); d.Result != auth.OK {
			t.Fatalf("auth_on_register %d: %+v", i, d)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("endpoint called %d times, want 1 (second answer from the cache)", calls.Load())
	}
	res := exec(t, r, "webhooks cache show")
	if strings.Join(res.Headers, ",") != "stat,endpoint,hook,value" || len(res.Rows) != 1 || res.Rows[0][0] != "entries" || res.Rows[0][3] != "1" {
		t.Fatalf("cache show: %+v", res)
	}
	if res := exec(t, r, "webhooks cache clear"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("cache clear: %+v", res)
	}
	if res := exec(t, r, "webhooks cache show"); res.Rows[0][3] != "0" {
		t.Fatalf("cache show after clear: %+v", res)
	}
	p.AuthOnRegister(ctx, cl)
	if calls.Load() != 2 {
		t.Fatalf("after cache clear the endpoint was called %d times in all, want 2", calls.Load())
	}
}

func TestWebhooksPluginOff(t *testing.T) {
	b := realBackend(t)
	if res := exec(t, New(b), "webhooks show"); res.Type != "error" || !strings.Contains(res.Error, "does not provide webhooks") {
		t.Fatalf("no backend: %+v", res)
	}
	withWebhooks(t, b, false)
	r := New(b)
	for _, line := range []string{
		"webhooks show", "webhooks cache show", "webhooks cache clear",
		"webhooks register hook=on_publish endpoint=http://127.0.0.1:1/x",
		"webhooks deregister hook=on_publish endpoint=http://127.0.0.1:1/x",
	} {
		if res := exec(t, r, line); res.Type != "error" || !strings.Contains(res.Error, "plugins.vmq_webhooks = on") {
			t.Errorf("%s with the plugin off: %+v", line, res)
		}
	}
	// vmq-admin builds its tree from a backend-less registry: the commands must be there.
	for _, path := range []string{"webhooks register", "webhooks deregister", "webhooks show", "webhooks cache show", "webhooks cache clear"} {
		if New(nil).Lookup(path) == nil {
			t.Errorf("%q missing from the registry", path)
		}
	}
}
