package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChefCookbook checks what can be checked without Chef (not packaged in Debian): every
// Ruby file passes `ruby -c`; the templates, rendered with Ruby's ERB from the default
// attributes and from test/attributes.json, pass `vernemq config check`; and the broker
// started from the test rendering (with its ACL and hashed users) accepts a user's publish.
func TestChefCookbook(t *testing.T) {
	ruby := tool(t, "ruby")
	book := filepath.Join(repoRoot, "scripts/chef/vernemq")
	var rb []string
	filepath.WalkDir(book, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".rb") {
			rb = append(rb, p)
		}
		return err
	})
	if len(rb) < 5 {
		t.Fatalf("Ruby files: %v", rb)
	}
	for _, f := range rb {
		if out, err := run(t, 30*time.Second, baseEnv(), book, ruby, "-c", f); err != nil || !strings.Contains(out, "Syntax OK") {
			t.Fatalf("ruby -c %s: %v\n%s", f, err, out)
		}
	}
	render := func(attrs string) string {
		t.Helper()
		out := t.TempDir()
		args := []string{"test/render.rb", out}
		if attrs != "" {
			args = append(args, attrs)
		}
		if o, err := run(t, 30*time.Second, baseEnv(), book, ruby, args...); err != nil {
			t.Fatalf("render %v: %v\n%s", args, err, o)
		}
		if o, err := configCheck(t, filepath.Join(out, "vernemq.conf")); err != nil {
			t.Fatalf("vernemq config check of the conf rendered from %q: %v\n%s", attrs, err, o)
		}
		return out
	}
	def := activeLines(t, filepath.Join(render(""), "vernemq.conf"))
	if def["platform_data_dir"] != "/var/lib/vernemq" || def["listener.tcp.default"] != "127.0.0.1:1883" || def["allow_anonymous"] != "off" {
		t.Errorf("default attributes rendered: %v", def)
	}

	// The test attributes, with a temporary root and free ports.
	var attrs map[string]map[string]any
	b, err := os.ReadFile(filepath.Join(book, "test/attributes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &attrs); err != nil {
		t.Fatal(err)
	}
	r := newInstallRoot(t)
	root := r.dir
	v := attrs["vernemq"]
	v["root"], v["mqtt_port"], v["cluster_port"], v["http_port"], v["allow_anonymous"] = root, r.mqtt, r.cluster, r.http, "off"
	b, _ = json.Marshal(attrs)
	af := filepath.Join(t.TempDir(), "attributes.json")
	os.WriteFile(af, b, 0o600)
	out := render(af)
	conf := filepath.Join(out, "vernemq.conf")
	kv := activeLines(t, conf)
	if kv["max_offline_messages"] != "4242" || kv["max_message_size"] != "65536" || kv["nodename"] != "VerneMQ@chef-test" ||
		kv["platform_etc_dir"] != filepath.Join(root, "etc/vernemq") || kv["log.console.level"] != "debug" {
		t.Errorf("test attributes rendered: %v", kv)
	}
	// Lay out what the recipe would (etc, data, log dirs; vmq.acl; vmq.passwd hashed by vmq-passwd -U).
	etc := filepath.Join(root, "etc/vernemq")
	for _, d := range []string{etc, filepath.Join(root, "var/lib/vernemq"), filepath.Join(root, "var/log/vernemq")} {
		os.MkdirAll(d, 0o750)
	}
	copyFile(t, filepath.Join(out, "vmq.acl"), filepath.Join(etc, "vmq.acl"))
	copyFile(t, filepath.Join(out, "vmq.passwd.src"), filepath.Join(etc, "vmq.passwd"))
	if o, err := run(t, 30*time.Second, baseEnv(), root, filepath.Join(binDir, "vmq-passwd"), "-U", filepath.Join(etc, "vmq.passwd")); err != nil {
		t.Fatalf("vmq-passwd -U: %v\n%s", err, o)
	}
	r.serve(t, filepath.Join(binDir, "vernemq"), conf, "-u", "alice", "-P", "alice-pw")
}
