package deploy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPuppetModule validates every manifest and template of scripts/puppet, applies class
// vernemq with Debian's puppet into a temporary root twice (the second run must change
// nothing), then starts the broker from the conf it wrote and publishes as the user it created.
func TestPuppetModule(t *testing.T) {
	puppet := tool(t, "puppet")
	module := filepath.Join(repoRoot, "scripts/puppet/vernemq")
	var pp, epp []string
	filepath.WalkDir(module, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case strings.HasSuffix(p, ".pp"):
			pp = append(pp, p)
		case strings.HasSuffix(p, ".epp"):
			epp = append(epp, p)
		}
		return nil
	})
	if len(pp) < 4 || len(epp) < 1 {
		t.Fatalf("manifests %v, templates %v", pp, epp)
	}
	work := t.TempDir()
	dirs := []string{"--confdir", filepath.Join(work, "conf"), "--vardir", filepath.Join(work, "var"),
		"--codedir", filepath.Join(work, "code"), "--logdir", filepath.Join(work, "log"), "--rundir", filepath.Join(work, "run")}
	for _, v := range [][]string{append([]string{"parser", "validate"}, pp...), append([]string{"epp", "validate"}, epp...)} {
		if out, err := run(t, 2*time.Minute, baseEnv(), repoRoot, puppet, append(v, dirs...)...); err != nil {
			t.Fatalf("puppet %s %s: %v\n%s", v[0], v[1], err, out)
		}
	}

	tgz := distTarball(t)
	r := newInstallRoot(t)
	root := r.dir
	site := filepath.Join(work, "site.pp")
	os.WriteFile(site, []byte(fmt.Sprintf(`class { 'vernemq':
  release_tarball      => '%s',
  root                 => '%s',
  create_user          => false,
  user                 => '%s',
  group                => '%s',
  admin_owner          => '%s',
  admin_group          => '%s',
  listen_ip            => '127.0.0.1',
  mqtt_port            => %d,
  cluster_port         => %d,
  http_port            => %d,
  cookie               => Sensitive('puppet-test-cookie'),
  manage_service       => false,
  max_offline_messages => 4242,
  users                => { 'alice' => Sensitive('alice-pw') },
  acl_content          => "user alice\ntopic readwrite deploy/#\n",
  config               => { 'max_message_size' => 65536 },
}
`, tgz, root, r.user, r.group, r.user, r.group, r.mqtt, r.cluster, r.http)), 0o600)
	apply := func() (string, int) {
		t.Helper()
		out, err := run(t, 3*time.Minute, baseEnv(), repoRoot, puppet, append(append([]string{"apply", "--detailed-exitcodes",
			"--modulepath", filepath.Join(repoRoot, "scripts/puppet")}, dirs...), site)...)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("puppet apply: %v\n%s", err, out)
		}
		code := 0
		if ee != nil {
			code = ee.ExitCode()
		}
		return out, code
	}
	// --detailed-exitcodes: 0 nothing changed, 2 changes, 4/6 failures.
	if out, code := apply(); code != 2 {
		t.Fatalf("first puppet apply: exit %d, want 2 (changes, no failure)\n%s", code, out)
	}
	r.requireFiles(t, "the module", "etc/vernemq/vmq.acl", "etc/vernemq/vmq.passwd")
	conf := filepath.Join(root, "etc/vernemq/vernemq.conf")
	kv := activeLines(t, conf)
	if kv["max_offline_messages"] != "4242" || kv["distributed_cookie"] != "puppet-test-cookie" ||
		kv["max_message_size"] != "65536" || kv["platform_data_dir"] != filepath.Join(root, "var/lib/vernemq") {
		t.Errorf("vernemq.conf does not follow the parameters: %v", kv)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/vernemq/vmq.passwd")); !strings.HasPrefix(string(b), "alice:$6$") {
		t.Errorf("vmq.passwd holds no hashed password for alice: %q", b)
	}
	if out, code := apply(); code != 0 {
		t.Errorf("second puppet apply: exit %d, want 0 (nothing to change)\n%s", code, out)
	}

	verifyUnit(t, root)
	r.serve(t, filepath.Join(root, "usr/lib/vernemq/bin/vernemq"), conf, "-u", "alice", "-P", "alice-pw")
}
