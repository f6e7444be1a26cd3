package cluster_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

func subackCode(c mqtt.Client, filter string) byte {
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		return 0xFF
	}
	return tok.(*mqtt.SubscribeToken).Result()[filter]
}

// While a member is unreachable (SIGSTOP), allow_subscribe_during_netsplit = off (the
// default) refuses subscriptions; when it is back they work again. A client whose
// auth_on_register answer (a webhook) carries the allow_subscribe modifier subscribes
// during the netsplit all the same, as in VerneMQ.
func TestNetsplitRefusesSubscribe(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ClientID string `json:"client_id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.ClientID == "cap-sub" {
			io.WriteString(w, `{"result":"ok","modifiers":{"allow_subscribe":true}}`)
			return
		}
		io.WriteString(w, `{"result":"ok"}`)
	}))
	defer hook.Close()
	a := startNodeAt(t, "splitA", "cookie-s", "", placement{conf: []string{"allow_anonymous = off",
		"plugins.vmq_webhooks = on", "vmq_webhooks.reg.hook = auth_on_register", "vmq_webhooks.reg.endpoint = " + hook.URL}})
	b := startNode(t, "splitB", "cookie-s", a.data)
	c := connect(t, a.mqtt, "watcher", true, nil)
	capSub := connect(t, a.mqtt, "cap-sub", true, nil)
	eventually.True(t, 15*time.Second, "cluster of two", func() bool {
		out, _ := vmqAdmin(t, a, "cluster", "show")
		return containsAll(out, a.name, b.name)
	})
	if code := subackCode(c, "before/#"); code != 1 {
		t.Fatalf("SUBACK before the split: %#x", code)
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	defer b.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "subscriptions refused during the netsplit", func() bool {
		return subackCode(c, "during/#") == 0x80
	})
	if code := subackCode(capSub, "during/#"); code != 1 {
		t.Fatalf("SUBACK during the split for the client with allow_subscribe: %#x, want 1", code)
	}
	b.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "subscriptions accepted after the netsplit", func() bool {
		return subackCode(c, "after/#") == 1
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// While a node refuses clients because a member is unreachable (here: the CONNECTs of
// a client whose session is on that member, and every publish), /health answers 503
// naming the member and the refused operations, netsplit_refused{op} counts each
// refusal, and one log line per op and 10 s names the reason; when the member is back,
// /health is 200 again.
func TestNetsplitHealthAndRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	web := fmt.Sprintf("127.0.0.1:%d", freePort(t, false))
	a := startNodeAt(t, "healthA", "cookie-h", "", placement{
		env:  []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=60s"},
		conf: []string{"listener.http.default = " + web},
	})
	b := startNodeAt(t, "healthB", "cookie-h", a.data, placement{env: []string{"VMQ_CLUSTER_DEAD_NODE_GRACE=60s"}})
	clusterOf(t, a, b)
	// A persistent session on b, known to a's table (a helper subscribed after it gets a's probe).
	onB := connect(t, b.mqtt, "lives-on-b", false, nil)
	subscribe(t, onB, "hl/#", 1, &inbox{})
	onB.Disconnect(100)
	hbox := &inbox{}
	subscribe(t, connect(t, b.mqtt, "hl-helper", true, hbox), "hl/#", 1, hbox)
	untilReceived(t, connect(t, a.mqtt, "hl-pub", true, nil), "hl/probe", hbox, "hl/probe")
	health := func() (int, string) {
		resp, err := http.Get("http://" + web + "/health")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := health(); code != 200 {
		t.Fatalf("/health before the split: %d %s", code, body)
	}
	b.cmd.Process.Signal(syscall.SIGSTOP)
	defer b.cmd.Process.Signal(syscall.SIGCONT)
	var body string
	eventually.True(t, 30*time.Second, "/health 503 during the netsplit", func() bool {
		var code int
		code, body = health()
		return code == 503
	})
	if !containsAll(body, "DOWN", b.name, "unreachable", "register of sessions on", "publish") {
		t.Fatalf("/health does not name the reason: %s", body)
	}
	const tries = 5
	for i := 0; i < tries; i++ {
		o := mqtt.NewClientOptions().AddBroker("tcp://" + a.mqtt).SetClientID("lives-on-b").SetCleanSession(false).
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second) // no fallback to 3.1: one CONNECT each
		c := mqtt.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(6*time.Second) || tok.Error() == nil {
			c.Disconnect(0)
			t.Fatalf("CONNECT %d of a client whose session is on the unreachable node accepted during the netsplit", i)
		}
	}
	resp, err := http.Get("http://" + web + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`netsplit_refused{node="%s",op="register"} %d`, a.name, tries)
	if !strings.Contains(string(metrics), want) {
		t.Fatalf("/metrics (%s) lacks %s:\n%s", resp.Status, want, grepLines(string(metrics), "netsplit"))
	}
	if n := a.logCount("refusing clients", "op=register", b.name); n != 1 {
		t.Fatalf("%d log lines about the %d refusals, want 1 (rate-limited)", n, tries)
	}
	b.cmd.Process.Signal(syscall.SIGCONT)
	eventually.True(t, 30*time.Second, "/health 200 after the netsplit", func() bool {
		code, _ := health()
		return code == 200
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
