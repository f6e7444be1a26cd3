package node

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
)

// shownPlugins is the Plugin column of vmq-admin plugin show.
func shownPlugins(t *testing.T, n *Node) []string {
	t.Helper()
	res := adminCall(t, n, "plugin show")
	if res.Type != "table" {
		t.Fatalf("plugin show: %+v", res)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, r[0])
	}
	return out
}

// wantAdmin runs an admin command and checks its text, or the start of its error.
func wantAdmin(t *testing.T, n *Node, line, wantText, wantErrPrefix string) {
	t.Helper()
	res := adminCall(t, n, line)
	switch {
	case wantErrPrefix == "" && (res.Type != "text" || res.Text != wantText):
		t.Fatalf("%s: %+v, want text %q", line, res, wantText)
	case wantErrPrefix != "" && (res.Type != "error" || !strings.HasPrefix(res.Error, wantErrPrefix)):
		t.Fatalf("%s: %+v, want an error starting %q", line, res, wantErrPrefix)
	}
}

// authzCodes subscribes to topic and publishes to it at QoS 1, returning the SUBACK and PUBACK reason codes.
func authzCodes(t *testing.T, c *v5client, topic string) (sub, pub byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sa, err := c.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if sa == nil || len(sa.Reasons) != 1 {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	pr, err := c.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("x")})
	if pr == nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return sa.Reasons[0], pr.ReasonCode
}

// vmq-admin plugin enable|disable start and stop vmq_acl and vmq_webhooks at run time with their
// vernemq.conf settings; plugin show and the webhooks commands follow. vmq_acl only allows or
// passes on (VerneMQ's vmq_acl): a topic it does not grant is refused when no later plugin allows it.
func TestPluginEnableDisableACLAndWebhooks(t *testing.T) {
	dir := t.TempDir()
	aclFile := filepath.Join(dir, "limited.acl")
	if err := os.WriteFile(aclFile, []byte("topic allowed/#\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The user's authorization service: it allows every subscription and publish.
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"result":"ok"}`))
	}))
	defer svc.Close()
	n, addr := startNode(t, "plugins.vmq_acl = off", "vmq_acl.acl_file = "+aclFile, "plugins.vmq_webhooks = on",
		"vmq_webhooks.sub.hook = auth_on_subscribe_m5", "vmq_webhooks.sub.endpoint = "+svc.URL,
		"vmq_webhooks.pub.hook = auth_on_publish_m5", "vmq_webhooks.pub.endpoint = "+svc.URL)
	c, _ := dialV5(t, addr, "c", nil)
	expect := func(step, topic string, allowed bool) {
		t.Helper()
		sub, pub := authzCodes(t, c, topic)
		if got := sub < 0x80 && pub < 0x80; got != allowed {
			t.Fatalf("%s: %s SUBACK %#x PUBACK %#x, want allowed=%v", step, topic, sub, pub, allowed)
		}
		if !allowed && (sub != 0x87 || pub != 0x87) {
			t.Fatalf("%s: %s SUBACK %#x PUBACK %#x, want 0x87 (not authorized)", step, topic, sub, pub)
		}
	}
	if got := shownPlugins(t, n); !slices.Equal(got, []string{"vmq_webhooks"}) {
		t.Fatalf("plugin show at start: %v", got)
	}
	expect("webhooks allow all", "other/x", true)

	wantAdmin(t, n, "plugin disable --name=vmq_webhooks", "Done", "")
	wantAdmin(t, n, "webhooks show", "", "vmq_webhooks is not enabled on this node: start it with vmq-admin plugin enable")
	if got := shownPlugins(t, n); len(got) != 0 {
		t.Fatalf("plugin show after disabling vmq_webhooks: %v", got)
	}
	expect("no plugin authorizes", "allowed/x", false)

	wantAdmin(t, n, "plugin enable --name=vmq_acl", "Done", "")
	if got := shownPlugins(t, n); !slices.Equal(got, []string{"vmq_acl"}) {
		t.Fatalf("plugin show after enabling vmq_acl: %v", got)
	}
	expect("vmq_acl grants", "allowed/x", true)
	expect("outside the ACL", "other/x", false)
	wantAdmin(t, n, "plugin enable -n vmq_acl", "", "Can't enable plugin: vmq_acl due to already_enabled")

	wantAdmin(t, n, "plugin disable --name=vmq_acl", "Done", "")
	expect("vmq_acl disabled", "allowed/x", false)
	wantAdmin(t, n, "plugin disable --name=vmq_acl", "", "Can't disable plugin: vmq_acl due to plugin_not_found")

	// Enabled again, vmq_webhooks has its vernemq.conf endpoints and its commands are back.
	wantAdmin(t, n, "plugin enable --name=vmq_webhooks", "Done", "")
	if res := adminCall(t, n, "webhooks show"); res.Type != "table" || len(res.Rows) != 2 {
		t.Fatalf("webhooks show after enabling: %+v", res)
	}
	expect("webhooks enabled again", "other/x", true)
	if got := shownPlugins(t, n); !slices.Equal(got, []string{"vmq_webhooks"}) {
		t.Fatalf("plugin show at the end: %v", got)
	}
}

// connectCode connects with MQTT 5 and returns the CONNACK reason code.
func connectCode(t *testing.T, addr, id, user, password string) byte {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(nc)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(password), PasswordFlag: true})
	if ack == nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	if ack.ReasonCode < 0x80 {
		c.Disconnect(&paho.Disconnect{})
	}
	nc.Close()
	return ack.ReasonCode
}

// vmq_passwd enabled at run time reads its password file: a wrong password is refused (0x86),
// the right one admitted; disabled, no plugin admits anyone (allow_anonymous = off).
func TestPluginEnableDisablePasswd(t *testing.T) {
	dir := t.TempDir()
	line, err := passwd.Line("alice", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "vmq.passwd")
	if err := os.WriteFile(pwFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, addr := startNode(t, "allow_anonymous = off", "vmq_passwd.password_file = "+pwFile)
	if code := connectCode(t, addr, "a1", "alice", "secret"); code != 0x87 {
		t.Fatalf("no authentication plugin: CONNACK %#x, want 0x87", code)
	}
	wantAdmin(t, n, "plugin enable --name=vmq_passwd", "Done", "")
	if got := shownPlugins(t, n); !slices.Equal(got, []string{"vmq_acl", "vmq_passwd"}) {
		t.Fatalf("plugin show: %v, want vmq_passwd after vmq_acl", got)
	}
	if code := connectCode(t, addr, "a2", "alice", "wrong"); code != 0x86 {
		t.Fatalf("wrong password: CONNACK %#x, want 0x86", code)
	}
	if code := connectCode(t, addr, "a3", "alice", "secret"); code != 0 {
		t.Fatalf("right password: CONNACK %#x, want 0", code)
	}
	wantAdmin(t, n, "plugin disable -n vmq_passwd", "Done", "")
	if code := connectCode(t, addr, "a4", "alice", "secret"); code != 0x87 {
		t.Fatalf("vmq_passwd disabled: CONNACK %#x, want 0x87", code)
	}
}

// What plugin enable|disable cannot do is refused with what to do instead, and changes nothing.
func TestPluginEnableErrors(t *testing.T) {
	n, _ := startNode(t)
	for _, tc := range []struct{ line, errPrefix string }{
		{"plugin enable --name=vmq_nosuch", "Can't enable plugin: vmq_nosuch due to unknown_plugin: this broker has the plugins vmq_passwd"},
		{"plugin enable --name=vmq_bridge", "Can't enable plugin: vmq_bridge due to vmq_bridge runs the bridges of vernemq.conf"},
		{"plugin disable --name=vmq_http_pub", "Can't disable plugin: vmq_http_pub due to vmq_http_pub is served by the HTTP listeners"},
		{"plugin disable -n vmq_webhooks", "Can't disable plugin: vmq_webhooks due to plugin_not_found"},
		{"plugin enable -m my_mod -f auth_on_register -a 5", "module plugins (--module, --function, --arity, --hook) are Erlang functions"},
		{"plugin disable --module=my_mod --function=f --arity=1", "module plugins (--module, --function, --arity, --hook)"},
		{"plugin enable", "Incomplete plugin specification: give --name=<plugin>"},
		{"plugin enable -n vmq_acl -p /opt/plugins/vmq_acl", "--path=/opt/plugins/vmq_acl: this broker cannot load plugin code"},
	} {
		wantAdmin(t, n, tc.line, "", tc.errPrefix)
	}
	if got := shownPlugins(t, n); !slices.Equal(got, []string{"vmq_acl"}) {
		t.Fatalf("plugin show after the refusals: %v", got)
	}
}

// A disabled plugin stops its background work: 20 enable/disable rounds of vmq_acl with a
// reload interval, while a client publishes through the chain, leave no reload goroutine behind.
func TestPluginDisableStopsReloader(t *testing.T) {
	n, addr := startNode(t, "vmq_acl.acl_reload_interval = 1")
	c, _ := dialV5(t, addr, "busy", nil)
	base := runtime.NumGoroutine()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10000; i++ { // bounded; ends when the rounds do
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c.c.Publish(ctx, &paho.Publish{Topic: "t", QoS: 1, Payload: []byte("x")}) // allowed or not, as the round has it
			cancel()
		}
	}()
	for range 20 {
		wantAdmin(t, n, "plugin disable --name=vmq_acl", "Done", "")
		wantAdmin(t, n, "plugin enable --name=vmq_acl", "Done", "")
	}
	close(stop)
	<-done
	// A few goroutines of the admin socket's last request may still be ending.
	eventually.True(t, eventually.Wait, "goroutines back to the start's count", func() bool {
		return runtime.NumGoroutine() <= base+3
	})
}
