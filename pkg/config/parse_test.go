package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, text string, env ...string) (*Config, []string, error) {
	t.Helper()
	return Parse(strings.NewReader(text), "test.conf", env)
}

func mustParse(t *testing.T, text string, env ...string) *Config {
	t.Helper()
	c, warns, err := parse(t, text, env...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(warns) > 0 {
		t.Fatalf("unexpected warnings: %q", warns)
	}
	return c
}

func TestShippedConf(t *testing.T) {
	t.Chdir("../..") // the conf's paths are relative to the repository, where make run starts the node
	c, warns, err := Load("conf/vernemq.conf", nil)
	if err != nil {
		t.Fatalf("conf/vernemq.conf: %v", err)
	}
	if len(warns) != 0 {
		t.Fatalf("conf/vernemq.conf warnings: %q", warns)
	}
	// The comments name paths that exist from where make run starts the node, and the
	// vmq-passwd line writes the file the conf reads.
	text, _ := os.ReadFile("conf/vernemq.conf")
	for _, m := range regexp.MustCompile(`(?m)^#.*?(\./[\w./-]+)`).FindAllStringSubmatch(string(text), -1) {
		if _, err := os.Stat(filepath.Dir(m[1])); err != nil {
			t.Errorf("conf comment names %s, whose directory does not exist: %v", m[1], err)
		}
	}
	if m := regexp.MustCompile(`vmq-passwd -c (\S+)`).FindStringSubmatch(string(text)); m == nil || filepath.Clean(m[1]) != filepath.Clean(c.String("vmq_passwd.password_file")) {
		t.Errorf("vmq-passwd comment %v does not name vmq_passwd.password_file %s", m, c.String("vmq_passwd.password_file"))
	}
	if !c.Bool("allow_anonymous") || c.String("nodename") != "VerneMQ@127.0.0.1" {
		t.Errorf("allow_anonymous/nodename not as shipped")
	}
	if got := c.String("admin.socket"); got != "./data/vmq-admin.sock" {
		t.Errorf("admin.socket = %q", got)
	}
	var got []string
	for _, l := range c.Listeners() {
		got = append(got, l.Type+"."+l.Name+"="+l.Addr)
	}
	want := "tcp.default=127.0.0.1:1883 vmq.clustering=127.0.0.1:44053 http.default=127.0.0.1:8888"
	if strings.Join(got, " ") != want {
		t.Errorf("listeners = %q, want %q", got, want)
	}
}

func TestGoodFile(t *testing.T) {
	c := mustParse(t, `
## a comment
   # indented comment
allow_anonymous = on   # trailing comment
max_inflight_messages=5
retry_interval = 30
persistent_client_expiration = 2w
max_message_size = 64KB
outgoing_clustering_buffer_size = 1MB
queue_type = lifo
systree_interval = 0
admin.socket_mode = 0660
listener.tcp.allowed_protocol_versions = 4, 5
vmq_webhooks.wh1.hook = auth_on_register
vmq_webhooks.wh1.endpoint = http://127.0.0.1:8080/auth
vmq_diversity.postgres.port = 5433
platform_data_dir = /var/lib/vmq
`)
	checks := []struct {
		got, want any
		name      string
	}{
		{c.Bool("allow_anonymous"), true, "allow_anonymous"},
		{c.Int("max_inflight_messages"), int64(5), "max_inflight_messages"},
		{c.Duration("retry_interval"), 30 * time.Second, "retry_interval bare int in seconds"},
		{c.Duration("persistent_client_expiration"), 14 * 24 * time.Hour, "persistent_client_expiration"},
		{c.Bytes("max_message_size"), int64(64 << 10), "max_message_size"},
		{c.Bytes("outgoing_clustering_buffer_size"), int64(1 << 20), "outgoing_clustering_buffer_size"},
		{c.String("queue_type"), "lifo", "queue_type"},
		{c.Duration("systree_interval"), time.Duration(0), "systree_interval"},
		{c.Int("admin.socket_mode"), int64(0o660), "admin.socket_mode"},
		{c.String("admin.socket"), "/var/lib/vmq/vmq-admin.sock", "admin.socket expansion"},
		{c.String("store.dir"), "/var/lib/vmq/msgstore", "store.dir expansion"},
		{c.Int("vmq_diversity.postgres.port"), int64(5433), "diversity port"},
		{strings.Join(c.List("listener.tcp.allowed_protocol_versions"), ","), "4,5", "list canonical"},
		{c.Source("max_inflight_messages"), "test.conf:5", "source"},
		{c.Source("topic_max_depth"), "default", "source default"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if v, ok := c.Raw("vmq_webhooks.wh1.endpoint"); !ok || v != "http://127.0.0.1:8080/auth" {
		t.Errorf("Raw webhook endpoint = %q %v", v, ok)
	}
	if _, ok := c.Raw("vmq_webhooks.wh2.endpoint"); ok {
		t.Errorf("Raw of unset pattern key should be false")
	}
	wh := c.Prefix("vmq_webhooks.")
	if wh["wh1.hook"] != "auth_on_register" || wh["pool_max_connections"] != "100" {
		t.Errorf("Prefix(vmq_webhooks.) = %v", wh)
	}
}

func TestDefaults(t *testing.T) {
	c := Defaults()
	ints := map[string]int64{"max_client_id_size": 100, "max_inflight_messages": 20, "max_online_messages": 1000,
		"max_offline_messages": 1000, "max_message_rate": 0, "max_message_size": 0, "topic_max_depth": 10,
		"receive_max_broker": 65535, "receive_max_client": 65535, "topic_alias_max_broker": 0,
		"listener.max_connections": 10000, "listener.nr_of_acceptors": 10, "admin.socket_mode": 0o600,
		"outgoing_clustering_buffer_size": 64 << 20}
	for k, want := range ints {
		if got := c.Int(k); got != want {
			t.Errorf("default %s = %d, want %d", k, got, want)
		}
	}
	for k, want := range map[string]bool{"allow_anonymous": false, "allow_register_during_netsplit": false,
		"coordinate_registrations": true, "store.fsync": true, "systree_enabled": true, "upgrade_outgoing_qos": false} {
		if got := c.Bool(k); got != want {
			t.Errorf("default %s = %v", k, got)
		}
	}
	durs := map[string]time.Duration{"retry_interval": 20 * time.Second, "persistent_client_expiration": 0,
		"store.commit_delay": 2 * time.Millisecond, "systree_interval": 20 * time.Second, "max_last_will_delay": 0}
	for k, want := range durs {
		if got := c.Duration(k); got != want {
			t.Errorf("default %s = %v, want %v", k, got, want)
		}
	}
	strs := map[string]string{"persistent_client_expiration": "never", "queue_type": "fifo",
		"shared_subscription_policy": "prefer_local", "nodename": "VerneMQ@127.0.0.1", "admin.socket": "./data/vmq-admin.sock",
		"vmq_passwd.password_file": "./etc/vmq.passwd", "listener.allowed_protocol_versions": "3,4,5"}
	for k, want := range strs {
		if got := c.String(k); got != want {
			t.Errorf("default %s = %q, want %q", k, got, want)
		}
	}
	if len(c.Listeners()) != 0 {
		t.Errorf("Defaults has listeners")
	}
	plugins := c.Plugins()
	if len(plugins) != 2 || plugins[0].Name != "vmq_acl" || plugins[1].Name != "vmq_passwd" {
		t.Errorf("default plugins = %v", plugins)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "x = 1\nallow_anonymus = on\n", []string{"test.conf:2: allow_anonymus: unknown key (did you mean allow_anonymous?)"}},
		{"unknown key far", "foo_bar_baz = 1\n", []string{"test.conf:1: foo_bar_baz: unknown key"}},
		{"not int", "max_inflight_messages = lots\n", []string{"test.conf:1: max_inflight_messages:", "not an integer"}},
		{"range", "topic_max_depth = 0\n", []string{"test.conf:1: topic_max_depth:", "allowed: 1..65535"}},
		{"below min", "max_online_messages = -2\n", []string{"test.conf:1: max_online_messages:", "allowed: >= -1"}},
		{"bool", "allow_anonymous = yes\n", []string{"test.conf:1: allow_anonymous:", "allowed: on, off"}},
		{"enum", "queue_type = stack\n", []string{"test.conf:1: queue_type:", "allowed: fifo, lifo"}},
		{"duration", "retry_interval = 20 seconds\n", []string{"test.conf:1: retry_interval:", "unknown unit"}},
		{"duration min", "retry_interval = 10ms\n", []string{"retry_interval:", "below the minimum 1s"}},
		{"expiry", "persistent_client_expiration = forever\n", []string{"persistent_client_expiration:", "or never"}},
		{"bytes", "max_message_size = 1XB\n", []string{"test.conf:1: max_message_size:", "unknown unit"}},
		{"list item", "listener.tcp.allowed_protocol_versions = 3,6\n", []string{"allowed_protocol_versions:", `item "6" is not allowed (allowed: 3, 4, 5, 131)`}},
		{"no equals", "allow_anonymous on\n", []string{"test.conf:1: expected KEY = VALUE"}},
		{"bad key", "allow anonymous = on\n", []string{"test.conf:1: allow anonymous: not a valid key"}},
		{"empty value", "max_inflight_messages =\n", []string{"test.conf:1: max_inflight_messages:"}},
		{"addr", "listener.tcp.default = localhost:1883\n", []string{"test.conf:1: listener.tcp.default:", "not an IP address"}},
		{"tls", "listener.ssl.default = 127.0.0.1:8883\n", []string{"test.conf:1: listener.ssl.default: TLS listener needs certfile and keyfile"}},
		{"require cert", "listener.ssl.certfile = c\nlistener.ssl.keyfile = k\nlistener.ssl.default = 127.0.0.1:8883\nlistener.ssl.require_certificate = on\n",
			[]string{"test.conf:3: listener.ssl.default: require_certificate is on but no cafile"}},
		{"tls opt on tcp", "listener.tcp.certfile = x\n", []string{"test.conf:1: listener.tcp.certfile: certfile is not an option of tcp listeners (it applies to: ssl, wss, vmqs, https)"}},
		{"tls opt on tcp name", "listener.tcp.default = 127.0.0.1:1\nlistener.tcp.default.use_identity_as_username = on\n", []string{"test.conf:2:", "use_identity_as_username is not an option of tcp listeners"}},
		{"gossip port", "listener.vmq.clustering = 127.0.0.1:44053\nlistener.http.default = 127.0.0.1:44054\n",
			[]string{"test.conf:2: listener.http.default: port 44054 of listener.http.default is already used by the cluster gossip of listener.vmq.clustering (its port+1)"}},
		{"gossip port first", "listener.tcp.default = 0.0.0.0:44054\nlistener.vmq.clustering = 127.0.0.1:44053\n",
			[]string{"test.conf:2: listener.vmq.clustering: port 44054 of the cluster gossip of listener.vmq.clustering (its port+1) is already used by listener.tcp.default"}},
		{"cluster port 0", "listener.vmq.clustering = 127.0.0.1:0\n", []string{"test.conf:1: listener.vmq.clustering: a cluster listener needs a fixed port below 65535"}},
		{"wildcard port", "listener.tcp.a = 0.0.0.0:1883\nlistener.ws.b = 127.0.0.1:1883\n", []string{"test.conf:2: listener.ws.b: port 1883", "already used by listener.tcp.a"}},
		{"crl without ca", "listener.ssl.certfile = c\nlistener.ssl.keyfile = k\nlistener.ssl.crlfile = r\nlistener.ssl.default = 127.0.0.1:8883\n",
			[]string{"test.conf:4: listener.ssl.default: crlfile needs cafile"}},
		{"psk on tcp", "listener.tcp.pskfile = x\n", []string{"pskfile is not an option of tcp listeners (it applies to: ssl)"}},
		{"same port", "listener.tcp.a = 127.0.0.1:1883\nlistener.tcp.b = 127.0.0.1:1883\n", []string{"already used by"}},
		{"webhook", "vmq_webhooks.w.hook = on_publish\n", []string{"test.conf:1: vmq_webhooks.w.hook: webhook w has no endpoint"}},
		{"webhook hook", "vmq_webhooks.w.hook = on_foo\nvmq_webhooks.w.endpoint = http://x/\n", []string{"vmq_webhooks.w.hook:", `"on_foo" is not allowed`}},
		{"webhook url", "vmq_webhooks.w.hook = on_publish\nvmq_webhooks.w.endpoint = ftp://x/\n", []string{"vmq_webhooks.w.endpoint:", "not an http:// or https:// URL"}},
		{"nodename", "nodename = Verne MQ\n", []string{"nodename:", "not name@host"}},
		{"socket mode", "admin.socket_mode = 0999\n", []string{"admin.socket_mode:", "octal file mode"}},
		{"plugin prio", "plugins.vmq_acl.priority = high\n", []string{"plugins.vmq_acl.priority:", "not an integer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := parse(t, c.text)
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if cfg != nil {
				t.Errorf("config returned together with an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *config.Error: %T", err)
			}
		})
	}
}

func TestAllErrorsCollected(t *testing.T) {
	_, _, err := parse(t, "a_bad_key = 1\nmax_inflight_messages = x\nallow_anonymous = maybe\nqueue_type = lifo\nqueue_type = stack\n")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"test.conf:1: a_bad_key", "test.conf:2: max_inflight_messages", "test.conf:3: allow_anonymous", "test.conf:5: queue_type"}
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestNotImplementedWarnings(t *testing.T) {
	c, warns, err := parse(t, `graphite_enabled = on
graphite_host = carbon
leveldb.maximum_memory.percent = 20
erlang.max_ports = 262144
vmq_web_ui.admin.user_name = admin
metadata_plugin = vmq_swc
plugins.vmq_web_ui = on
`)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"test.conf:1: graphite_enabled", "test.conf:2: graphite_host", "test.conf:3: leveldb.maximum_memory.percent",
		"test.conf:4: erlang.max_ports", "test.conf:5: vmq_web_ui.admin.user_name", "test.conf:6: metadata_plugin", "test.conf:7: plugins.vmq_web_ui"}
	if len(warns) != len(keys) {
		t.Fatalf("warnings = %q", warns)
	}
	for i, k := range keys {
		if !strings.HasPrefix(warns[i], k) {
			t.Errorf("warning %d = %q, want prefix %q", i, warns[i], k)
		}
	}
	if v, ok := c.Raw("graphite_host"); !ok || v != "carbon" {
		t.Errorf("Raw(graphite_host) = %q %v", v, ok)
	}
	for _, p := range c.Plugins() {
		if p.Name == "vmq_web_ui" {
			t.Errorf("unimplemented plugin listed: %v", c.Plugins())
		}
	}
	// Validation still applies to schema keys that only warn.
	if _, _, err := parse(t, "metadata_plugin = etcd\n"); err == nil {
		t.Errorf("metadata_plugin = etcd accepted")
	}
}

// A listener added at run time inherits as a configured one does and is checked as the conf is.
func TestAddListener(t *testing.T) {
	c := mustParse(t, "listener.tcp.default = 127.0.0.1:1883\nlistener.max_connections = 50\nlistener.tcp.nr_of_acceptors = 3\n")
	l, err := c.AddListener("tcp", "cli_1884", "127.0.0.1:1884", map[string]string{"mountpoint": "mp"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr != "127.0.0.1:1884" || l.Mountpoint != "mp" || l.MaxConnections != 50 || l.NrOfAcceptors != 3 {
		t.Fatalf("added listener = %+v", l)
	}
	if got := len(c.Listeners()); got != 2 {
		t.Fatalf("Listeners() has %d, want 2", got)
	}
	if _, err := c.AddListener("tcp", "cli_1884", "127.0.0.1:1884", nil); err == nil {
		t.Fatal("the same name twice")
	}
	c.RemoveListener("tcp", "cli_1884")
	if got := len(c.Listeners()); got != 1 {
		t.Fatalf("after RemoveListener, Listeners() has %d, want 1", got)
	}
	for _, tc := range []struct {
		typ  string
		opts map[string]string
		want string
	}{
		{"http", nil, "only MQTT listeners"},
		{"tcp", map[string]string{"max_connections": "many"}, "--max_connections"},
		{"tcp", map[string]string{"no_such_option": "1"}, "not an option of tcp listeners"},
		{"ssl", map[string]string{"certfile": "/x.crt"}, "--certfile and --keyfile"},
	} {
		if _, err := c.AddListener(tc.typ, "cli_1", "127.0.0.1:1", tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s %v: err %v, want one naming %q", tc.typ, tc.opts, err, tc.want)
		}
	}
	if got := len(c.Listeners()); got != 1 {
		t.Fatalf("refused listeners left %d listeners, want 1", got)
	}
}
