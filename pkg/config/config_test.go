package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	file := "allow_anonymous = off\nlistener.tcp.default = 127.0.0.1:1883\nmax_inflight_messages = 5\n"
	env := []string{
		"PATH=/usr/bin",
		"DOCKER_VERNEMQ_ALLOW_ANONYMOUS=on",
		"DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=127.0.0.1:1884",
		"DOCKER_VERNEMQ_LISTENER__WS__DEFAULT=127.0.0.1:8080",
		"DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL=debug",
		"DOCKER_VERNEMQ_NODENAME=VerneMQ@10.0.0.1",
	}
	c := mustParse(t, file, env...)
	if !c.Bool("allow_anonymous") {
		t.Errorf("env did not override allow_anonymous")
	}
	if c.Int("max_inflight_messages") != 5 {
		t.Errorf("file value lost")
	}
	if c.String("log.console.level") != "debug" || c.String("nodename") != "VerneMQ@10.0.0.1" {
		t.Errorf("env keys not applied")
	}
	if got := c.Source("allow_anonymous"); got != "DOCKER_VERNEMQ_ALLOW_ANONYMOUS" {
		t.Errorf("Source = %q", got)
	}
	ls := c.Listeners()
	if len(ls) != 2 || ls[0].Addr != "127.0.0.1:1884" || ls[1].Type != "ws" || ls[1].WSPath != "/mqtt" {
		t.Errorf("listeners = %+v", ls)
	}
}

func TestEnvErrorsAndWarnings(t *testing.T) {
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"DOCKER_VERNEMQ_ALLOW_ANONYMOUS=maybe"}, "DOCKER_VERNEMQ_ALLOW_ANONYMOUS: allow_anonymous:"},
		{[]string{"DOCKER_VERNEMQ_NO_SUCH_KEY=1"}, "DOCKER_VERNEMQ_NO_SUCH_KEY: no_such_key: unknown key"},
		{[]string{"DOCKER_VERNEMQ_LISTENER__TCP__X=nowhere"}, "DOCKER_VERNEMQ_LISTENER__TCP__X: listener.tcp.x:"},
		{[]string{"DOCKER_VERNEMQ_ALLOW_ANONYMOUS=on", "DOCKER_VERNEMQ_allow_anonymous=off"}, "allow_anonymous: set twice (first at DOCKER_VERNEMQ_ALLOW_ANONYMOUS)"},
	}
	for _, c := range cases {
		_, _, err := parse(t, "", c.env...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v: err = %v, want %q", c.env, err, c.want)
		}
	}
	_, warns, err := parse(t, "", "DOCKER_VERNEMQ_ACCEPT_EULA=yes", "DOCKER_VERNEMQ_DISCOVERY_NODE=10.0.0.2")
	if err != nil || len(warns) != 2 || !strings.HasPrefix(warns[0], "DOCKER_VERNEMQ_ACCEPT_EULA: handled by the VerneMQ Docker entrypoint") {
		t.Errorf("docker-only vars: warns=%q err=%v", warns, err)
	}
}

func TestListenerHierarchy(t *testing.T) {
	c := mustParse(t, `
listener.max_connections = 500
listener.nr_of_acceptors = 4
listener.mountpoint = global
listener.tcp.max_connections = 200
listener.tcp.a = 127.0.0.1:0
listener.tcp.b = 127.0.0.1:0
listener.tcp.b.max_connections = infinity
listener.tcp.b.mountpoint = off
listener.tcp.b.proxy_protocol = on
listener.tcp.b.buffer_sizes = 4KB,8KB,16KB
listener.tcp.b.sndbuf = 1KB
listener.ssl.certfile = /c.pem
listener.ssl.keyfile = /k.pem
listener.ssl.s = [::1]:8883
listener.ssl.s.tls_version = tlsv1.2,tlsv1.3
listener.ssl.s.allowed_protocol_versions = 5
listener.ssl.s.use_identity_as_username = on
listener.http.api = 127.0.0.1:0
listener.http.api.http_modules = vmq_health_http
listener.vmq.clustering = 127.0.0.1:44053
listener.tcp.unix = local:/tmp/x.sock:0
`)
	ls := c.Listeners()
	var order []string
	byName := map[string]Listener{}
	for _, l := range ls {
		order = append(order, l.Type+"."+l.Name)
		byName[l.Type+"."+l.Name] = l
	}
	if strings.Join(order, " ") != "tcp.a tcp.b tcp.unix ssl.s vmq.clustering http.api" {
		t.Fatalf("order = %v", order)
	}
	a, b, s, h, v, u := byName["tcp.a"], byName["tcp.b"], byName["ssl.s"], byName["http.api"], byName["vmq.clustering"], byName["tcp.unix"]
	if a.MaxConnections != 200 || b.MaxConnections != 0 || s.MaxConnections != 500 {
		t.Errorf("max_connections a=%d b=%d s=%d, want 200 0 500", a.MaxConnections, b.MaxConnections, s.MaxConnections)
	}
	if a.NrOfAcceptors != 4 || a.Mountpoint != "global" || b.Mountpoint != "" {
		t.Errorf("a acceptors=%d mountpoint=%q b mountpoint=%q", a.NrOfAcceptors, a.Mountpoint, b.Mountpoint)
	}
	if !b.ProxyProtocol || !b.ProxyProtocolUseCNAsUsername || b.ProxyProtocolTimeout != 3*time.Second || a.ProxyProtocol || a.ProxyProtocolUseCNAsUsername {
		t.Errorf("proxy protocol a=%+v b=%+v", a, b)
	}
	if b.SndBuf != 1024 || b.RecBuf != 8192 || b.Buffer != 16384 || a.SndBuf != 0 {
		t.Errorf("buffers b=%d,%d,%d", b.SndBuf, b.RecBuf, b.Buffer)
	}
	if string(a.AllowedProtocolVersions) != "\x03\x04\x05" || string(s.AllowedProtocolVersions) != "\x05" {
		t.Errorf("versions a=%v s=%v", a.AllowedProtocolVersions, s.AllowedProtocolVersions)
	}
	if s.Addr != "[::1]:8883" || s.CertFile != "/c.pem" || s.KeyFile != "/k.pem" || s.TLSVersion != "tlsv1.2,tlsv1.3" ||
		!slices.Equal(s.TLSVersions, []string{"tlsv1.2", "tlsv1.3"}) || !s.UseIdentityAsUsername || s.Depth != 1 {
		t.Errorf("ssl = %+v", s)
	}
	if a.CertFile != "" || a.TLSVersion != "" || a.Depth != 0 {
		t.Errorf("TLS options leaked into tcp: %+v", a)
	}
	if !slices.Equal(h.HTTPModules, []string{"vmq_health_http"}) || len(v.HTTPModules) != 0 || v.NrOfAcceptors != 4 {
		t.Errorf("http=%+v vmq=%+v", h, v)
	}
	if u.Network != "unix" || u.Addr != "/tmp/x.sock" {
		t.Errorf("unix = %+v", u)
	}
	// Getters resolve the hierarchy too.
	if c.Int("listener.tcp.a.max_connections") != 200 || c.Int("listener.ssl.max_connections") != 500 {
		t.Errorf("Int through hierarchy")
	}
	// http listener without its own modules falls back to the global http_modules key.
	c2 := mustParse(t, "listener.http.default = 127.0.0.1:0\n")
	if got := c2.Listeners()[0].HTTPModules; len(got) != 5 || got[0] != "vmq_metrics_http" {
		t.Errorf("default http modules = %v", got)
	}
}

func TestSet(t *testing.T) {
	c := Defaults()
	var mu sync.Mutex
	var seen []string
	c.OnChange(func(k, v string) { mu.Lock(); seen = append(seen, k+"="+v); mu.Unlock() })

	cases := []struct {
		key, val string
		errIs    error
		errText  string
	}{
		{"allow_anonymous", "true", nil, ""},
		{"max_online_messages", "50", nil, ""},
		{"retry_interval", "5s", nil, ""},
		{"log.console.level", "debug", nil, ""},
		{"max_online_messages", "-7", nil, "allowed: >= -1"},
		{"queue_type", "heap", nil, "allowed: fifo, lifo"},
		{"nodename", "a@b", ErrNotRuntime, "restart"},
		{"listener.tcp.default", "127.0.0.1:1", ErrNotRuntime, "restart"},
		{"store.fsync", "off", ErrNotRuntime, "restart"},
		{"allow_anonymus", "on", ErrUnknownKey, "did you mean allow_anonymous"},
	}
	for _, cs := range cases {
		err := c.Set(cs.key, cs.val)
		switch {
		case cs.errIs == nil && cs.errText == "":
			if err != nil {
				t.Errorf("Set(%s, %s) = %v", cs.key, cs.val, err)
			}
		case err == nil:
			t.Errorf("Set(%s, %s) succeeded", cs.key, cs.val)
		case cs.errIs != nil && !errors.Is(err, cs.errIs):
			t.Errorf("Set(%s) err = %v, want %v", cs.key, err, cs.errIs)
		case !strings.Contains(err.Error(), cs.errText) || !strings.HasPrefix(err.Error(), cs.key+": "):
			t.Errorf("Set(%s) err = %q, want key prefix and %q", cs.key, err, cs.errText)
		}
	}
	if !c.Bool("allow_anonymous") || c.Int("max_online_messages") != 50 || c.Duration("retry_interval") != 5*time.Second {
		t.Errorf("values not applied")
	}
	want := []string{"allow_anonymous=on", "max_online_messages=50", "retry_interval=5s", "log.console.level=debug"}
	if !slices.Equal(seen, want) {
		t.Errorf("OnChange saw %v, want %v", seen, want)
	}
	if c.Source("retry_interval") != "vmq-admin set" {
		t.Errorf("Source after Set = %q", c.Source("retry_interval"))
	}
}

func TestPluginsOrder(t *testing.T) {
	c, warns, err := parse(t, `
plugins.vmq_diversity = on
plugins.vmq_diversity.priority = 5
plugins.vmq_passwd.priority = 2
plugins.vmq_acl = off
plugins.my_plugin = on
plugins.my_plugin.path = /opt/my_plugin
`)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "plugins.my_plugin.path: accepted and ignored") {
		t.Fatalf("warnings %q, err %v", warns, err)
	}
	got := fmt.Sprint(c.Plugins())
	if got != "[{vmq_passwd 2} {vmq_diversity 5} {my_plugin 1000}]" {
		t.Errorf("Plugins = %s", got)
	}
}

func TestKeys(t *testing.T) {
	c := mustParse(t, "plugins.my_plugin = on\nretry_interval = 7s\nlistener.tcp.default = 127.0.0.1:0\n")
	info := map[string]KeyInfo{}
	names := []string{}
	for _, k := range c.Keys() {
		info[k.Name] = k
		names = append(names, k.Name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Keys not sorted")
	}
	r := info["retry_interval"]
	if r.Type != TypeDuration || r.Default != "20s" || r.Value != "7s" || !r.Runtime || r.Unit != "s" || r.Doc == "" {
		t.Errorf("retry_interval info = %+v", r)
	}
	if k := info["nodename"]; k.Runtime || k.Type != TypeString {
		t.Errorf("nodename info = %+v", k)
	}
	if k, ok := info["plugins.my_plugin"]; !ok || k.Value != "on" {
		t.Errorf("set pattern key missing from Keys: %+v", k)
	}
	if k := info["listener.tcp.max_connections"]; k.Value != "10000" || !strings.Contains(k.Default, "inherited from listener.max_connections") {
		t.Errorf("listener.tcp.max_connections info = %+v", k)
	}
}

func TestGetterPanics(t *testing.T) {
	c := Defaults()
	for _, f := range []func(){
		func() { c.Int("no_such_key") },
		func() { c.Bool("max_inflight_messages") },
		func() { c.Duration("allow_anonymous") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		}()
	}
}

// TestConcurrentUse is meaningful under -race: readers and Set run together.
func TestConcurrentUse(t *testing.T) {
	c := mustParse(t, "listener.tcp.default = 127.0.0.1:0\n")
	c.OnChange(func(k, v string) { _ = c.String(k) }) // callbacks may read the config
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if i%2 == 0 {
					if err := c.Set("max_inflight_messages", fmt.Sprint(j)); err != nil {
						t.Error(err)
						return
					}
				} else {
					_ = c.Int("max_inflight_messages")
					_ = c.Listeners()
					_ = c.Keys()
				}
			}
		}()
	}
	wg.Wait()
	if c.Int("max_inflight_messages") != 199 {
		t.Errorf("final value = %d", c.Int("max_inflight_messages"))
	}
}
