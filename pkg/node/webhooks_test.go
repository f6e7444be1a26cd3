package node

import (
	"encoding/json"
	"github.com/vernemq-go/vernemq/internal/eventually"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// hookRecorder is a real webhook endpoint: it records each call and refuses client "blocked".
type hookRecorder struct {
	mu    sync.Mutex
	calls []string // "<hook> <client_id>"
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.calls = append(h.calls, r.Header.Get("vernemq-hook")+" "+body.ClientID)
	h.mu.Unlock()
	if body.ClientID == "blocked" {
		w.Write([]byte(`{"result":{"error":"not_allowed"}}`))
		return
	}
	w.Write([]byte(`{"result":"ok"}`))
}

func (h *hookRecorder) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// tryConnect connects a v3.1.1 client and reports the connect error, if any.
func tryConnect(t *testing.T, addr, id string) error {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4)) // 4 only: paho retries a refused 3.1.1 CONNECT as 3.1
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("connect %s: no CONNACK within 5s", id)
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(0) })
	}
	return tok.Error()
}

func TestWebhooksRegisterAtRunTime(t *testing.T) {
	n, addr := startNode(t, "plugins.vmq_webhooks = on")
	// allow_anonymous = on would accept clients without asking any plugin.
	if res := adminCall(t, n, "set allow_anonymous=off"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	rec := &hookRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	if res := adminCall(t, n, "webhooks show"); res.Type != "table" || len(res.Rows) != 0 {
		t.Fatalf("show before register: %+v", res)
	}
	if res := adminCall(t, n, "webhooks register hook=auth_on_register endpoint="+srv.URL+" --response_timeout=2000"); res.Type != "text" {
		t.Fatalf("register: %+v", res)
	}
	res := adminCall(t, n, "webhooks show")
	if len(res.Rows) != 1 || strings.Join(res.Rows[0], " ") != "auth_on_register "+srv.URL+" true 2000" {
		t.Fatalf("show: %+v", res)
	}

	if err := tryConnect(t, addr, "allowed"); err != nil {
		t.Fatalf("allowed client refused: %v", err)
	}
	if err := tryConnect(t, addr, "blocked"); err == nil {
		t.Fatal("client blocked by the webhook was accepted")
	}
	if got := strings.Join(rec.seen(), ","); got != "auth_on_register allowed,auth_on_register blocked" {
		t.Fatalf("endpoint saw %q", got)
	}

	if res := adminCall(t, n, "webhooks deregister hook=auth_on_register endpoint="+srv.URL); res.Type != "text" {
		t.Fatalf("deregister: %+v", res)
	}
	if res := adminCall(t, n, "webhooks show"); len(res.Rows) != 0 {
		t.Fatalf("show after deregister: %+v", res)
	}
	// No plugin authenticates now: the client is refused and the endpoint hears nothing.
	if err := tryConnect(t, addr, "allowed"); err == nil {
		t.Fatal("after deregister a client was accepted with no auth_on_register plugin")
	}
	if got := len(rec.seen()); got != 2 {
		t.Fatalf("endpoint called %d times, want 2 (none after deregister): %v", got, rec.seen())
	}
	if res := adminCall(t, n, "webhooks cache show"); len(res.Rows) != 1 || res.Rows[0][0] != "entries" {
		t.Fatalf("cache show: %+v", res)
	}
}

func TestWebhooksCommandsWithPluginOff(t *testing.T) {
	n, _ := startNode(t)
	res := adminCall(t, n, "webhooks register hook=auth_on_register endpoint=http://127.0.0.1:1/")
	if res.Type != "error" || !strings.Contains(res.Error, "plugins.vmq_webhooks = on") {
		t.Fatalf("register with the plugin off: %+v", res)
	}
}

// The router's events reach the notification hooks of the plugin chain (here webhooks):
// on_client_wakeup, on_offline_message and on_client_gone.
func TestNotificationHooksReachPlugins(t *testing.T) {
	n, addr := startNode(t, "plugins.vmq_webhooks = on")
	rec := &hookRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, h := range []string{"on_client_wakeup", "on_offline_message", "on_client_gone"} {
		if res := adminCall(t, n, "webhooks register hook="+h+" endpoint="+srv.URL); res.Type != "text" {
			t.Fatalf("register %s: %+v", h, res)
		}
	}
	sub := v3(t, addr, "sleepy", false)
	sub.Subscribe("n/#", 1, nil).WaitTimeout(5 * time.Second)
	sub.Disconnect(50)
	eventually.True(t, eventually.Wait, "offline", func() bool { s := n.Broker.Session(idOf("sleepy")); return s != nil && !s.Online() })
	pub := v3(t, addr, "waker", true)
	pub.Publish("n/1", 1, false, "m").WaitTimeout(5 * time.Second)
	pub.Disconnect(50) // a clean session ends: on_client_gone
	want := []string{"on_client_wakeup sleepy", "on_offline_message sleepy", "on_client_gone waker"}
	eventually.True(t, eventually.Wait, "notification webhooks", func() bool {
		seen := strings.Join(rec.seen(), "\n")
		for _, w := range want {
			if !strings.Contains(seen, w) {
				return false
			}
		}
		return true
	})
}

// A publish whose auth_on_publish webhook is slow must not hold back deliveries to the
// publishing client meanwhile: its reader does not keep the session corked across the call.
func TestSlowAuthHookDoesNotDelayDeliveries(t *testing.T) {
	const hookDelay = time.Second
	called := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Topic string `json:"topic"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.Topic == "slow" {
			called <- struct{}{}
			time.Sleep(hookDelay) // the slow service this test is about
		}
		w.Write([]byte(`{"result":"ok"}`))
	}))
	defer slow.Close()
	n, addr := startNode(t, "plugins.vmq_webhooks = on", "plugins.vmq_acl = off")
	for _, hook := range []string{"auth_on_publish", "auth_on_subscribe"} {
		if res := adminCall(t, n, "webhooks register hook="+hook+" endpoint="+slow.URL+" --response_timeout=5000"); res.Type != "text" {
			t.Fatalf("register %s: %+v", hook, res)
		}
	}
	got := make(chan time.Time, 1)
	a := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("a").SetProtocolVersion(4).
		SetAutoReconnect(false))
	if tok := a.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect a: %v", tok.Error())
	}
	defer a.Disconnect(0)
	if tok := a.Subscribe("t", 0, func(mqtt.Client, mqtt.Message) { got <- time.Now() }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	b := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("b").SetProtocolVersion(4).
		SetAutoReconnect(false))
	if tok := b.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect b: %v", tok.Error())
	}
	defer b.Disconnect(0)
	a.Publish("slow", 1, false, "x") // its auth_on_publish takes hookDelay
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("auth_on_publish webhook not called")
	}
	sent := time.Now()
	b.Publish("t", 0, false, "y")
	select {
	case at := <-got:
		if d := at.Sub(sent); d > hookDelay/2 {
			t.Fatalf("delivery to a took %v while its own publish waited for auth_on_publish", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery to a")
	}
}
