package ops

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
	"github.com/vernemq-go/vernemq/internal/vmqkeys"
)

// run runs a binary in dir and returns its combined output and exit code.
func run(t *testing.T, dir string, env []string, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// cliConf writes a minimal node conf on free ports in dir.
func cliConf(t *testing.T, dir string) (conf, mqttAddr, web string) {
	mqttAddr = fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	webAddr := fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	conf = testnode.WriteConf(t, filepath.Join(dir, "vernemq.conf"), map[string]string{
		"listener.tcp.default":  mqttAddr,
		"listener.http.default": webAddr,
		"allow_anonymous":       "on",
		"plugins.vmq_passwd":    "off",
		"plugins.vmq_acl":       "off",
		"log.console":           "console",
		"systree_enabled":       "off",
	})
	return conf, mqttAddr, "http://" + webAddr
}

// vernemq start runs the node in the background with a pid file and returns once
// it answers ping; ping, getpid, a second start, the one version everywhere, and
// stop (SIGTERM, wait, pid file gone) behave as VerneMQ's script.
func TestStartPingStop(t *testing.T) {
	dir := t.TempDir()
	conf, mqttAddr, web := cliConf(t, dir)
	pidFile := filepath.Join(dir, "data", "vernemq.pid")
	t.Cleanup(func() { // never leave a daemon behind a failed test
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if out, code := run(t, dir, nil, vernemqBin(), "ping", "-c", conf); code != 1 || !strings.Contains(out, "not responding to pings") {
		t.Fatalf("ping before start: code %d %q", code, out)
	}
	if out, code := run(t, dir, nil, vernemqBin(), "start", "-c", conf); code != 0 {
		t.Fatalf("start: code %d %q", code, out)
	}
	// start returned: the node answers at once, on MQTT too.
	c, err := net.DialTimeout("tcp", mqttAddr, 2*time.Second)
	if err != nil {
		t.Fatalf("MQTT listener not up after start returned: %v", err)
	}
	c.Close()
	if out, code := run(t, dir, nil, vernemqBin(), "ping", "-c", conf); code != 0 || out != "pong\n" {
		t.Fatalf("ping: code %d %q", code, out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("pid %d in the pid file is not alive: %v", pid, err)
	}
	if out, code := run(t, dir, nil, vernemqBin(), "getpid", "-c", conf); code != 0 || strings.TrimSpace(out) != strconv.Itoa(pid) {
		t.Fatalf("getpid: code %d %q, want %d", code, out, pid)
	}
	if out, code := run(t, dir, nil, vernemqBin(), "start", "-c", conf); code != 1 || !strings.Contains(out, "already running") {
		t.Fatalf("second start: code %d %q", code, out)
	}

	// One version: vernemq version, vmq-admin node status, /status.json.
	out, _ := run(t, dir, nil, vernemqBin(), "version")
	version := strings.TrimSpace(strings.TrimPrefix(out, "vernemq "))
	status, code := run(t, dir, nil, vmqAdminBin(), "-c", conf, "node", "status", "--format=json")
	if code != 0 || !strings.Contains(status, `"version"`) || !strings.Contains(status, `"`+version+`"`) {
		t.Fatalf("node status version is not %q: %s", version, status)
	}
	resp, err := http.Get(web + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	var js []map[string]struct {
		Status struct{ Version string } `json:"status"`
	}
	err = json.NewDecoder(resp.Body).Decode(&js)
	resp.Body.Close()
	if err != nil || len(js) != 1 || js[0]["VerneMQ@127.0.0.1"].Status.Version != version {
		t.Fatalf("/status.json version: %+v %v, want %q", js, err, version)
	}

	// vmq-admin show without a key lists every key with value and run-time flag.
	show, code := run(t, dir, nil, vmqAdminBin(), "-c", conf, "show", "--format=json")
	if code != 0 || !strings.Contains(show, `{"key":"max_offline_messages","runtime":"true","value":"1000"}`) ||
		!strings.Contains(show, `{"key":"nodename","runtime":"false","value":"VerneMQ@127.0.0.1"}`) {
		t.Fatalf("vmq-admin show: code %d %.400s", code, show)
	}

	if out, code := run(t, dir, nil, vernemqBin(), "stop", "-c", conf); code != 0 || out != "ok\n" {
		t.Fatalf("stop: code %d %q", code, out)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("process %d still alive after stop returned", pid)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file left after stop: %v", err)
	}
	if _, code := run(t, dir, nil, vernemqBin(), "stop", "-c", conf); code != 1 {
		t.Fatalf("stop of a stopped node: code %d", code)
	}
	if log, err := os.ReadFile(filepath.Join(dir, "log", "start.log")); err != nil || !strings.Contains(string(log), "shutting down gracefully") {
		t.Fatalf("start.log lacks the node's output: %v %.300s", err, log)
	}
}

// A start that fails shows why and exits 1.
func TestStartFailureShowsOutput(t *testing.T) {
	dir := t.TempDir()
	conf, mqttAddr, _ := cliConf(t, dir)
	busy, err := net.Listen("tcp", mqttAddr) // the node's port, taken
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	out, code := run(t, dir, nil, vernemqBin(), "start", "-c", conf)
	if code != 1 || !strings.Contains(out, "failed to start") || !strings.Contains(out, "address already in use") {
		t.Fatalf("start on a busy port: code %d %q", code, out)
	}
}

// config check and console agree: what check refuses, console refuses with the same
// message, naming file, line and key.
func TestConfigCheckAgreesWithConsole(t *testing.T) {
	dir := t.TempDir()
	gossip := testnode.FreePortPair(t)
	cases := []struct{ name, conf, want string }{
		{"no MQTT listener", "listener.http.default = 127.0.0.1:0\n",
			"no MQTT listener configured"},
		{"gossip port", fmt.Sprintf("listener.tcp.default = 127.0.0.1:0\nlistener.vmq.clustering = 127.0.0.1:%d\nlistener.http.default = 127.0.0.1:%d\n", gossip, gossip+1),
			fmt.Sprintf("c.conf:3: listener.http.default: port %d of listener.http.default is already used by the cluster gossip of listener.vmq.clustering", gossip+1)},
		{"missing certificate", "listener.ssl.default = 127.0.0.1:0\nlistener.ssl.certfile = " + dir + "/nope.pem\nlistener.ssl.keyfile = " + dir + "/nope.key\n",
			"c.conf:1: listener.ssl.default: certfile " + dir + "/nope.pem: no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := filepath.Join(dir, "c.conf")
			os.WriteFile(conf, []byte(c.conf+"plugins.vmq_passwd = off\nplugins.vmq_acl = off\nlog.console = console\nplatform_data_dir = "+dir+"/data\n"), 0o644)
			out, code := run(t, dir, nil, vernemqBin(), "config", "check", "-c", conf)
			if code != 1 || !strings.Contains(out, c.want) {
				t.Fatalf("config check: code %d %q, want %q", code, out, c.want)
			}
			p := testnode.Start(t, dir, nil, vernemqBin(), "console", "-c", conf)
			select {
			case <-p.Done:
			case <-time.After(15 * time.Second):
				t.Fatal("console did not refuse to start")
			}
			if p.Cmd.ProcessState.ExitCode() != 1 || !strings.Contains(p.Out.String(), c.want) {
				t.Fatalf("console: code %d %q, want %q", p.Cmd.ProcessState.ExitCode(), p.Out, c.want)
			}
		})
	}
	// A missing password file: both start (it is re-read when it appears), check warns.
	conf := filepath.Join(dir, "w.conf")
	os.WriteFile(conf, []byte("listener.tcp.default = 127.0.0.1:0\nvmq_passwd.password_file = "+dir+"/none.passwd\nvmq_acl.acl_file = "+dir+"/none.acl\n"), 0o644)
	out, code := run(t, dir, nil, vernemqBin(), "config", "check", "-c", conf)
	if code != 0 || !strings.Contains(out, "warning: "+conf+":2: vmq_passwd.password_file: password file "+dir+"/none.passwd: no such file") ||
		!strings.Contains(out, "config is OK") {
		t.Fatalf("missing password file: code %d %q", code, out)
	}
}

// The vernemq.conf VerneMQ 2.2 generates from its schemas' defaults (built from the
// key list), ending with include conf.d/*.conf, passes config check and starts a node;
// ports are moved Docker style, as the VerneMQ image does.
func TestVerneMQ22DefaultConfStarts(t *testing.T) {
	keys, err := vmqkeys.Read("../../pkg/config/testdata/vernemq-2.2-keys.tsv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc", "vernemq.conf")
	os.MkdirAll(filepath.Join(dir, "etc", "conf.d"), 0o755)
	if err := os.WriteFile(conf, []byte(vmqkeys.DefaultConf(keys)), 0o644); err != nil {
		t.Fatal(err)
	}
	// conf.d holds a drop-in, as Ansible roles write them.
	os.WriteFile(filepath.Join(dir, "etc", "conf.d", "10-anon.conf"), []byte("allow_anonymous = on\n"), 0o644)
	mqttAddr := fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	web := fmt.Sprintf("127.0.0.1:%d", testnode.FreePort(t))
	env := []string{
		"DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=" + mqttAddr,
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__WS__DEFAULT=127.0.0.1:%d", testnode.FreePort(t)),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__VMQ__CLUSTERING=127.0.0.1:%d", testnode.FreePortPair(t)),
		"DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT=" + web,
		"DOCKER_VERNEMQ_LOG__CONSOLE=console",
	}
	out, code := run(t, dir, env, vernemqBin(), "config", "check", "-c", conf)
	if code != 0 || !strings.Contains(out, "config is OK") {
		t.Fatalf("config check of the VerneMQ 2.2 default conf: code %d\n%s", code, out)
	}
	if strings.Count(out, "accepted and ignored") < 10 || !strings.Contains(out, "listener.ssl.name.allow_anonymous_override: ignored: no listener") {
		t.Errorf("expected accepted-and-ignored and undefined-listener warnings:\n%s", out)
	}
	p := testnode.Start(t, dir, env, vernemqBin(), "console", "-c", conf)
	p.WaitTCP(mqttAddr, 20*time.Second)
	cl := connect(t, mqttAddr, "default-conf-client", true, nil) // allow_anonymous from conf.d
	if !cl.IsConnected() {
		t.Fatal("MQTT client not connected")
	}
	if code, err := p.Terminate(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("terminate: code %d %v\n%s", code, err, p.Out)
	}
}

// Unknown subcommands of vernemq and vmq-admin exit non-zero with a suggestion.
func TestUnknownSubcommands(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		bin  string
		args []string
		want []string
	}{
		{vernemqBin(), []string{"strat"}, []string{`unknown command "strat" for "vernemq"`, "Did you mean this?", "start"}},
		{vernemqBin(), []string{"config", "chek"}, []string{`unknown command "chek" for "vernemq config"`, "check"}},
		{vmqAdminBin(), []string{"session", "list"}, []string{`unknown command "list" for "vmq-admin session"`, "Did you mean this?", "show"}},
		{vmqAdminBin(), []string{"plugin", "upgrade", "name=x"}, []string{`unknown command "upgrade" for "vmq-admin plugin"`, "vmq-admin plugin has: disable, enable, show"}},
		{vmqAdminBin(), []string{"sesion", "show"}, []string{`unknown command "sesion" for "vmq-admin"`, "session"}},
	}
	for _, c := range cases {
		out, code := run(t, dir, nil, c.bin, c.args...)
		if code == 0 {
			t.Errorf("%s %v: exit 0, want non-zero; output %q", filepath.Base(c.bin), c.args, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s %v: output %q lacks %q", filepath.Base(c.bin), c.args, out, w)
			}
		}
	}
}

// config generate prints the effective conf (file, includes, environment); it loads
// back to the same values.
func TestConfigGenerate(t *testing.T) {
	dir := t.TempDir()
	conf, _, _ := cliConf(t, dir)
	f, _ := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "max_inflight_messages = 7\ngraphite_enabled = on\ninclude conf.d/*.conf\n")
	f.Close()
	os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf.d", "a.conf"), []byte("max_online_messages = 77\n"), 0o644)
	env := []string{"DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES=55"}
	out, code := run(t, dir, env, vernemqBin(), "config", "generate", "-c", conf)
	if code != 0 {
		t.Fatalf("config generate: code %d %s", code, out)
	}
	for _, want := range []string{
		"max_inflight_messages = 7    ## " + conf + ":",
		"max_online_messages = 77    ## " + filepath.Join(dir, "conf.d", "a.conf") + ":1",
		"max_offline_messages = 55    ## DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES",
		"graphite_enabled = on    ## accepted and ignored",
		"retry_interval = 20s\n", // a default
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config generate lacks %q", want)
		}
	}
	gen := filepath.Join(dir, "generated.conf")
	// The generated conf is a complete conf on its own: it checks out without the env.
	os.WriteFile(gen, []byte(out[strings.Index(out, "## Effective"):]), 0o644)
	if out, code := run(t, dir, nil, vernemqBin(), "config", "check", "-c", gen); code != 0 {
		t.Fatalf("generated conf does not check: %s", out)
	}
	if out, code := run(t, dir, nil, vernemqBin(), "chkconfig", "-c", gen); code != 0 || !strings.Contains(out, "config is OK") {
		t.Fatalf("chkconfig: code %d %s", code, out)
	}
}
