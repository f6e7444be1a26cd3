package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

// adminNode starts a node with an MQTT and an HTTP listener on free ports; it returns
// the node and the conf's path.
func adminNode(t *testing.T) (*Node, string) {
	t.Helper()
	return startNodeIn(t, t.TempDir(), "listener.http.default = 127.0.0.1:0", "systree_interval = 100ms")
}

func adminCall(t testing.TB, n *Node, line string) admin.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := admin.Call(ctx, n.Cfg.String("admin.socket"), strings.Fields(line), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return res
}

func pahoConnect(t *testing.T, addr, id string, onLost func()) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).
		SetConnectionLostHandler(func(mqtt.Client, error) {
			if onLost != nil {
				onLost()
			}
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// row finds the first row whose column col has value v.
func row(res admin.Result, col, v string) []string {
	i := slices.Index(res.Headers, col)
	for _, r := range res.Rows {
		if i >= 0 && r[i] == v {
			return r
		}
	}
	return nil
}

func httpGet(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminSocketHTTPAndSys(t *testing.T) {
	n, _ := adminNode(t)
	if st, err := os.Stat(n.Cfg.String("admin.socket")); err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("admin socket: %v %v (want a socket with admin.socket_mode 0600)", st, err)
	}
	mqttAddr := n.ListenerAddr("tcp")
	lost := make(chan struct{}, 1)
	c1 := pahoConnect(t, mqttAddr, "c1", func() { lost <- struct{}{} })
	if tok := c1.Subscribe("a/+", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	sysMsgs := make(chan string, 100)
	sys := pahoConnect(t, mqttAddr, "sys", nil)
	sys.Subscribe("$SYS/VerneMQ@127.0.0.1/mqtt/connect/received", 0, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case sysMsgs <- string(m.Payload()):
		default:
		}
	})

	// session show lists the client; --topic gives one row per subscription.
	res := adminCall(t, n, "session show")
	r := row(res, "client_id", "c1")
	if r == nil || r[1] != "true" || r[3] != "127.0.0.1" || r[5] != "undefined" {
		t.Fatalf("session show: %+v", res)
	}
	res = adminCall(t, n, "session show --client_id --topic --qos --client_id=c1")
	if len(res.Rows) != 1 || strings.Join(res.Rows[0], " ") != "c1 a/+ 1" {
		t.Fatalf("session show topics: %+v", res)
	}

	// set reaches the broker's limits; show reads it back.
	if res := adminCall(t, n, "set max_offline_messages=5"); res.Type != "text" {
		t.Fatalf("set: %+v", res)
	}
	if got := n.Broker.Limits().MaxOffline; got != 5 {
		t.Fatalf("max_offline_messages in broker = %d, want 5", got)
	}
	if res := adminCall(t, n, "show max_offline_messages"); res.Rows[0][1] != "5" {
		t.Fatalf("show: %+v", res)
	}

	// listener show has both listeners with their bound ports.
	res = adminCall(t, n, "listener show")
	mq, web := row(res, "type", "mqtt"), row(res, "type", "http")
	if mq == nil || web == nil || mq[1] != "running" || !strings.HasSuffix(mqttAddr, ":"+mq[3]) {
		t.Fatalf("listener show: %+v", res)
	}
	base := "http://127.0.0.1:" + web[3]

	code, body := httpGet(t, base+"/metrics", "")
	if code != 200 || !strings.Contains(body, `vernemq_mqtt_connect_received{mqtt_version="4",node="VerneMQ@127.0.0.1"} 2`) {
		t.Fatalf("/metrics %d:\n%.2000s", code, body)
	}
	if code, body := httpGet(t, base+"/health", ""); code != 200 || strings.TrimSpace(body) != `{"status":"OK"}` {
		t.Fatalf("/health %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/status.json", ""); code != 200 || !strings.Contains(body, `"num_online":2`) {
		t.Fatalf("/status.json %d %s", code, body)
	}

	// $SYS carries the metric every systree_interval.
	select {
	case v := <-sysMsgs:
		if v != "2" {
			t.Fatalf("$SYS mqtt/connect/received = %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no $SYS message within 5s")
	}

	// listener stop makes /health fail and refuses connections; start brings it back.
	if res := adminCall(t, n, "listener stop address=127.0.0.1 port="+mq[3]); res.Type != "text" {
		t.Fatalf("stop: %+v", res)
	}
	if code, body := httpGet(t, base+"/health", ""); code != 503 || !strings.Contains(body, "stopped") {
		t.Fatalf("/health after stop %d %s", code, body)
	}
	res = adminCall(t, n, "listener show")
	stopped := row(res, "type", "mqtt")
	if stopped[1] != "stopped" {
		t.Fatalf("after stop: %+v", res)
	}
	// Configured on port 0, a stopped listener shows (and is started by) its configured port.
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+stopped[3]); res.Type != "text" {
		t.Fatalf("start: %+v", res)
	}
	if code, _ := httpGet(t, base+"/health", ""); code != 200 {
		t.Fatalf("/health after start %d", code)
	}
	pahoConnect(t, n.ListenerAddr("tcp"), "c3", nil)

	// The management API needs a key.
	if code, _ := httpGet(t, base+"/api/v1/session/show", ""); code != 401 {
		t.Fatalf("api without key: %d", code)
	}
	key := adminCall(t, n, "api-key create").Text
	code, body = httpGet(t, base+"/api/v1/session/show?--client_id=c1", key)
	var api struct {
		Type  string              `json:"type"`
		Table []map[string]string `json:"table"`
	}
	if json.Unmarshal([]byte(body), &api); code != 200 || len(api.Table) != 1 || api.Table[0]["is_online"] != "true" {
		t.Fatalf("api session show %d %s", code, body)
	}

	// trace client streams the client's packets.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lines := make(chan string, 100)
	traceDone := make(chan admin.Result, 1)
	go func() {
		res, _ := admin.Call(ctx, n.Cfg.String("admin.socket"), []string{"trace", "client", "client-id=c1"}, func(l string) { lines <- l })
		traceDone <- res
	}()
	<-lines // "Starting trace": the tracer is registered
	c1.Publish("a/x", 0, false, "traced")
	for found := false; !found; {
		select {
		case l := <-lines:
			found = strings.Contains(l, `MQTT RECV: CID: "c1" PUBLISH(d0, q0, r0, m0, "a/x")`)
		case <-ctx.Done():
			t.Fatal("no trace line for the PUBLISH")
		}
	}
	cancel()
	<-traceDone

	// session disconnect closes the client's connection.
	if res := adminCall(t, n, "session disconnect client-id=c1"); res.Type != "text" {
		t.Fatalf("disconnect: %+v", res)
	}
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("client not disconnected")
	}
}

func TestVmqAdminBinary(t *testing.T) {
	n, confPath := adminNode(t)
	pahoConnect(t, n.ListenerAddr("tcp"), "bin-client", nil)
	bin := filepath.Join(t.TempDir(), "vmq-admin")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/vmq-admin").CombinedOutput(); err != nil {
		t.Fatalf("build vmq-admin: %v\n%s", err, out)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "VERNEMQ_CONF=/nonexistent/vernemq.conf")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	sock := n.Cfg.String("admin.socket")
	out, err := run("--socket", sock, "session", "show")
	if err != nil || !strings.Contains(out, "| client_id  | is_online |") || !strings.Contains(out, "bin-client") {
		t.Fatalf("session show: %v\n%s", err, out)
	}
	out, err = run("-c", confPath, "cluster", "show", "--format=json")
	if err != nil || strings.TrimSpace(out) != `{"table":[{"Node":"VerneMQ@127.0.0.1","Running":"true"}],"type":"table"}` {
		t.Fatalf("cluster show json: %v\n%s", err, out)
	}
	if out, err := run("session", "disconnect", "--socket="+sock); err == nil || !strings.Contains(out, "needs client-id=") {
		t.Fatalf("missing argument: %v\n%s", err, out)
	}
	out, err = run("--socket", "/nonexistent/vmq-admin.sock", "node", "status")
	if err == nil || !strings.Contains(out, "/nonexistent/vmq-admin.sock") || !strings.Contains(out, "--socket") {
		t.Fatalf("no node: %v\n%s", err, out)
	}
	if out, err := run("session", "show", "--help"); err != nil || !strings.Contains(out, "--limit=<N>") {
		t.Fatalf("help without node: %v\n%s", err, out)
	}
	// A command that is also the group of longer ones: both reachable, each with its help.
	if out, err := run("session", "disconnect", "--help"); err != nil || !strings.Contains(out, "client-id=") || !strings.Contains(out, "batch") {
		t.Fatalf("session disconnect --help (its arguments and its subcommands): %v\n%s", err, out)
	}
	if out, err := run("session", "disconnect", "batch", "--help"); err != nil || !strings.Contains(out, "count=") {
		t.Fatalf("session disconnect batch --help: %v\n%s", err, out)
	}
	if out, err := run("tls", "check", "--help"); err != nil || !strings.Contains(out, "-v, --validity=<Seconds>") || !strings.Contains(out, "172800 = 2 days") {
		t.Fatalf("tls check --help: %v\n%s", err, out)
	}
	// A node without TLS listeners: nothing to expire, VerneMQ's answer.
	if out, err := run("--socket", sock, "tls", "check", "-v=3600"); err != nil || strings.TrimSpace(out) != "All fine" {
		t.Fatalf("tls check without TLS listeners: %v\n%s", err, out)
	}
	// VerneMQ's -c (cleanup, no value) is the command's flag; -c FILE still names the conf.
	if out, err := run("-c", confPath, "session", "disconnect", "-c", "client-id=bin-client"); err != nil || strings.TrimSpace(out) != "Done" {
		t.Fatalf("session disconnect -c: %v\n%s", err, out)
	}
	eventually.True(t, eventually.Wait, "bin-client's session deleted", func() bool { return n.Broker.Session(idOf("bin-client")) == nil })
	if out, err := run("--socket", sock, "session", "disconnect", "batch", "count=1"); err != nil || strings.TrimSpace(out) != "Disconnected 0 of 1" {
		t.Fatalf("session disconnect batch: %v\n%s", err, out)
	}
	// VerneMQ's short flag with its value in the next token (clique): plugin disable|enable -n vmq_acl.
	for _, args := range [][]string{{"plugin", "disable", "-n", "vmq_acl"}, {"plugin", "enable", "-n", "vmq_acl"}} {
		if out, err := run(append([]string{"--socket", sock}, args...)...); err != nil || strings.TrimSpace(out) != "Done" {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := run("--socket", sock, "plugin", "enable", "-n", "vmq_acl"); err == nil || !strings.Contains(out, "Can't enable plugin: vmq_acl due to already_enabled") {
		t.Fatalf("enable twice: %v\n%s", err, out)
	}
	if out, err := run("plugin", "enable", "--help"); err != nil || !strings.Contains(out, "-n, --name=<NAME>") || !strings.Contains(out, "not persisted") {
		t.Fatalf("plugin enable --help: %v\n%s", err, out)
	}
}
