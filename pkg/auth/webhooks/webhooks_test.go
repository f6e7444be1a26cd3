package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// hookServer answers like a user's webhook service and records requests.
type hookServer struct {
	mu     sync.Mutex
	bodies []map[string]any
	hooks  []string
	calls  int
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", 400)
		return
	}
	h.mu.Lock()
	h.calls++
	h.bodies = append(h.bodies, body)
	h.hooks = append(h.hooks, r.Header.Get("vernemq-hook"))
	h.mu.Unlock()
	switch r.Header.Get("vernemq-hook") {
	case "auth_on_register", "auth_on_register_m5":
		switch {
		case body["username"] == "alice" && body["password"] == "secret":
			w.Header().Set("cache-control", "max-age=60")
			io.WriteString(w, `{"result":"ok","modifiers":{"max_inflight_messages":5,"mountpoint":"mp","client_id":"new-id"}}`)
		case body["username"] == "alice":
			io.WriteString(w, `{"result":{"error":"invalid_credentials"}}`)
		case body["username"] == "broken":
			w.WriteHeader(500)
		default:
			io.WriteString(w, `{"result":"next"}`)
		}
	case "auth_on_publish":
		switch body["topic"] {
		case "allowed":
			io.WriteString(w, `{"result":"ok"}`)
		case "rewrite":
			io.WriteString(w, `{"result":"ok","modifiers":{"topic":"rewritten","qos":1,"payload":"`+"bmV3"+`","retain":true}}`)
		default:
			io.WriteString(w, `{"result":{"error":"not_allowed"}}`)
		}
	case "auth_on_subscribe":
		io.WriteString(w, `{"result":"ok","topics":[{"topic":"a/b","qos":1},{"topic":"denied","qos":128}]}`)
	case "auth_on_subscribe_m5":
		io.WriteString(w, `{"result":"ok","modifiers":{"topics":[{"topic":"x/y","qos":2}]}}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func (h *hookServer) last() (string, map[string]any, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bodies) == 0 {
		return "", nil, 0
	}
	return h.hooks[len(h.hooks)-1], h.bodies[len(h.bodies)-1], h.calls
}

func newPlugin(t *testing.T, url string, hooks ...string) *Plugin {
	var eps []Endpoint
	for _, h := range hooks {
		eps = append(eps, Endpoint{Name: h, Hook: h, URL: url, Base64: true, ResponseTimeout: time.Second})
	}
	p, err := New(Config{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestRegister(t *testing.T) {
	h := &hookServer{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := newPlugin(t, srv.URL, "auth_on_register")
	ctx := context.Background()
	c := &auth.Client{ClientID: "c1", Username: "alice", Password: []byte("secret"), ProtocolVersion: 4,
		Peer: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}, CleanStart: true}

	d, m := p.AuthOnRegister(ctx, c)
	if d.Result != auth.OK || m == nil || *m.MaxInflight != 5 || *m.Mountpoint != "mp" || *m.ClientID != "new-id" {
		t.Fatalf("correct login: %+v %+v", d, m)
	}
	hook, body, calls := h.last()
	want := map[string]any{"peer_addr": "127.0.0.1", "peer_port": float64(5555), "username": "alice", "password": "secret",
		"mountpoint": "", "client_id": "c1", "clean_session": true}
	if hook != "auth_on_register" || len(body) != len(want) {
		t.Fatalf("request %s %v, want %v", hook, body, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Fatalf("body[%s] = %v, want %v", k, body[k], v)
		}
	}
	// max-age=60: the second identical login is answered from the cache.
	if d, _ := p.AuthOnRegister(ctx, c); d.Result != auth.OK {
		t.Fatalf("cached login: %+v", d)
	}
	if _, _, n := h.last(); n != calls || p.CacheLen() != 1 {
		t.Fatalf("cached login called the endpoint (%d calls, was %d) or cache has %d entries", n, calls, p.CacheLen())
	}
	bad := *c
	bad.Password = []byte("wrong")
	if d, _ := p.AuthOnRegister(ctx, &bad); d.Result != auth.Error || d.Reason != auth.ReasonInvalidCredentials {
		t.Fatalf("wrong password: %+v", d)
	}
	unknown := *c
	unknown.Username = "bob"
	if d, _ := p.AuthOnRegister(ctx, &unknown); d.Result != auth.Next {
		t.Fatalf("unknown user: %+v", d)
	}
	broken := *c
	broken.Username = "broken"
	if d, _ := p.AuthOnRegister(ctx, &broken); d.Result != auth.Error {
		t.Fatalf("HTTP 500 must fail closed: %+v", d)
	}
	// v5 clients use the _m5 hook, which has no endpoint here.
	v5 := *c
	v5.ProtocolVersion = 5
	if d, _ := p.AuthOnRegister(ctx, &v5); d.Result != auth.Next {
		t.Fatalf("v5 without auth_on_register_m5 endpoint: %+v", d)
	}
}

func TestPublishSubscribe(t *testing.T) {
	h := &hookServer{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := newPlugin(t, srv.URL, "auth_on_publish", "auth_on_subscribe", "auth_on_subscribe_m5")
	ctx := context.Background()
	c := &auth.Client{ClientID: "c1", Username: "alice", ProtocolVersion: 4}

	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "allowed", QoS: 1, Payload: []byte("hi")}); d.Result != auth.OK {
		t.Fatalf("allowed publish: %+v", d)
	}
	_, body, _ := h.last()
	if body["payload"] != "aGk=" || body["topic"] != "allowed" || body["qos"] != float64(1) || body["retain"] != false {
		t.Fatalf("publish body %v (payload must be base64)", body)
	}
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "other"}); d.Result != auth.Error || d.Reason != "not_allowed" {
		t.Fatalf("denied publish: %+v", d)
	}
	d, m := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "rewrite"})
	if d.Result != auth.OK || m == nil || *m.Topic != "rewritten" || *m.QoS != 1 || string(m.Payload) != "new" || !*m.Retain {
		t.Fatalf("publish modifiers: %+v %+v", d, m)
	}

	d, ts := p.AuthOnSubscribe(ctx, c, []auth.Topic{{Filter: "a/b", QoS: 2}})
	if d.Result != auth.OK || len(ts) != 2 || ts[0] != (auth.Topic{Filter: "a/b", QoS: 1}) || ts[1].QoS != auth.CodeSubRejected {
		t.Fatalf("subscribe: %+v %v", d, ts)
	}
	_, body, _ = h.last()
	if tl, _ := body["topics"].([]any); len(tl) != 1 {
		t.Fatalf("subscribe body %v", body)
	}
	c5 := *c
	c5.ProtocolVersion = 5
	d, ts = p.AuthOnSubscribe(ctx, &c5, []auth.Topic{{Filter: "q"}})
	if d.Result != auth.OK || len(ts) != 1 || ts[0] != (auth.Topic{Filter: "x/y", QoS: 2}) {
		t.Fatalf("subscribe m5: %+v %v", d, ts)
	}
	if hook, _, _ := h.last(); hook != "auth_on_subscribe_m5" {
		t.Fatalf("v5 subscribe used hook %s", hook)
	}
}

func TestRunTimeRegistrationAndTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	h := &hookServer{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := newPlugin(t, srv.URL)
	ctx := context.Background()
	c := &auth.Client{ClientID: "c1", Username: "x", ProtocolVersion: 4}
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "allowed"}); d.Result != auth.Next {
		t.Fatalf("no endpoint: %+v", d)
	}
	if err := p.Add(Endpoint{Hook: "auth_on_publish", URL: srv.URL, Base64: false}); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(Endpoint{Hook: "auth_on_publish", URL: srv.URL}); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	if err := p.Add(Endpoint{Hook: "on_message_drop", URL: srv.URL}); err == nil {
		t.Fatal("unsupported hook accepted")
	}
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "allowed", Payload: []byte("raw")}); d.Result != auth.OK {
		t.Fatalf("after Add: %+v", d)
	}
	if _, body, _ := h.last(); body["payload"] != "raw" {
		t.Fatalf("base64encode off: payload %v", body["payload"])
	}
	if !p.Remove("auth_on_publish", srv.URL) {
		t.Fatal("Remove failed")
	}
	if err := p.Add(Endpoint{Hook: "auth_on_publish", URL: slow.URL, ResponseTimeout: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if d, _ := p.AuthOnPublish(ctx, c, &auth.Publish{Topic: "allowed"}); d.Result != auth.Error {
		t.Fatalf("timeout must fail closed: %+v", d)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("response_timeout not applied: took %v", el)
	}
}

func TestNotification(t *testing.T) {
	h := &hookServer{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := newPlugin(t, srv.URL, "on_client_gone", "on_publish")
	p.OnClientGone(context.Background(), auth.SubscriberID{Mountpoint: "m", ClientID: "c"})
	hook, body, _ := h.last()
	if hook != "on_client_gone" || body["client_id"] != "c" || body["mountpoint"] != "m" {
		t.Fatalf("on_client_gone: %s %v", hook, body)
	}
	p.OnPublish(context.Background(), &auth.Client{ClientID: "c", ProtocolVersion: 4}, &auth.Publish{Topic: "t", Payload: []byte("p")})
	if hook, body, _ = h.last(); hook != "on_publish" || body["payload"] != "cA==" || body["username"] != nil {
		t.Fatalf("on_publish: %s %v", hook, body)
	}
}

func TestMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "max-age=": 0, "max-age=x": 0,
		"  max-age=45,sthelse": 45 * time.Second, "max-age=45": 45 * time.Second} {
		if got := maxAge(in); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", in, got, want)
		}
	}
}

// VerneMQ's property encoding: p_* names, user properties and auth data in base64.
func TestPropertiesEncoding(t *testing.T) {
	one, exp := byte(1), uint32(60)
	in := &packets.Properties{PayloadFormat: &one, SessionExpiry: &exp, ContentType: "ct", CorrelationData: []byte("cd"),
		AuthMethod: "SCRAM", AuthData: []byte("ad"), SubscriptionIDs: []uint32{1, 2},
		User: []packets.UserProperty{{Key: "k1", Value: "v1"}, {Key: "k1", Value: "v2"}}}
	b, _ := json.Marshal(encodeProps(in))
	want := `{"p_authentication_data":"YWQ=","p_authentication_method":"SCRAM","p_content_type":"ct","p_correlation_data":"cd",` +
		`"p_payload_format_indicator":"utf8","p_session_expiry_interval":60,"p_subscription_id":[1,2],` +
		`"p_user_property":[{"key":"azE=","val":"djE="},{"key":"azE=","val":"djI="}]}`
	if string(b) != want {
		t.Fatalf("encodeProps:\n got %s\nwant %s", b, want)
	}
	if b, _ := json.Marshal(encodeProps(nil)); string(b) != "{}" {
		t.Fatalf("no properties: %s, want {}", b)
	}
	p, err := decodeProps("auth_on_publish_m5", json.RawMessage(`{"p_user_property":[{"key":"azE=","val":"djE="}],`+
		`"p_payload_format_indicator":"utf8","p_content_type":"x","p_message_expiry_interval":5}`))
	if err != nil || len(p.User) != 1 || p.User[0] != (packets.UserProperty{Key: "k1", Value: "v1"}) ||
		*p.PayloadFormat != 1 || p.ContentType != "x" || *p.MessageExpiry != 5 {
		t.Fatalf("decodeProps: %+v %v", p, err)
	}
	// Each hook allows its own set, as vmq_plugin_util:check_modifiers.
	for _, bad := range []struct{ hook, props string }{
		{"on_deliver_m5", `{"p_message_expiry_interval":5}`},
		{"auth_on_publish_m5", `{"p_session_expiry_interval":5}`},
		{"auth_on_publish_m5", `{"p_user_property":[{"key":"not base64!","val":"djE="}]}`},
		{"auth_on_publish_m5", `{"p_payload_format_indicator":"latin1"}`},
	} {
		if _, err := decodeProps(bad.hook, json.RawMessage(bad.props)); err == nil {
			t.Errorf("%s accepted %s", bad.hook, bad.props)
		}
	}
	if _, err := publishModifiers("on_deliver", json.RawMessage(`{"qos":1}`), true); err == nil {
		t.Error("on_deliver accepted a qos modifier (VerneMQ allows topic and payload only)")
	}
	if _, err := publishModifiers("on_deliver", json.RawMessage(`{"properties":{}}`), true); err == nil {
		t.Error("on_deliver (v3) accepted properties")
	}
}

func TestUnsubscribeRewrite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("vernemq-hook") {
		case "on_unsubscribe":
			io.WriteString(w, `{"result":"ok","topics":["rewritten/topic","another/#"]}`)
		case "on_unsubscribe_m5":
			io.WriteString(w, `{"result":"ok","modifiers":{"topics":["rewritten/topic"]}}`)
		}
	}))
	defer srv.Close()
	p := newPlugin(t, srv.URL, "on_unsubscribe", "on_unsubscribe_m5")
	d, fs := p.OnUnsubscribe(context.Background(), &auth.Client{ClientID: "c", ProtocolVersion: 4}, []string{"a/b"})
	if d.Result != auth.OK || strings.Join(fs, ",") != "rewritten/topic,another/#" {
		t.Fatalf("on_unsubscribe: %+v %v", d, fs)
	}
	d, fs = p.OnUnsubscribe(context.Background(), &auth.Client{ClientID: "c", ProtocolVersion: 5}, []string{"a/b"})
	if d.Result != auth.OK || strings.Join(fs, ",") != "rewritten/topic" {
		t.Fatalf("on_unsubscribe_m5: %+v %v", d, fs)
	}
}
