package e2e

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// needTool skips when an external client is missing, unless VMQ_REQUIRE_TOOLS is set.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s not found and VMQ_REQUIRE_TOOLS is set: run scripts/install-test-deps.sh", name)
		}
		t.Skipf("%s not installed (apt-get install mosquitto-clients)", name)
	}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// mosqSub is a running mosquitto_sub printing "topic qos payload" lines.
type mosqSub struct {
	lines chan string
	mu    sync.Mutex
	all   []string
}

func startMosquittoSub(t *testing.T, host, port, ver, filter, qos string) *mosqSub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "mosquitto_sub", "-h", host, "-p", port, "-V", ver,
		"-t", filter, "-q", qos, "-F", "%t %q %p", "-i", "msub-"+ver)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mosquitto_sub: %v", err)
	}
	s := &mosqSub{lines: make(chan string, 256)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.all = append(s.all, sc.Text())
			s.mu.Unlock()
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return s
}

// waitLine waits up to d for a line matching ok, discarding others.
func (s *mosqSub) waitLine(d time.Duration, ok func(string) bool) bool {
	deadline := time.After(d)
	for {
		select {
		case l := <-s.lines:
			if ok(l) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// drain drops lines already printed (late probes).
func (s *mosqSub) drain() {
	for {
		select {
		case <-s.lines:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

func (s *mosqSub) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.all...)
}

// mosquittoPub publishes one message and requires exit 0.
func mosquittoPub(t *testing.T, host, port, ver, topic, qos, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mosquitto_pub", "-h", host, "-p", port, "-V", ver,
		"-t", topic, "-q", qos, "-m", payload).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %s qos %s: %v\n%s", topic, qos, err, out)
	}
}
