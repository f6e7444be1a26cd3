// Package quickstart runs the README's quickstart as written: the node from
// conf/vernemq.conf and the mosquitto_sub / mosquitto_pub lines of the README.
package quickstart

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

func quickstartCommands(t *testing.T) (sub, pub string) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "mosquitto_sub "):
			sub = strings.TrimSuffix(line, " &")
		case strings.HasPrefix(line, "mosquitto_pub "):
			pub = line
		}
	}
	if sub == "" || pub == "" {
		t.Fatal("README.md has no mosquitto_sub/mosquitto_pub quickstart lines")
	}
	return sub, pub
}

func TestReadmeQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the broker binary")
	}
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatal("mosquitto_sub not installed (scripts/install-test-deps.sh installs it)")
		}
		t.Skip("mosquitto-clients not installed")
	}
	dir, cleanup, err := testnode.Bins("vernemq")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	bin := filepath.Join(dir, "vernemq")
	port := testnode.FreePort(t)
	data := t.TempDir()

	// The shipped conf, moved to a free port and a temp data dir through VerneMQ-style env overrides.
	node := testnode.Start(t, "../..", []string{
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__TCP__DEFAULT=127.0.0.1:%d", port),
		"DOCKER_VERNEMQ_LISTENER__HTTP__DEFAULT=127.0.0.1:0",
		fmt.Sprintf("DOCKER_VERNEMQ_LISTENER__VMQ__CLUSTERING=127.0.0.1:%d", testnode.FreePortPair(t)),
		"DOCKER_VERNEMQ_PLATFORM_DATA_DIR=" + data,
		"DOCKER_VERNEMQ_PLATFORM_LOG_DIR=" + data,
	}, bin, "console", "-c", "conf/vernemq.conf")
	node.WaitTCP(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)

	sub, pub := quickstartCommands(t)
	portArg := fmt.Sprintf("-p %d", port)
	sub = strings.Replace(sub, "-p 1883", portArg, 1) + " -C 1 -W 10"
	pub = strings.Replace(pub, "-p 1883", portArg, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	subCmd := exec.CommandContext(ctx, "sh", "-c", sub)
	out := &testnode.Output{}
	subCmd.Stdout, subCmd.Stderr = out, out
	if err := subCmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Publish until the subscriber has its subscription in place and prints the message.
	eventually.True(t, 10*time.Second, "the quickstart subscriber to print sensor/1 hello", func() bool {
		if b, err := exec.CommandContext(ctx, "sh", "-c", pub).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", pub, err, b)
		}
		return strings.Contains(out.String(), "sensor/1 hello")
	})
	subCmd.Wait()
}
