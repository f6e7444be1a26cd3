package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/config"
)

// vmqHookService is a webhook service written from VerneMQ's webhook docs and its
// vmq_webhooks test handler: it keeps every body per hook and answers as a user's service
// would, rewriting what the docs show can be rewritten.
type vmqHookService struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any // hook -> bodies in arrival order
	order  []string                    // "<hook> <client_id>"
}

func newVmqHookService(t *testing.T) (*vmqHookService, string) {
	s := &vmqHookService{bodies: map[string][]map[string]any{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *vmqHookService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hook := r.Header.Get("vernemq-hook")
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Method != http.MethodPost ||
		r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies[hook] = append(s.bodies[hook], body)
	cid, _ := body["client_id"].(string)
	s.order = append(s.order, hook+" "+cid)
	s.mu.Unlock()
	switch hook {
	case "auth_on_publish_m5":
		if body["topic"] == "props/in" {
			// Replace the message's properties (VerneMQ's "properties" modifier).
			io.WriteString(w, `{"result":"ok","modifiers":{"properties":{"p_content_type":"text/rewritten",`+
				`"p_user_property":[{"key":"`+b64s("from")+`","val":"`+b64s("hook")+`"}]}}}`)
			return
		}
		io.WriteString(w, `{"result":"ok"}`)
	case "on_unsubscribe":
		if ts, _ := body["topics"].([]any); len(ts) == 1 && ts[0] == "alias/3" {
			io.WriteString(w, `{"result":"ok","topics":["real/3"]}`)
			return
		}
		io.WriteString(w, `{"result":"ok"}`)
	case "on_unsubscribe_m5":
		if ts, _ := body["topics"].([]any); len(ts) == 1 && ts[0] == "alias/5" {
			io.WriteString(w, `{"result":"ok","modifiers":{"topics":["real/5"]}}`)
			return
		}
		io.WriteString(w, `{"result":"ok"}`)
	case "auth_on_register", "auth_on_register_m5", "auth_on_publish", "auth_on_subscribe", "auth_on_subscribe_m5":
		io.WriteString(w, `{"result":"ok"}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func b64s(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (s *vmqHookService) last(hook, clientID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs := s.bodies[hook]
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i]["client_id"] == clientID {
			return bs[i]
		}
	}
	return nil
}

func (s *vmqHookService) seen(entry string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.order, entry)
}

// vmqHooks is VerneMQ 2.2's list of webhook hooks (vmq_webhooks.schema, `webhooks register`).
var vmqHooks = []string{"auth_on_register", "auth_on_publish", "auth_on_subscribe", "on_register", "on_publish",
	"on_subscribe", "on_unsubscribe", "on_deliver", "on_offline_message", "on_client_wakeup", "on_client_offline",
	"on_client_gone", "on_session_expired", "auth_on_register_m5", "auth_on_publish_m5", "auth_on_subscribe_m5",
	"on_register_m5", "on_publish_m5", "on_subscribe_m5", "on_unsubscribe_m5", "on_deliver_m5", "on_auth_m5"}

// webhookConf registers url for each hook as conf blocks.
func webhookConf(url string, hooks ...string) []string {
	lines := []string{"plugins.vmq_webhooks = on", "plugins.vmq_webhooks.priority = 1"} // asked before vmq_acl
	for _, h := range hooks {
		lines = append(lines, "vmq_webhooks.w_"+h+".hook = "+h, "vmq_webhooks.w_"+h+".endpoint = "+url)
	}
	return lines
}

// `config check` and `console` agree: every hook VerneMQ has is valid in the conf and
// the node starts with an endpoint registered for each of them.
func TestWebhooksEveryVerneMQHookStarts(t *testing.T) {
	_, url := newVmqHookService(t)
	conf := strings.Join(webhookConf(url, vmqHooks...), "\n")
	if _, _, err := config.Parse(strings.NewReader(conf), "check.conf", nil); err != nil {
		t.Fatalf("config check refuses VerneMQ's hooks: %v", err)
	}
	if _, _, err := config.Parse(strings.NewReader("vmq_webhooks.x.hook = on_bogus\nvmq_webhooks.x.endpoint = "+url), "bad.conf", nil); err == nil {
		t.Fatal("config check accepted an unknown hook")
	}
	n, _ := startNode(t, webhookConf(url, vmqHooks...)...)
	res := adminCall(t, n, "webhooks show")
	if len(res.Rows) != len(vmqHooks) {
		t.Fatalf("webhooks show lists %d endpoints, want %d: %+v", len(res.Rows), len(vmqHooks), res.Rows)
	}
}

// The bodies of the MQTT 5 hooks carry the packets' properties with VerneMQ's names;
// on_unsubscribe(_m5) rewrites the filters; on_client_gone is for clean sessions only
// and on_client_offline for persistent ones only.
func TestWebhooksBodiesAndRewritesAsVerneMQ(t *testing.T) {
	svc, url := newVmqHookService(t)
	n, addr := startNode(t, webhookConf(url, "auth_on_register", "auth_on_register_m5", "auth_on_publish",
		"auth_on_publish_m5", "auth_on_subscribe", "auth_on_subscribe_m5", "on_register_m5", "on_publish_m5",
		"on_subscribe_m5", "on_unsubscribe", "on_unsubscribe_m5", "on_client_gone", "on_client_offline")...)
	if res := adminCall(t, n, "set allow_anonymous=off"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	expiry := uint32(60)
	sub, _ := dialV5Opts(t, addr, "sub5", false, &paho.ConnectProperties{SessionExpiryInterval: &expiry,
		User: paho.UserProperties{{Key: "k1", Value: "v1"}}})
	eventually.True(t, eventually.Wait, "on_register_m5", func() bool { return svc.last("on_register_m5", "sub5") != nil })
	for _, b := range []map[string]any{svc.last("auth_on_register_m5", "sub5"), svc.last("on_register_m5", "sub5")} {
		props, _ := b["properties"].(map[string]any)
		ups, _ := props["p_user_property"].([]any)
		if props["p_session_expiry_interval"] != float64(60) || len(ups) != 1 ||
			ups[0].(map[string]any)["key"] != "azE=" || ups[0].(map[string]any)["val"] != "djE=" || b["clean_start"] == true {
			t.Fatalf("register body %v: want p_session_expiry_interval 60 and p_user_property [{azE=, djE=}]", b)
		}
	}

	subID := 7
	if _, err := sub.c.Subscribe(ctx, &paho.Subscribe{Properties: &paho.SubscribeProperties{SubscriptionIdentifier: &subID},
		Subscriptions: []paho.SubscribeOptions{{Topic: "props/#", QoS: 1, NoLocal: true, RetainHandling: 2},
			{Topic: "real/#", QoS: 0}, {Topic: "alias/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	b := svc.last("auth_on_subscribe_m5", "sub5")
	ts, _ := b["topics"].([]any)
	props, _ := b["properties"].(map[string]any)
	if len(ts) != 3 || props == nil || !slices.Equal(props["p_subscription_id"].([]any), []any{float64(7)}) {
		t.Fatalf("auth_on_subscribe_m5 body %v", b)
	}
	if t0 := ts[0].(map[string]any); t0["topic"] != "props/#" || t0["qos"] != float64(1) || t0["no_local"] != true ||
		t0["rap"] != false || t0["retain_handling"] != "dont_send" {
		t.Fatalf("auth_on_subscribe_m5 topic %v", t0)
	}
	eventually.True(t, eventually.Wait, "on_subscribe_m5", func() bool { return svc.last("on_subscribe_m5", "sub5") != nil })

	pub, _ := dialV5(t, addr, "pub5", nil)
	if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: "props/in", QoS: 1, Payload: []byte("x"),
		Properties: &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "a", Value: "b"}}}}); err != nil {
		t.Fatal(err)
	}
	b = svc.last("auth_on_publish_m5", "pub5")
	props, _ = b["properties"].(map[string]any)
	if props["p_content_type"] != "text/plain" || b["payload"] != "eA==" {
		t.Fatalf("auth_on_publish_m5 body %v", b)
	}
	eventually.True(t, eventually.Wait, "message with rewritten properties", func() bool { return len(sub.received()) == 1 })
	got := sub.received()[0]
	if got.Properties == nil || got.Properties.ContentType != "text/rewritten" || len(got.Properties.User) != 1 ||
		got.Properties.User[0] != (paho.UserProperty{Key: "from", Value: "hook"}) {
		t.Fatalf("delivered properties %+v, want the hook's (content type text/rewritten, user from=hook)", got.Properties)
	}
	eventually.True(t, eventually.Wait, "on_publish_m5", func() bool { return svc.last("on_publish_m5", "pub5") != nil })
	if p, _ := svc.last("on_publish_m5", "pub5")["properties"].(map[string]any); p["p_content_type"] != "text/rewritten" {
		t.Fatalf("on_publish_m5 properties %v, want the authorized message's", p)
	}

	// on_unsubscribe_m5 rewrites "alias/5" to "real/5": real/# stays, the rewritten filter is gone.
	if _, err := sub.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"alias/5"},
		Properties: &paho.UnsubscribeProperties{User: paho.UserProperties{{Key: "k1", Value: "v1"}}}}); err != nil {
		t.Fatal(err)
	}
	b = svc.last("on_unsubscribe_m5", "sub5")
	if ups, _ := b["properties"].(map[string]any)["p_user_property"].([]any); len(ups) != 1 || !slices.Equal(b["topics"].([]any), []any{"alias/5"}) {
		t.Fatalf("on_unsubscribe_m5 body %v", b)
	}
	s := n.Broker.Session(idOf("sub5"))
	if !s.HasSub("alias/#") || !s.HasSub("real/#") || s.HasSub("real/5") {
		t.Fatalf("after a rewritten unsubscribe the session has alias/# %v real/# %v", s.HasSub("alias/#"), s.HasSub("real/#"))
	}
	if _, err := sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "real/5"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{"alias/5"}}); err != nil {
		t.Fatal(err)
	}
	if s.HasSub("real/5") || !s.HasSub("alias/#") {
		t.Fatal("on_unsubscribe_m5's rewrite (alias/5 -> real/5) was not applied")
	}

	// v3: on_unsubscribe with "topics" at the top level.
	c3 := v3(t, addr, "c3", true)
	c3.Subscribe("real/3", 0, nil).WaitTimeout(5 * time.Second)
	c3.Unsubscribe("alias/3").WaitTimeout(5 * time.Second)
	if b := svc.last("on_unsubscribe", "c3"); b == nil || !slices.Equal(b["topics"].([]any), []any{"alias/3"}) || b["properties"] != nil {
		t.Fatalf("on_unsubscribe body %v", b)
	}
	if n.Broker.Session(idOf("c3")).HasSub("real/3") {
		t.Fatal("on_unsubscribe's rewrite (alias/3 -> real/3) was not applied")
	}

	// A clean session ends: on_client_gone only. Then a persistent one: on_client_offline only.
	c3.Disconnect(50)
	eventually.True(t, eventually.Wait, "on_client_gone c3", func() bool { return svc.seen("on_client_gone c3") })
	p3 := v3(t, addr, "p3", false)
	p3.Disconnect(50)
	eventually.True(t, eventually.Wait, "on_client_offline p3", func() bool { return svc.seen("on_client_offline p3") })
	// Notifications run in order on one worker: had c3's offline or p3's gone been sent,
	// it would have arrived before p3's offline.
	if svc.seen("on_client_offline c3") || svc.seen("on_client_gone p3") {
		t.Fatalf("a session was reported both gone and offline: %v", svc.order)
	}
}

// deliverService answers on_deliver(_m5) as VerneMQ's docs show: rewrite topic and payload
// (and, for _m5, the properties) of every message on "in/#".
type deliverService struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
}

func (s *deliverService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	hook := r.Header.Get("vernemq-hook")
	s.mu.Lock()
	s.bodies[hook] = append(s.bodies[hook], body)
	s.mu.Unlock()
	switch hook {
	case "on_deliver":
		io.WriteString(w, `{"result":"ok","modifiers":{"topic":"rewritten/3","payload":"`+b64s("new3")+`"}}`)
	case "on_deliver_m5":
		io.WriteString(w, `{"result":"ok","modifiers":{"topic":"rewritten/5","payload":"`+b64s("new5")+`",`+
			`"properties":{"p_content_type":"hooked","p_user_property":[{"key":"`+b64s("k")+`","val":"`+b64s("v")+`"}]}}}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func (s *deliverService) calls(hook string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies[hook])
}

// on_deliver and on_deliver_m5 registered at run time rewrite each delivery (VerneMQ's
// modifiers: topic, payload, and the properties for MQTT 5); deregistered, they are not called.
func TestWebhooksOnDeliver(t *testing.T) {
	n, addr := startNode(t, "plugins.vmq_webhooks = on")
	svc := &deliverService{bodies: map[string][]map[string]any{}}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	for _, h := range []string{"on_deliver", "on_deliver_m5"} {
		if res := adminCall(t, n, "webhooks register hook="+h+" endpoint="+srv.URL); res.Type != "text" {
			t.Fatalf("register %s: %+v", h, res)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var mu sync.Mutex
	var got3 []string
	// The default handler: paho routes by topic, and the hook's topic matches no subscription.
	s3 := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("s3").SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			mu.Lock()
			got3 = append(got3, m.Topic()+" "+string(m.Payload()))
			mu.Unlock()
		}))
	if tok := s3.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect s3: %v", tok.Error())
	}
	defer s3.Disconnect(0)
	s3.Subscribe("in/#", 1, nil).WaitTimeout(5 * time.Second)
	s5, _ := dialV5(t, addr, "s5", nil)
	if _, err := s5.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "in/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dialV5(t, addr, "pub", nil)
	if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: "in/1", QoS: 1, Payload: []byte("old"),
		Properties: &paho.PublishProperties{ContentType: "orig"}}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "rewritten deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got3) == 1 && len(s5.received()) == 1
	})
	if got3[0] != "rewritten/3 new3" {
		t.Fatalf("v3 subscriber got %q, want on_deliver's topic and payload", got3[0])
	}
	m5 := s5.received()[0]
	if m5.Topic != "rewritten/5" || string(m5.Payload) != "new5" || m5.Properties.ContentType != "hooked" ||
		len(m5.Properties.User) != 1 || m5.Properties.User[0] != (paho.UserProperty{Key: "k", Value: "v"}) {
		t.Fatalf("v5 subscriber got %s %q %+v, want on_deliver_m5's topic, payload and properties", m5.Topic, m5.Payload, m5.Properties)
	}
	b3, b5 := svc.calls("on_deliver"), svc.calls("on_deliver_m5")
	if len(b3) != 1 || len(b5) != 1 {
		t.Fatalf("on_deliver called %d times, on_deliver_m5 %d, want 1 each", len(b3), len(b5))
	}
	want := map[string]any{"username": nil, "mountpoint": "", "client_id": "s5", "qos": float64(1), "topic": "in/1",
		"payload": b64s("old"), "retain": false}
	for k, v := range want {
		if b5[0][k] != v {
			t.Fatalf("on_deliver_m5 body[%s] = %v, want %v (body %v)", k, b5[0][k], v, b5[0])
		}
	}
	if p, _ := b5[0]["properties"].(map[string]any); p["p_content_type"] != "orig" {
		t.Fatalf("on_deliver_m5 properties %v", b5[0]["properties"])
	}

	for _, h := range []string{"on_deliver", "on_deliver_m5"} {
		if res := adminCall(t, n, "webhooks deregister hook="+h+" endpoint="+srv.URL); res.Type != "text" {
			t.Fatalf("deregister %s: %+v", h, res)
		}
	}
	if _, err := pub.c.Publish(ctx, &paho.Publish{Topic: "in/2", QoS: 1, Payload: []byte("plain")}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, eventually.Wait, "deliveries after deregister", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got3) == 2 && len(s5.received()) == 2
	})
	if got3[1] != "in/2 plain" || s5.received()[1].Topic != "in/2" || len(svc.calls("on_deliver"))+len(svc.calls("on_deliver_m5")) != 2 {
		t.Fatalf("after deregister: v3 got %q, v5 got %s, service called %d times", got3[1], s5.received()[1].Topic,
			len(svc.calls("on_deliver"))+len(svc.calls("on_deliver_m5")))
	}
}
