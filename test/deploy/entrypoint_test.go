package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imageHome lays out a VERNEMQ_HOME as the Dockerfile does: bin/ with the
// commands and the entrypoint, etc/vernemq.conf.default from scripts/docker.
func imageHome(t *testing.T, localConf string) string {
	t.Helper()
	home := t.TempDir()
	for _, d := range []string{"bin", "etc", "data", "log"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"vernemq", "vmq-admin", "vmq-passwd"} {
		if err := os.Symlink(filepath.Join(binDir, b), filepath.Join(home, "bin", b)); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(repoRoot, "scripts/docker/vernemq.conf"), filepath.Join(home, "etc/vernemq.conf.default"))
	copyFile(t, filepath.Join(repoRoot, "conf/vmq.acl"), filepath.Join(home, "etc/vmq.acl"))
	if localConf != "" {
		if err := os.WriteFile(filepath.Join(home, "etc/vernemq.conf.local"), []byte(localConf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dirsEnv points the image's /vernemq paths at the temporary home.
func dirsEnv(home string) []string {
	return []string{
		"VERNEMQ_HOME=" + home,
		"DOCKER_VERNEMQ_PLATFORM_DATA_DIR=" + home + "/data",
		"DOCKER_VERNEMQ_PLATFORM_LOG_DIR=" + home + "/log",
		"DOCKER_VERNEMQ_PLATFORM_ETC_DIR=" + home + "/etc",
	}
}

// dryRun renders the conf with the entrypoint and returns its stdout.
func dryRun(t *testing.T, home string, env ...string) string {
	t.Helper()
	out, err := run(t, 30*time.Second, baseEnv(append([]string{"VERNEMQ_ENTRYPOINT_DRY_RUN=1"}, env...)...),
		repoRoot, "sh", filepath.Join(repoRoot, "scripts/docker/vernemq.sh"))
	if err != nil {
		t.Fatalf("entrypoint dry run: %v\n%s", err, out)
	}
	return out
}

// activeLines are the key = value lines of a conf, comments dropped.
func activeLines(t *testing.T, conf string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("conf line without =: %q", line)
		}
		k = strings.TrimSpace(k)
		if _, dup := kv[k]; dup {
			t.Fatalf("key %s written twice in %s", k, conf)
		}
		kv[k] = strings.TrimSpace(v)
	}
	return kv
}

func TestEntrypointDockerVariables(t *testing.T) {
	home := imageHome(t, "")
	out := dryRun(t, home, append(dirsEnv(home),
		"VERNEMQ_IP_ADDRESS=10.9.8.7",
		"DOCKER_VERNEMQ_ALLOW_ANONYMOUS=on",
		"DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL=debug",
		"DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=0.0.0.0:1884",
		"DOCKER_VERNEMQ_MAX_OFFLINE_MESSAGES=5000",
		"DOCKER_VERNEMQ_DISTRIBUTED_COOKIE=s3cret-cookie",
		"DOCKER_VERNEMQ_NODENAME=VerneMQ@broker1.example",
		"DOCKER_VERNEMQ_ERLANG__MAX_PORTS=262144",
		"DOCKER_VERNEMQ_USER_alice=wonder land",
		"DOCKER_VERNEMQ_DISCOVERY_NODE=VerneMQ@10.9.8.1",
	)...)
	conf := filepath.Join(home, "etc/vernemq.conf")
	kv := activeLines(t, conf)
	want := map[string]string{
		"allow_anonymous":         "on",
		"log.console.level":       "debug",
		"listener.tcp.default":    "0.0.0.0:1884",
		"max_offline_messages":    "5000",
		"distributed_cookie":      "s3cret-cookie",
		"nodename":                "VerneMQ@broker1.example",
		"listener.vmq.clustering": "10.9.8.7:44053", // ###IPADDRESS### of the template
		"erlang.max_ports":        "262144",
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q in the rendered conf, want %q", k, kv[k], v)
		}
	}
	for k := range kv {
		if strings.Contains(k, "discovery") || strings.Contains(k, "user_") {
			t.Errorf("entrypoint-only variable written as conf key %s", k)
		}
	}
	if !strings.Contains(out, "## would join: 10.9.8.1:44053") {
		t.Errorf("DOCKER_VERNEMQ_DISCOVERY_NODE=VerneMQ@10.9.8.1 not turned into a join of 10.9.8.1:44053; output:\n%s", out)
	}
	pw, err := os.ReadFile(filepath.Join(home, "etc/vmq.passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pw), "alice:$6$") || strings.Contains(string(pw), "wonder") {
		t.Errorf("vmq.passwd should hold a hashed entry for alice, got %q", pw)
	}
	if out, err := configCheck(t, conf); err != nil {
		t.Fatalf("vernemq config check refused the rendered conf: %v\n%s", err, out)
	}
}

func TestEntrypointKubernetesDiscovery(t *testing.T) {
	home := imageHome(t, "")
	// localhost stands for the headless service: its A record (127.0.0.1) is the peer.
	out := dryRun(t, home, append(dirsEnv(home),
		"VERNEMQ_IP_ADDRESS=127.0.0.2",
		"DOCKER_VERNEMQ_DISCOVERY_KUBERNETES=1",
		"MY_POD_NAME=vernemq-2",
		"DOCKER_VERNEMQ_KUBERNETES_NAMESPACE=mqtt",
		"DOCKER_VERNEMQ_KUBERNETES_SERVICE=vernemq-headless",
		"DOCKER_VERNEMQ_KUBERNETES_SERVICE_FQDN=localhost",
	)...)
	conf := filepath.Join(home, "etc/vernemq.conf")
	kv := activeLines(t, conf)
	if got, want := kv["nodename"], "VerneMQ@vernemq-2.vernemq-headless.mqtt.svc.cluster.local"; got != want {
		t.Errorf("nodename = %q, want %q", got, want)
	}
	if !strings.Contains(out, "## would join: 127.0.0.1:44053") {
		t.Errorf("the headless service's address was not offered as a peer; output:\n%s", out)
	}
	// Its own address must not be: a pod does not join itself.
	out = dryRun(t, home, append(dirsEnv(home), "VERNEMQ_IP_ADDRESS=127.0.0.1", "DOCKER_VERNEMQ_DISCOVERY_KUBERNETES=1",
		"DOCKER_VERNEMQ_KUBERNETES_SERVICE_FQDN=localhost")...)
	if strings.Contains(out, "would join") {
		t.Errorf("pod offered to join itself:\n%s", out)
	}
	if out, err := configCheck(t, conf); err != nil {
		t.Fatalf("vernemq config check refused the rendered conf: %v\n%s", err, out)
	}
}

// A bad value must reach the broker's check: the rendering does not hide errors.
func TestEntrypointBadValueRefused(t *testing.T) {
	home := imageHome(t, "")
	dryRun(t, home, append(dirsEnv(home), "VERNEMQ_IP_ADDRESS=127.0.0.1", "DOCKER_VERNEMQ_MAX_INFLIGHT_MESSAGES=lots")...)
	out, err := configCheck(t, filepath.Join(home, "etc/vernemq.conf"))
	if err == nil || !strings.Contains(out, "max_inflight_messages") {
		t.Fatalf("config check accepted max_inflight_messages = lots (err %v):\n%s", err, out)
	}
}

// The entrypoint for real: renders, starts the broker without the DOCKER_VERNEMQ_
// variables (the broker would see every key twice), serves MQTT with the user it
// created, and stops cleanly on SIGTERM.
func TestEntrypointRunsBroker(t *testing.T) {
	home := imageHome(t, "")
	cp := clusterPort(t) // serf gossips on cp+1
	p := freePorts(t, 3, cp, cp+1)
	env := baseEnv(append(dirsEnv(home),
		"VERNEMQ_IP_ADDRESS=127.0.0.1",
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=127.0.0.1:%d", p[0]),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__WS__DEFAULT=127.0.0.1:%d", p[1]),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__VMQ__CLUSTERING=127.0.0.1:%d", cp),
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT=127.0.0.1:%d", p[2]),
		"DOCKER_VERNEMQ_USER_bob=builder-pw",
	)...)
	proc := start(t, env, "sh", filepath.Join(repoRoot, "scripts/docker/vernemq.sh"))
	waitPublish(t, p[0], proc.exited, proc.out.String, "-u", "bob", "-P", "builder-pw")
	proc.stop(t, 40*time.Second)
}
