package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAnsibleRole installs the `make dist` tarball with the role into a temporary
// root (connection local), checks a second run changes nothing, then starts the
// broker from the conf the role wrote and publishes to it over MQTT.
func TestAnsibleRole(t *testing.T) {
	playbook := tool(t, "ansible-playbook")
	tgz := distTarball(t)
	r := newInstallRoot(t)
	root := r.dir
	vars := map[string]any{
		"vernemq_release_tarball": tgz,
		"vernemq_root":            root,
		"vernemq_create_user":     false,
		"vernemq_user":            r.user,
		"vernemq_group":           r.group,
		"vernemq_admin_owner":     r.user,
		"vernemq_admin_group":     r.group,
		"vernemq_listen_ip":       "127.0.0.1",
		"vernemq_mqtt_port":       r.mqtt,
		"vernemq_cluster_port":    r.cluster,
		"vernemq_http_port":       r.http,
		"vernemq_cookie":          "ansible-test-cookie",
		"vernemq_manage_service":  false,
		"vernemq_config":          map[string]string{"allow_anonymous": "on", "max_offline_messages": "4242"},
		"ansible_become":          false, // the play asks for root; the test runs as whoever it is
	}
	b, _ := json.Marshal(vars)
	work := t.TempDir()
	varsFile := filepath.Join(work, "vars.json")
	inv := filepath.Join(work, "inventory.ini")
	py, _ := exec.LookPath("python3")
	os.WriteFile(varsFile, b, 0o600)
	os.WriteFile(inv, []byte(fmt.Sprintf("[vernemq]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n", py)), 0o600)
	env := baseEnv("ANSIBLE_CONFIG="+filepath.Join(repoRoot, "scripts/ansible/ansible.cfg"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(work, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(work, "tmp"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0")
	site := filepath.Join(repoRoot, "scripts/ansible/site.yml")
	args := []string{"-i", inv, "-c", "local", "-e", "@" + varsFile, site}

	out, err := run(t, playbookTimeout, env, filepath.Join(repoRoot, "scripts/ansible"), playbook, args...)
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	r.requireFiles(t, "the role", "etc/vernemq/vmq.acl")
	conf := filepath.Join(root, "etc/vernemq/vernemq.conf")
	kv := activeLines(t, conf)
	if kv["max_offline_messages"] != "4242" || kv["distributed_cookie"] != "ansible-test-cookie" ||
		kv["platform_data_dir"] != filepath.Join(root, "var/lib/vernemq") {
		t.Errorf("vernemq.conf does not follow the variables: %v", kv)
	}

	// Idempotent: a second run changes nothing.
	out, err = run(t, playbookTimeout, env, filepath.Join(repoRoot, "scripts/ansible"), playbook, args...)
	if err != nil {
		t.Fatalf("second ansible-playbook run: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`changed=(\d+)`).FindStringSubmatch(out); m == nil || m[1] != "0" {
		t.Errorf("second run changed something:\n%s", out)
	}

	verifyUnit(t, root)
	r.serve(t, filepath.Join(root, "usr/lib/vernemq/bin/vernemq"), conf)
}

// verifyUnit runs systemd-analyze verify on the installed unit when systemd's tools are here.
func verifyUnit(t *testing.T, root string) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified")
		return
	}
	// The unit names /usr/lib/vernemq/bin/vernemq: point a copy at the temporary root.
	b, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/vernemq.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "vernemq.service")
	os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/lib/vernemq", filepath.Join(root, "usr/lib/vernemq"))), 0o644)
	// verify exits 0 on ignored bad lines, so any message about the unit is a failure.
	out, err := run(t, 30*time.Second, baseEnv(), root, sa, "verify", "--man=no", unit)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// playbookTimeout bounds a hung ansible-playbook run; it is no speed target: a playbook
// run takes ~40 s on a quiet 2-core machine and has taken over 90 s beside a CPU hog.
const playbookTimeout = 5 * time.Minute
