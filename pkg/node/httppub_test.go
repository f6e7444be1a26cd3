package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

// restAuth is the auth service behind the REST publishes (a webhook): user u with password
// p may log in; nobody may publish to forbidden/#.
func restAuth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body := string(b)
		switch r.Header.Get("vernemq-hook") {
		case "auth_on_register":
			if strings.Contains(body, `"username":"u"`) && strings.Contains(body, `"password":"p"`) {
				io.WriteString(w, `{"result":"ok"}`)
				return
			}
			io.WriteString(w, `{"result":{"error":"invalid_credentials"}}`)
		case "auth_on_publish":
			if strings.Contains(body, `"topic":"forbidden/`) {
				io.WriteString(w, `{"result":{"error":"not_allowed"}}`)
				return
			}
			io.WriteString(w, `{"result":"ok"}`)
		}
	})
}

// curl runs the real curl and returns the status code and the body.
func curl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-s", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscan(s[i+1:], &code)
	return code, s[:i]
}

// vmq_http_pub with curl and real subscribers: the three request forms, base64 payloads,
// user properties, the API key, on-behalf-of and predefined auth, the mountpoint, clear
// 4xx answers, and the three metrics.
func TestHTTPPub(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatal("curl is not installed (scripts/install-test-deps.sh installs it)")
		}
		t.Skip("curl is not installed")
	}
	hooks := httptest.NewServer(restAuth())
	defer hooks.Close()
	pubPort, prePort, mpPort := testnode.FreePort(t), testnode.FreePort(t), testnode.FreePort(t)
	n, addr := startNode(t,
		"plugins.vmq_http_pub = on",
		"plugins.vmq_webhooks = on", "plugins.vmq_webhooks.priority = 1",
		"vmq_webhooks.reg.hook = auth_on_register", "vmq_webhooks.reg.endpoint = "+hooks.URL,
		"vmq_webhooks.pub.hook = auth_on_publish", "vmq_webhooks.pub.endpoint = "+hooks.URL,
		fmt.Sprintf("listener.http.pub = 127.0.0.1:%d", pubPort),
		"listener.http.pub.http_modules = vmq_http_pub",
		fmt.Sprintf("listener.http.pre = 127.0.0.1:%d", prePort),
		"listener.http.pre.http_modules = vmq_http_pub,vmq_metrics_http",
		"listener.http.pre.http_modules.vmq_http_pub.mqtt_auth.mode = predefined",
		"listener.http.pre.http_modules.vmq_http_pub.mqtt_auth.user = u",
		"listener.http.pre.http_modules.vmq_http_pub.mqtt_auth.password = p",
		"listener.http.pre.http_modules.vmq_http_pub.mqtt_auth.client_id = rest-pre",
		"listener.http.pre.http_modules.vmq_http_pub.mountpoint = mp1",
		fmt.Sprintf("listener.tcp.mp = 127.0.0.1:%d", mpPort),
		"listener.tcp.mp.mountpoint = mp1",
	)
	key := adminCall(t, n, "api-key create scope=httppub").Text
	mgmtKey := adminCall(t, n, "api-key create scope=mgmt").Text
	url := fmt.Sprintf("http://127.0.0.1:%d/restmqtt/api/v1/publish", pubPort)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, _ := dialV5(t, addr, "watcher", nil) // before allow_anonymous goes off
	if _, err := sub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "rest/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	mpSub, _ := dialV5(t, fmt.Sprintf("127.0.0.1:%d", mpPort), "mp-watcher", nil)
	if _, err := mpSub.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "rest/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	// The REST identity goes through the auth hooks, as a client's would.
	if res := adminCall(t, n, "set allow_anonymous=off"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	creds := `"client_id":"rest-1","user":"u","password":"p"`
	for _, c := range []struct {
		what string
		args []string
		code int
		text string
	}{
		{"JSON body, base64 payload, user properties", []string{"-X", "POST", "-u", key + ":", "-H", "content-type: application/json",
			"-d", `{"topic":"rest/json","qos":1,"retain":false,"payload":"aGk=","user_properties":[{"a":"b"}],` + creds + `}`,
			url + "?encoding=base64"}, 200, "Published"},
		{"headers, PUT, x-api-key", []string{"-X", "PUT", "-H", "x-api-key: " + key, "-H", "topic: rest/hdr", "-H", "qos: 0",
			"-H", "client_id: rest-1", "-H", "user: u", "-H", "password: p", "-H", `user_properties: {"h":"v"}`,
			"--data-binary", "raw body", url}, 200, "Published"},
		{"query string", []string{"-u", key + ":", "--data-binary", "qbody",
			url + "?topic=rest/q&qos=1&retain=false&client_id=rest-1&user=u&password=p"}, 200, "Published"},

		{"no API key", []string{"-d", `{"topic":"rest/x","payload":"x"}`, url}, 401, "API key"},
		{"API key of another scope", []string{"-u", mgmtKey + ":", "-d", `{"topic":"rest/x","payload":"x"}`, url}, 401, "API key"},
		{"wrong password", []string{"-u", key + ":", "-d", `{"topic":"rest/x","payload":"x","client_id":"c","user":"u","password":"no"}`, url},
			401, "Authentication failure."},
		{"publish refused by auth_on_publish", []string{"-u", key + ":", "-d", `{"topic":"forbidden/x","payload":"x",` + creds + `}`, url},
			403, "Authorization failure."},
		{"qos 3", []string{"-u", key + ":", "-d", `{"topic":"rest/x","qos":3,"payload":"x",` + creds + `}`, url}, 400, "Invalid QoS value"},
		{"retain not a boolean", []string{"-u", key + ":", "-d", `{"topic":"rest/x","retain":"yes","payload":"x"}`, url}, 400, "Invalid retain flag"},
		{"not JSON", []string{"-u", key + ":", "-d", `{"topic":`, url}, 400, "Content is not a valid json"},
		{"$ topic", []string{"-u", key + ":", "-d", `{"topic":"$SYS/x","payload":"x",` + creds + `}`, url}, 400, "Invalid topic"},
		{"wildcard topic", []string{"-u", key + ":", "-d", `{"topic":"rest/#","payload":"x",` + creds + `}`, url}, 400, "Invalid topic"},
		{"no payload", []string{"-u", key + ":", "-d", `{"topic":"rest/x"}`, url}, 400, "payload"},
		{"header and query", []string{"-u", key + ":", "-H", "topic: rest/a", "-d", "x", url + "?topic=rest/b"}, 400, "header as well as url-encoded"},
		{"unknown query parameter", []string{"-u", key + ":", "-d", `{"topic":"rest/x","payload":"x"}`, url + "?foo=1"}, 400, "No more URL parameters"},
		{"bad encoding", []string{"-u", key + ":", "-d", `{"topic":"rest/x","payload":"x"}`, url + "?encoding=hex"}, 400, "Unknown payload encoding"},
		{"payload not base64", []string{"-u", key + ":", "-d", `{"topic":"rest/x","payload":"!!",` + creds + `}`, url + "?encoding=base64"},
			400, "not base64"},
		{"GET", []string{"-u", key + ":", url}, 405, "POST or PUT"},

		{"predefined identity, listener mountpoint", []string{"-u", key + ":", "-d", `{"topic":"rest/pre","payload":"m"}`,
			fmt.Sprintf("http://127.0.0.1:%d/restmqtt/api/v1/publish", prePort)}, 200, "Published"},
	} {
		code, body := curl(t, c.args...)
		if code != c.code || !strings.Contains(body, c.text) {
			t.Errorf("%s: %d %q, want %d with %q", c.what, code, body, c.code, c.text)
		}
	}

	eventually.True(t, eventually.Wait, "the three REST publishes", func() bool { return len(sub.received()) == 3 })
	got := map[string]*paho.Publish{}
	for _, p := range sub.received() {
		got[p.Topic] = p
	}
	if p := got["rest/json"]; p == nil || string(p.Payload) != "hi" || p.QoS != 1 || len(p.Properties.User) != 1 ||
		p.Properties.User[0] != (paho.UserProperty{Key: "a", Value: "b"}) {
		t.Errorf("JSON publish arrived as %+v", p)
	}
	if p := got["rest/hdr"]; p == nil || string(p.Payload) != "raw body" || p.QoS != 0 || len(p.Properties.User) != 1 {
		t.Errorf("header publish arrived as %+v", p)
	}
	if p := got["rest/q"]; p == nil || string(p.Payload) != "qbody" || p.QoS != 1 {
		t.Errorf("query publish arrived as %+v", p)
	}
	eventually.True(t, eventually.Wait, "the predefined publish in mountpoint mp1", func() bool { return len(mpSub.received()) == 1 })
	if p := mpSub.received()[0]; p.Topic != "rest/pre" || string(p.Payload) != "m" {
		t.Errorf("mountpoint subscriber got %s %q", p.Topic, p.Payload)
	}
	// The GET is refused before the module runs (405), uncounted as in VerneMQ (cowboy's allowed_methods).
	for name, want := range map[string]float64{"http_pub_published": 4, "http_pub_auth_error": 4, "http_pub_api_error": 10} {
		if v := metric(n, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if code, body := curl(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", prePort)); code != 200 ||
		!strings.Contains(body, "vernemq_http_pub_published") {
		t.Errorf("/metrics lacks vernemq_http_pub_published: %d", code)
	}
}

// BenchmarkHTTPPub: REST publishes per second through vmq_http_pub (JSON body, QoS 0, API
// key checked, allow_anonymous on so no auth hook), 4 keep-alive clients in parallel, with
// one MQTT subscriber receiving every message.
func BenchmarkHTTPPub(b *testing.B) {
	port := testnode.FreePort(b)
	n, addr := startNode(b, "plugins.vmq_http_pub = on", fmt.Sprintf("listener.http.pub = 127.0.0.1:%d", port),
		"listener.http.pub.http_modules = vmq_http_pub")
	key := adminCall(b, n, "api-key create scope=httppub").Text
	var got atomic.Int64
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("bench-sub").SetAutoReconnect(false))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		b.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(0)
	sub.Subscribe("bench/#", 0, func(mqtt.Client, mqtt.Message) { got.Add(1) }).WaitTimeout(5 * time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/restmqtt/api/v1/publish", port)
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	body := `{"topic":"bench/1","qos":0,"payload":"0123456789012345678901234567890123456789012345678901234567890123"}`
	b.SetParallelism(2) // 4 clients on the 2-core machine
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("x-api-key", key)
			resp, err := cl.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(got.Load()), "received")
}
