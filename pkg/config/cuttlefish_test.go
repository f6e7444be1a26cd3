package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Cuttlefish's include: globs relative to the including file's directory, files in
// name order, no match = nothing included, nested includes, and refused cycles.
func TestInclude(t *testing.T) {
	dir := t.TempDir()
	main := writeFile(t, filepath.Join(dir, "vernemq.conf"), "max_inflight_messages = 5\ninclude conf.d/*.conf\ninclude none.d/*.conf\n")
	writeFile(t, filepath.Join(dir, "conf.d", "10-a.conf"), "max_inflight_messages = 7\ninclude ../extra/x.conf\n")
	writeFile(t, filepath.Join(dir, "conf.d", "20-b.conf"), "max_inflight_messages = 9\n")
	writeFile(t, filepath.Join(dir, "conf.d", "ignored.txt"), "this is not a conf\n")
	writeFile(t, filepath.Join(dir, "extra", "x.conf"), "allow_anonymous = on\n")
	c, warns, err := Parse(strings.NewReader(mustRead(t, main)), main, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("max_inflight_messages") != 9 || !c.Bool("allow_anonymous") {
		t.Errorf("max_inflight_messages = %d (want 9, the last included), allow_anonymous = %v (want on, nested include)",
			c.Int("max_inflight_messages"), c.Bool("allow_anonymous"))
	}
	if got := c.Source("max_inflight_messages"); got != filepath.Join(dir, "conf.d", "20-b.conf")+":1" {
		t.Errorf("Source = %q", got)
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "10-a.conf:1: max_inflight_messages: also set at "+main+":1") ||
		!strings.Contains(warns[1], "20-b.conf:1: max_inflight_messages: also set at "+filepath.Join(dir, "conf.d", "10-a.conf")+":1") {
		t.Errorf("warnings = %q", warns)
	}

	// A cycle is an error naming the include line, not an endless loop.
	writeFile(t, filepath.Join(dir, "loop", "a.conf"), "include b.conf\n")
	writeFile(t, filepath.Join(dir, "loop", "b.conf"), "include a.conf\n")
	if _, _, err := Load(filepath.Join(dir, "loop", "a.conf"), nil); err == nil || !strings.Contains(err.Error(), "b.conf:1: include") {
		t.Errorf("include cycle: err = %v", err)
	}
	// An included file with an error is reported with its own name and line.
	writeFile(t, filepath.Join(dir, "bad", "main.conf"), "include sub.conf\n")
	writeFile(t, filepath.Join(dir, "bad", "sub.conf"), "\nmax_inflight_messages = lots\n")
	if _, _, err := Parse(strings.NewReader("include sub.conf\n"), filepath.Join(dir, "bad", "main.conf"), nil); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, "bad", "sub.conf")+":2: max_inflight_messages") {
		t.Errorf("error in included file: %v", err)
	}
	if _, _, err := parse(t, "include\n"); err == nil || !strings.Contains(err.Error(), "include needs a file") {
		t.Errorf("bare include: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A key set twice keeps the last value with one warning naming both lines; the
// first value is not validated (cuttlefish never sees it), an env override wins
// over every line without a warning.
func TestDuplicateKeepsLast(t *testing.T) {
	c, warns, err := parse(t, "allow_anonymous = maybe\n\nallow_anonymous = on\n")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Bool("allow_anonymous") || len(warns) != 1 ||
		warns[0] != "test.conf:3: allow_anonymous: also set at test.conf:1; the later value (this line) is used" {
		t.Errorf("allow_anonymous = %v, warnings %q", c.Bool("allow_anonymous"), warns)
	}
	c, warns, err = parse(t, "max_inflight_messages = 1\nmax_inflight_messages = 2\nmax_inflight_messages = 3\n", "DOCKER_VERNEMQ_MAX_INFLIGHT_MESSAGES=4")
	if err != nil || c.Int("max_inflight_messages") != 4 || len(warns) != 2 {
		t.Errorf("value %v, warnings %q, err %v", c.Int("max_inflight_messages"), warns, err)
	}
	if _, _, err := parse(t, "allow_anonymous = on\nallow_anonymous = maybe\n"); err == nil || !strings.Contains(err.Error(), "test.conf:2: allow_anonymous") {
		t.Errorf("bad last value: %v", err)
	}
}

// VerneMQ ignores options of listeners that are not defined; the stock conf has one.
func TestUndefinedListenerOptionWarns(t *testing.T) {
	c, warns, err := parse(t, "listener.tcp.default = 127.0.0.1:1883\nlistener.ssl.name.allow_anonymous_override = off\nlistener.http.x.http_module.vmq_http_mgmt_api.auth.mode = noauth\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"test.conf:2: listener.ssl.name.allow_anonymous_override: ignored: no listener listener.ssl.name is defined (add listener.ssl.name = ip:port to use it)",
		"test.conf:3: listener.http.x.http_module.vmq_http_mgmt_api.auth.mode: ignored: no listener listener.http.x is defined",
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings = %q", warns)
	}
	for i, w := range want {
		if !strings.HasPrefix(warns[i], w) {
			t.Errorf("warning %d = %q, want %q", i, warns[i], w)
		}
	}
	if len(c.Listeners()) != 1 {
		t.Errorf("listeners = %+v", c.Listeners())
	}
}

// listener.ssl.pskfile is an option, not a listener named pskfile.
func TestListenerSubKeysAreNotNames(t *testing.T) {
	c, warns, err := parse(t, `listener.ssl.certfile = c.pem
listener.ssl.keyfile = k.pem
listener.ssl.default = 127.0.0.1:8883
listener.ssl.pskfile = ./etc/vmq.psk
listener.ssl.psk_support = off
listener.ssl.eccs = secp256r1
listener.tcp.active_n = 100
listener.ssl.default.tls_handshake_timeout = 2500
listener.tcp.max_connections = -1
listener.tcp.default = 127.0.0.1:1883
listener.tcp.default.nr_of_acceptors = -1
`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range c.Listeners() {
		names = append(names, l.Type+"."+l.Name)
		if l.Type == "ssl" && l.TLSHandshakeTimeout.Milliseconds() != 2500 {
			t.Errorf("tls_handshake_timeout = %v", l.TLSHandshakeTimeout)
		}
		if l.Type == "tcp" && (l.MaxConnections != 10000 || l.NrOfAcceptors != 10) {
			t.Errorf("-1 should inherit: max_connections %d nr_of_acceptors %d", l.MaxConnections, l.NrOfAcceptors)
		}
	}
	if strings.Join(names, " ") != "tcp.default ssl.default" {
		t.Errorf("listeners = %v", names)
	}
	if len(warns) != 4 { // pskfile, psk_support, eccs, active_n: accepted and ignored
		t.Errorf("warnings = %q", warns)
	}
	for _, w := range warns {
		if !strings.Contains(w, "accepted and ignored: ") {
			t.Errorf("warning %q", w)
		}
	}
}

// Keys VerneMQ 2.x refuses stay refused, saying what replaced them.
func TestRemovedKeysHint(t *testing.T) {
	cases := map[string]string{
		"allow_multiple_sessions = on":   "removed in VerneMQ 2.0",
		"acl_file = /etc/vmq.acl":        "use vmq_acl.acl_file",
		"password_file = /etc/vmq.pw":    "use vmq_passwd.password_file",
		"sys_interval = 10":              "use systree_interval",
		"trade_consistency = on":         "allow_register_during_netsplit",
		"graphite.host = carbon":         "graphite_host",
		"message_size_limit = 1024":      "use max_message_size",
		"lager.handlers.console = debug": "lager was removed",
	}
	for line, want := range cases {
		_, _, err := parse(t, line+"\n")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "test.conf:1: ") {
			t.Errorf("%s: err = %v, want %q", line, err, want)
		}
	}
}

// Erlang's -name completes a name without host; so does nodename.
func TestNodenameWithoutHost(t *testing.T) {
	host, _ := os.Hostname()
	c := mustParse(t, "nodename = vernemq-docker\n")
	if got := c.String("nodename"); got != "vernemq-docker@"+host {
		t.Errorf("nodename = %q, want vernemq-docker@%s", got, host)
	}
}

func TestValueForms(t *testing.T) {
	c := mustParse(t, `max_ws_frame_size = infinity
http_modules = [vmq_metrics_http,vmq_http_mgmt_api, vmq_status_http]
listener.max_connections = infinity
vmq_webhooks.verify_peer = true
log.console.file.format = json
`)
	if c.Bytes("max_ws_frame_size") != 0 || c.Int("listener.max_connections") != 0 {
		t.Errorf("infinity not read as 0 (unlimited)")
	}
	if _, _, err := parse(t, "remote_enqueue_timeout = infinity\n"); err != nil {
		t.Errorf("remote_enqueue_timeout = infinity: %v", err)
	}
	if got := c.List("http_modules"); len(got) != 3 || got[2] != "vmq_status_http" {
		t.Errorf("Erlang list form: %q", got)
	}
	if c.String("log.console.file.format") != "json" || c.String("log.console.console.format") != "text" {
		t.Errorf("log formats: file %s console %s", c.String("log.console.file.format"), c.String("log.console.console.format"))
	}
}

// CheckStartable (run by Load) finds what would stop a node: errors where console
// refuses to start, warnings where it starts and retries.
func TestCheckStartable(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, filepath.Join(dir, "cert.pem"), "x")
	load := func(text string) ([]string, error) {
		t.Helper()
		_, warns, err := Load(writeFile(t, filepath.Join(dir, "vernemq.conf"), text), nil)
		return warns, err
	}
	_, err := load("listener.http.default = 127.0.0.1:8888\nplugins.vmq_passwd = off\nplugins.vmq_acl = off\n")
	if err == nil || !strings.Contains(err.Error(), "vernemq.conf: no MQTT listener configured") {
		t.Errorf("no MQTT listener: %v", err)
	}
	_, err = load("listener.ssl.default = 127.0.0.1:8883\nlistener.ssl.certfile = " + cert + "\nlistener.ssl.keyfile = " + dir + "/missing-key.pem\n" +
		"listener.ssl.cafile = " + dir + "\nplugins.vmq_passwd = off\nplugins.vmq_acl = off\n")
	if err == nil || !strings.Contains(err.Error(), "vernemq.conf:1: listener.ssl.default: keyfile "+dir+"/missing-key.pem: no such file or directory") ||
		!strings.Contains(err.Error(), "cafile "+dir+": is a directory") {
		t.Errorf("missing key / CA is a directory: %v", err)
	}
	warns, err := load("listener.tcp.default = 127.0.0.1:1883\nvmq_passwd.password_file = " + dir + "/nope.passwd\nvmq_acl.acl_file = " + cert + "\n")
	if err != nil || len(warns) != 1 || !strings.HasPrefix(warns[0], filepath.Join(dir, "vernemq.conf")+":2: vmq_passwd.password_file: password file "+dir+"/nope.passwd: no such file") {
		t.Errorf("missing password file: warns %q err %v", warns, err)
	}
	_, err = load("listener.tcp.default = 127.0.0.1:1883\nplugins.vmq_passwd = off\nplugins.vmq_acl = off\nplugins.vmq_webhooks = on\nvmq_webhooks.cafile = /nonexistent/ca.pem\n")
	if err == nil || !strings.Contains(err.Error(), "vmq_webhooks.cafile: /nonexistent/ca.pem: no such file") {
		t.Errorf("webhooks cafile: %v", err)
	}
}

// The effective conf loads back to the same values, including pattern and ignored keys.
func TestWriteEffectiveRoundTrip(t *testing.T) {
	c := mustParseWarn(t, "listener.tcp.default = 127.0.0.1:1883\nlistener.tcp.default.mountpoint = m1\nmax_inflight_messages = 3\n"+
		"vmq_webhooks.w.hook = on_publish\nvmq_webhooks.w.endpoint = http://127.0.0.1:1/x\ngraphite_enabled = on\n", "DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES=9")
	var b strings.Builder
	if err := c.WriteEffective(&b); err != nil {
		t.Fatal(err)
	}
	c2, _, err := parse(t, b.String())
	if err != nil {
		t.Fatalf("effective conf does not load:\n%v\n%s", err, b.String())
	}
	k1, k2 := c.Keys(), c2.Keys()
	if len(k1) != len(k2) {
		t.Fatalf("%d keys, reloaded %d", len(k1), len(k2))
	}
	for i := range k1 {
		if k1[i].Name != k2[i].Name || k1[i].Value != k2[i].Value {
			t.Errorf("%s = %q, reloaded %s = %q", k1[i].Name, k1[i].Value, k2[i].Name, k2[i].Value)
		}
	}
	if v, _ := c2.Raw("graphite_enabled"); v != "on" || c2.Int("max_offline_messages") != 9 {
		t.Errorf("ignored key or env value lost: graphite_enabled=%q max_offline_messages=%d", v, c2.Int("max_offline_messages"))
	}
	if !strings.Contains(b.String(), "max_offline_messages = 9    ## DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES\n") {
		t.Errorf("source of an env value not shown:\n%s", b.String())
	}
}

func mustParseWarn(t *testing.T, text string, env ...string) *Config {
	t.Helper()
	c, _, err := parse(t, text, env...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
