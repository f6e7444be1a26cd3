package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testnode"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// TestConfigCheck checks `vernemq config check`: errors with file:line and key, exit 1; good conf exit 0.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := testnode.WriteConf(t, filepath.Join(dir, "good.conf"), baseConf(dir, testnode.FreePort(t)))
	if out, code := runVernemq(t, nil, "config", "check", "-c", good); code != 0 {
		t.Fatalf("good conf: exit %d, want 0\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.conf")
	lines := []string{
		"listener.tcp.default = 127.0.0.1:1883", // 1
		"allow_anonymous = on",                  // 2
		"max_inflght_messages = 10",             // 3 unknown key (typo)
		"max_online_messages = lots",            // 4 bad value
		"allow_anonymous = off",                 // 5 duplicate
	}
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runVernemq(t, nil, "config", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("bad conf: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		bad + ":3", "max_inflght_messages",
		bad + ":4", "max_online_messages",
		bad + ":5", "allow_anonymous",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bad conf output lacks %q:\n%s", want, out)
		}
	}
}

// TestDockerEnvOverride checks DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT moves the listener.
func TestDockerEnvOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	confPort, envPort := testnode.FreePort(t), testnode.FreePort(t)
	kv := baseConf(dir, confPort)
	if err := os.WriteFile(filepath.Join(dir, "vmq.acl"), []byte("topic #\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := testnode.WriteConf(t, filepath.Join(dir, "vernemq.conf"), kv)
	envAddr := fmt.Sprintf("127.0.0.1:%d", envPort)
	n := &node{t: t, dir: dir, addr: envAddr, conf: conf,
		Process: testnode.Start(t, dir, []string{"DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=" + envAddr}, vernemqBin(), "console", "-c", conf)}
	n.WaitTCP(envAddr, 10*time.Second)
	r := dialRaw(t, envAddr, packets.V5)
	r.mustConnect("env")
	if c, err := dialQuick(fmt.Sprintf("127.0.0.1:%d", confPort)); err == nil {
		c.Close()
		t.Fatalf("the conf's port %d still listens; the environment must override it", confPort)
	}
}

// TestSIGTERMExit checks a graceful stop ends client connections and exits 0 within 10 s.
func TestSIGTERMExit(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	r := dialRaw(t, n.addr, packets.V311)
	r.mustConnect("term3")
	code, err := n.Terminate(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, n.Out)
	}
	r.expectClosed(2 * time.Second)
}

// TestSIGTERMDisconnect checks v5 clients are told DISCONNECT 0x8B before the close.
func TestSIGTERMDisconnect(t *testing.T) {
	t.Parallel()
	n := startNode(t, nil)
	r := dialRaw(t, n.addr, packets.V5)
	r.mustConnect("term")
	code, err := n.Terminate(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.expectDisconnect(packets.ServerShuttingDown, 2*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

// runVernemq runs the binary to completion and returns its output and exit code.
func runVernemq(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, vernemqBin(), args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("vernemq %v did not finish within 10 s", args)
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("vernemq %v: %v", args, err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}
