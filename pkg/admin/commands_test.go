package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// realBackend builds a backend from real parts: a parsed conf, a broker and its metrics.
func realBackend(t *testing.T) *Backend {
	t.Helper()
	cfg, _, err := config.Parse(strings.NewReader("listener.tcp.default = 127.0.0.1:0\n"), "test.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.NewRegistry()
	m := metrics.NewBroker(reg)
	keys, err := OpenKeyStore(filepath.Join(t.TempDir(), "api-keys"))
	if err != nil {
		t.Fatal(err)
	}
	return &Backend{NodeName: "VerneMQ@127.0.0.1", Version: "test", Config: cfg, Metrics: reg, Keys: keys,
		Broker: broker.New(broker.Options{Node: "VerneMQ@127.0.0.1", Metrics: m})}
}

func exec(t *testing.T, r *Registry, line string) Result {
	t.Helper()
	return r.Exec(context.Background(), strings.Fields(line), nil)
}

func TestSetAndShow(t *testing.T) {
	b := realBackend(t)
	r := New(b)
	if res := exec(t, r, "set max_offline_messages=5 allow_anonymous=on"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	if b.Config.Int("max_offline_messages") != 5 {
		t.Fatal("set did not reach the config")
	}
	res := exec(t, r, "show max_offline_messages allow_anonymous")
	if strings.Join(res.Headers, ",") != "node,max_offline_messages,allow_anonymous" || res.Rows[0][1] != "5" || res.Rows[0][2] != "on" {
		t.Fatalf("show: %+v", res)
	}
	if res := exec(t, r, "set nodename=x@y"); res.Type != "error" || !strings.Contains(res.Error, "restart") {
		t.Fatalf("non-runtime key: %+v", res)
	}
	if res := exec(t, r, "show no_such_key"); res.Type != "error" || !strings.Contains(res.Error, "`vmq-admin show` without a key lists every key") {
		t.Fatalf("unknown key: %+v", res)
	}
	// Without a key: every key, its value and whether set can change it.
	all := exec(t, r, "show")
	if strings.Join(all.Headers, ",") != "key,value,runtime" || len(all.Rows) < 100 {
		t.Fatalf("show without key: headers %v, %d rows", all.Headers, len(all.Rows))
	}
	rows := map[string][]string{}
	for _, row := range all.Rows {
		rows[row[0]] = row
	}
	if got := rows["max_offline_messages"]; got == nil || got[1] != "5" || got[2] != "true" {
		t.Errorf("max_offline_messages row = %v, want value 5 runtime true", got)
	}
	if got := rows["nodename"]; got == nil || got[2] != "false" {
		t.Errorf("nodename row = %v, want runtime false", got)
	}
	if got := rows["listener.tcp.default"]; got == nil || got[1] != "127.0.0.1:0" {
		t.Errorf("listener row = %v", got)
	}
	if res := exec(t, r, "set --node=other@host a=1"); res.Type != "error" || !strings.Contains(res.Error, "not clustered") {
		t.Fatalf("--node: %+v", res)
	}
}

func TestRetainShowDelete(t *testing.T) {
	b := realBackend(t)
	r := New(b)
	for _, tp := range []string{"a/1", "a/2", "b/1"} {
		b.Broker.Publish(&session.Message{Topic: tp, Payload: []byte("v" + tp), Retain: true})
	}
	res := exec(t, r, "retain show --topic=~^a/")
	if len(res.Rows) != 2 || res.Rows[0][0] != "va/1" || res.Rows[0][1] != "a/1" {
		t.Fatalf("retain show: %+v", res)
	}
	if res := exec(t, r, "retain show --limit=1"); len(res.Rows) != 1 || res.Note == "" {
		t.Fatalf("limit: %+v", res)
	}
	if res := exec(t, r, "retain delete topic=a/1"); res.Type != "text" {
		t.Fatalf("delete: %+v", res)
	}
	if res := exec(t, r, "retain delete topic=a/1"); res.Type != "error" {
		t.Fatalf("second delete: %+v", res)
	}
	if res := exec(t, r, "node status"); res.Rows[8][0] != "num_retained" || res.Rows[8][1] != "2" {
		t.Fatalf("node status: %+v", res)
	}
}

func TestMetricsShow(t *testing.T) {
	b := realBackend(t)
	b.Broker.Metrics().V4.ConnectReceived.Add(2)
	b.Broker.Metrics().V5.ConnectReceived.Add(1)
	b.Broker.Metrics().DropQueueFull.Add(2)
	b.Broker.Metrics().DropExpired.Add(1)
	res := exec(t, New(b), "metrics show")
	for _, want := range []string{"counter.mqtt_connect_received = 3", "counter.queue_message_drop_reason = 3", "gauge.queue_processes = 0"} {
		if !strings.Contains(res.Text, want+"\n") {
			t.Errorf("missing %q in\n%s", want, res.Text)
		}
	}
	res = exec(t, New(b), "metrics show -d --reason=queue_full")
	if res.Text != "# Messages dropped from queues, by reason.\ncounter.queue_message_drop_reason = 2" {
		t.Fatalf("label filter: %q", res.Text)
	}
}

func TestClusterAndMissingBackend(t *testing.T) {
	b := realBackend(t)
	res := exec(t, New(b), "cluster show")
	if res.Rows[0][0] != "VerneMQ@127.0.0.1" || res.Rows[0][1] != "true" {
		t.Fatalf("cluster: %+v", res)
	}
	if old := exec(t, New(b), "cluster status"); !reflect.DeepEqual(old, res) {
		t.Fatalf("cluster status (VerneMQ's older name) = %+v, want cluster show's %+v", old, res)
	}
	if res := exec(t, New(b), "listener show"); res.Type != "error" || !strings.Contains(res.Error, "does not provide") {
		t.Fatalf("no listeners func: %+v", res)
	}
}

func TestSocketRoundTrip(t *testing.T) {
	b := realBackend(t)
	path := filepath.Join(t.TempDir(), "s.sock")
	os.WriteFile(path, nil, 0o600) // a stale file must be replaced
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	closeFn, err := ServeUnix(context.Background(), path, 0o660, New(b), log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o660 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode: %v %v", st.Mode(), err)
	}
	if _, err := ServeUnix(context.Background(), path, 0o600, New(b), log); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on a live socket: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Call(ctx, path, []string{"cluster", "show"}, nil)
	if err != nil || res.Rows[0][0] != "VerneMQ@127.0.0.1" {
		t.Fatalf("call: %+v %v", res, err)
	}
	res, err = Call(ctx, path, []string{"nope"}, nil)
	if err != nil || res.Type != "error" {
		t.Fatalf("unknown command: %+v %v", res, err)
	}
	closeFn()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left after close: %v", err)
	}
	if _, err := Call(ctx, path, []string{"cluster", "show"}, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("closed socket: %v", err)
	}
}

func TestHTTPAPIKeys(t *testing.T) {
	b := realBackend(t)
	r := New(b)
	srv := httptest.NewServer(r.APIHandler(b.Keys, func() bool { return true }))
	defer srv.Close()
	get := func(path string, key string, basic bool) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if basic {
			req.SetBasicAuth(key, "")
		} else if key != "" {
			req.Header.Set("x-api-key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/api/v1/cluster/show", "", false); code != 401 || !strings.Contains(body, "api-key create") {
		t.Fatalf("no key: %d %s", code, body)
	}
	key := exec(t, r, "api-key create").Text
	if code, body := get("/api/v1/cluster/show", key, true); code != 200 || !strings.Contains(body, `"Node":"VerneMQ@127.0.0.1"`) {
		t.Fatalf("basic auth: %d %s", code, body)
	}
	if code, body := get("/api/v1/set?max_online_messages=7", key, false); code != 200 || b.Config.Int("max_online_messages") != 7 {
		t.Fatalf("x-api-key set: %d %s", code, body)
	}
	if code, _ := get("/api/v1/session/disconnect", key, false); code != 400 {
		t.Fatalf("missing arg: %d", code)
	}
	if res := exec(t, r, "api-key show"); len(res.Rows) != 1 || res.Rows[0][0] != key || res.Rows[0][1] != "mgmt" {
		t.Fatalf("show: %+v", res)
	}
	if res := exec(t, r, "api-key add key=other123-metrics-key scope=metrics"); res.Type != "text" {
		t.Fatalf("add: %+v", res)
	}
	if code, _ := get("/api/v1/cluster/show", "other123-metrics-key", false); code != 401 {
		t.Fatal("a metrics key opened the mgmt API")
	}
	if res := exec(t, r, "api-key delete key="+key); res.Type != "text" {
		t.Fatalf("delete: %+v", res)
	}
	if code, _ := get("/api/v1/cluster/show", key, false); code != 401 {
		t.Fatal("deleted key still works")
	}
	// The keys survive a reopen of the file.
	again, err := OpenKeyStore(b.Keys.path)
	if err != nil || len(again.List()) != 1 || again.List()[0].Key != "other123-metrics-key" {
		t.Fatalf("reopen: %v %v", again.List(), err)
	}
	if res := exec(t, r, "api-key add key=x-long-enough-key expires=2000-01-01T00:00:00"); res.Type != "error" {
		t.Fatalf("past expiry accepted: %+v", res)
	}
	// min_apikey_length defaults to 16: a guessable key is refused.
	if res := exec(t, r, "api-key add key=a"); res.Type != "error" || !strings.Contains(res.Error, "min_apikey_length") {
		t.Fatalf("1-character key: %+v", res)
	}
}

func TestPrometheusAndSysTopic(t *testing.T) {
	b := realBackend(t)
	b.Broker.Metrics().V4.ConnectReceived.Add(4)
	b.Broker.Metrics().V5.PubackSent.Inc(0x10)
	b.Broker.Metrics().DropQueueFull.Inc()
	srv := httptest.NewServer(PrometheusHandler(PromCollector{Reg: b.Metrics, Namespace: "vernemq_", Node: b.NodeName}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`vernemq_mqtt_connect_received{mqtt_version="4",node="VerneMQ@127.0.0.1"} 4`,
		`vernemq_mqtt_connect_received{mqtt_version="5",node="VerneMQ@127.0.0.1"} 0`,
		`vernemq_mqtt_puback_sent{mqtt_version="5",node="VerneMQ@127.0.0.1",reason_code="no_matching_subscribers"} 1`,
		`vernemq_mqtt_puback_sent{mqtt_version="5",node="VerneMQ@127.0.0.1",reason_code="quota_exceeded"} 0`,
		`vernemq_mqtt_connack_sent{mqtt_version="4",node="VerneMQ@127.0.0.1",return_code="bad_username_or_password"} 0`,
		`vernemq_mqtt_connack_sent{mqtt_version="5",node="VerneMQ@127.0.0.1",reason_code="banned"} 0`,
		`vernemq_queue_message_drop_reason{node="VerneMQ@127.0.0.1",reason="queue_full"} 1`,
		"# TYPE vernemq_active_mqtt_connections gauge",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %q", want)
		}
	}
	if got := SysTopic("n@h", "queue_message_drop_reason"); got != "$SYS/n@h/queue/message/drop/reason" {
		t.Fatalf("sys topic %q", got)
	}
}
