// Package deploy tests the deployment artifacts with the real tools: the docker
// entrypoint (scripts/docker), the Helm chart (helm template + kubeconform), the
// Ansible role (ansible-playbook, connection local, into a temporary root) and
// `make dist`. Tools come from scripts/install-deploy-deps.sh; a missing tool skips
// its part unless VMQ_REQUIRE_TOOLS is set, when it fails.
package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

var (
	repoRoot string
	binDir   string
	scratch  string // removed after the run; holds what tests share (the dist tarball)
)

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	binDir = os.Getenv("VMQ_BIN")
	if scratch, err = os.MkdirTemp("", "vmq-deploy-"); err != nil {
		panic(err)
	}
	cleanup := func() {}
	if binDir == "" {
		// Without make's VMQ_BIN, build the commands once for this run.
		dir, err := os.MkdirTemp("", "vmq-deploy-bin-")
		if err != nil {
			panic(err)
		}
		cleanup = func() { os.RemoveAll(dir) }
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/vernemq", "./cmd/vmq-admin", "./cmd/vmq-passwd")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "deploy: building the commands failed (run make build): %v\n%s", err, out)
			os.Exit(1)
		}
		binDir = dir
	}
	code := m.Run()
	cleanup()
	os.RemoveAll(scratch)
	os.Exit(code)
}

func toolsDir() string {
	if d := os.Getenv("VMQ_TOOLS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "vernemq-tools")
}

// tool finds an external program in the tools cache or on PATH.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p := filepath.Join(toolsDir(), "bin", name); isExec(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	missing(t, name+" is not installed")
	return ""
}

// missing skips a part whose tool cannot be had, or fails under VMQ_REQUIRE_TOOLS.
func missing(t *testing.T, what string) {
	t.Helper()
	msg := what + " (run: bash scripts/install-deploy-deps.sh)"
	if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED: " + msg)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// run executes a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, env []string, dir, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %s: %w", name, timeout, ctx.Err())
	}
	return out.String(), err
}

// baseEnv is the environment without any DOCKER_VERNEMQ_ variable of the caller.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_VERNEMQ_") && !strings.HasPrefix(kv, "VERNEMQ_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// configCheck runs `vernemq config check` on a conf, with no DOCKER_VERNEMQ_ overrides.
func configCheck(t *testing.T, conf string) (string, error) {
	t.Helper()
	return run(t, 30*time.Second, baseEnv(), repoRoot, filepath.Join(binDir, "vernemq"), "config", "check", "-c", conf)
}

// freePorts returns n distinct loopback ports that were free a moment ago, none in avoid.
func freePorts(t *testing.T, n int, avoid ...int) []int {
	t.Helper()
	skip := map[int]bool{}
	for _, a := range avoid {
		skip[a] = true
	}
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n && tries < 100; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l) // held open so the next Listen gets another port
		if p := l.Addr().(*net.TCPAddr).Port; !skip[p] {
			ports = append(ports, p)
		}
	}
	if len(ports) < n {
		t.Fatalf("found %d free ports of %d", len(ports), n)
	}
	return ports
}

// clusterPort returns a free port p whose p+1 (serf gossip, TCP and UDP) is free too.
func clusterPort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pair()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitPublish polls mosquitto_pub until a QoS 1 publish to the port succeeds.
func waitPublish(t *testing.T, port int, exited <-chan struct{}, logs func() string, auth ...string) {
	t.Helper()
	pub := tool(t, "mosquitto_pub")
	args := append([]string{"-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "deploy/test", "-m", "hello", "-q", "1", "-i", "deploy-test"}, auth...)
	var last string
	if !eventually.Within(20*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("the broker exited before accepting a connection; its output:\n%s", logs())
		default:
		}
		out, err := run(t, 5*time.Second, baseEnv(), repoRoot, pub, args...)
		if err != nil {
			last = out + err.Error()
		}
		return err == nil
	}) {
		t.Fatalf("no MQTT connection to 127.0.0.1:%d within 20s (last: %s); broker output:\n%s", port, last, logs())
	}
}

// installRoot is what a configuration-management run (the Ansible role, the Puppet module,
// the Chef cookbook) installs into: a temporary root, owned by the user running the test (no
// root needed), and free loopback ports for the broker it configures.
type installRoot struct {
	dir         string
	user, group string
	mqtt, http  int
	cluster     int // serf gossips on cluster+1
}

func newInstallRoot(t *testing.T) installRoot {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	cp := clusterPort(t)
	p := freePorts(t, 2, cp, cp+1)
	return installRoot{dir: t.TempDir(), user: u.Username, group: g.Name, mqtt: p[0], http: p[1], cluster: cp}
}

// requireFiles fails the test for each file of an installation (the binaries, the conf and
// the unit, and extra, relative to the root) that who did not install.
func (r installRoot) requireFiles(t *testing.T, who string, extra ...string) {
	t.Helper()
	for _, f := range append([]string{"usr/lib/vernemq/bin/vernemq", "usr/bin/vmq-admin", "etc/vernemq/vernemq.conf",
		"etc/systemd/system/vernemq.service"}, extra...) {
		if _, err := os.Stat(filepath.Join(r.dir, f)); err != nil {
			t.Errorf("%s did not install %s: %v", who, f, err)
		}
	}
}

// serve starts bin with the installed conf, waits until a QoS 1 publish (with mosquitto_pub's
// auth arguments) is accepted on the MQTT port, and stops the broker with SIGTERM.
func (r installRoot) serve(t *testing.T, bin, conf string, auth ...string) {
	t.Helper()
	proc := start(t, baseEnv(), bin, "console", "-c", conf)
	logs := func() string {
		b, _ := os.ReadFile(filepath.Join(r.dir, "var/log/vernemq/console.log"))
		return proc.out.String() + string(b)
	}
	waitPublish(t, r.mqtt, proc.exited, logs, auth...)
	proc.stop(t, 40*time.Second)
}

// process is a started long-running command; stop sends SIGTERM and waits.
type process struct {
	cmd    *exec.Cmd
	out    *testnode.Output
	exited chan struct{}
	err    error
}

func start(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &testnode.Output{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Dir = repoRoot
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop sends SIGTERM and requires a clean exit within the deadline.
func (p *process) stop(t *testing.T, within time.Duration) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("still running %s after SIGTERM; output:\n%s", within, p.out)
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v; output:\n%s", p.err, p.out)
	}
}
