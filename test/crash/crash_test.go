// Package crash kills a real broker process with SIGKILL while publishers are being
// acknowledged and checks that every acknowledged QoS 1 and QoS 2 message reaches the
// persistent subscriber after a restart: QoS 1 at least once, QoS 2 exactly once, in
// order per publisher.
package crash

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/internal/testnode"
)

func binary(t *testing.T) string {
	dir, cleanup, err := testnode.Bins("vernemq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return filepath.Join(dir, "vernemq")
}

type node struct {
	cmd  *exec.Cmd
	addr string
}

func start(t *testing.T, bin, dir string, port int) *node {
	conf := filepath.Join(dir, "vernemq.conf")
	acl := filepath.Join(dir, "vmq.acl")
	os.WriteFile(acl, []byte("topic #\n"), 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf(`listener.tcp.default = 127.0.0.1:%[1]d
allow_anonymous = on
plugins.vmq_passwd = off
plugins.vmq_acl = on
vmq_acl.acl_file = %[2]s
platform_data_dir = %[3]s/data
platform_log_dir = %[3]s/log
log.console = console
log.console.level = warning
max_offline_messages = -1
`, port, acl, dir)), 0o644)
	cmd := exec.Command(bin, "console", "-c", conf)
	logf, _ := os.OpenFile(filepath.Join(dir, "console.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if !eventually.Within(10*time.Second, func() bool {
		c, err := net.Dial("tcp", n.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		b, _ := os.ReadFile(filepath.Join(dir, "console.log"))
		t.Fatalf("broker did not listen on %s: %s", n.addr, b)
	}
	return n
}

func client(t *testing.T, addr, id string, clean bool) mqtt.Client {
	o := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

func TestKill9KeepsAcknowledgedMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	bin := binary(t)
	dir := t.TempDir()
	port := testnode.FreePort(t)
	n := start(t, bin, dir, port)

	// A persistent subscriber registers and goes offline.
	sub := client(t, n.addr, "backend", false)
	if tok := sub.Subscribe("fleet/#", 2, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	sub.Disconnect(100)

	// Publishers send QoS 1 messages; the broker is killed while they run.
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := 0; p < 4; p++ {
		pub := client(t, n.addr, fmt.Sprint("dev", p), true)
		wg.Add(1)
		go func(p int, pub mqtt.Client) {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				payload := fmt.Sprintf("%d-%d", p, i)
				qos := byte(1 + p%2) // half the publishers use QoS 2
				tok := pub.Publish(fmt.Sprintf("fleet/%d", p), qos, false, payload)
				if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
					mu.Lock()
					acked[payload] = true
					mu.Unlock()
				} else {
					return
				}
			}
		}(p, pub)
	}
	// The kill lands while the publishers run, once enough is acknowledged to mean something
	// (a CPU hog slows the load, so the test waits for acks, not for a time).
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	eventually.True(t, 30*time.Second, "200 messages acknowledged before the kill", func() bool { return ackedCount() >= 200 })
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	close(stop)
	wg.Wait()
	total := ackedCount()
	t.Logf("%d QoS 1 and 2 messages acknowledged before SIGKILL", total)

	// Restart on the same data dir and drain the subscriber's queue.
	n2 := start(t, bin, dir, port)
	got := map[string]bool{}
	dups := map[string]int{}
	last := map[int]int{}
	var disorder []string
	var gmu sync.Mutex
	done := make(chan struct{})
	o := mqtt.NewClientOptions().AddBroker("tcp://" + n2.addr).SetClientID("backend").SetCleanSession(false).
		SetAutoReconnect(false).SetOrderMatters(true)
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		gmu.Lock()
		var p, i int
		fmt.Sscanf(string(m.Payload()), "%d-%d", &p, &i)
		if got[string(m.Payload())] {
			dups[string(m.Payload())]++
		} else {
			// First arrivals of one publisher's messages come in publish order (fifo queue).
			if prev, ok := last[p]; ok && i < prev {
				disorder = append(disorder, fmt.Sprintf("%d after %d", i, prev))
			}
			last[p] = i
		}
		got[string(m.Payload())] = true
		complete := true
		for k := range acked {
			if !got[k] {
				complete = false
				break
			}
		}
		gmu.Unlock()
		if complete {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	})
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	gmu.Lock()
	defer gmu.Unlock()
	var missing []string
	for k := range acked {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k, n := range dups {
		var p int
		fmt.Sscanf(k, "%d-", &p)
		if p%2 == 1 {
			t.Errorf("QoS 2 message %s delivered %d extra times", k, n)
		}
	}
	if len(disorder) > 0 {
		t.Errorf("per-publisher order broken: %v", disorder[:min(5, len(disorder))])
	}
	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = missing[:10]
		}
		t.Fatalf("%d acknowledged messages lost after kill -9 (e.g. %s); received %d", len(missing), strings.Join(missing, ","), len(got))
	}
}

// retainedOf subscribes with a new clean client and returns the retained payload of topic.
func retainedOf(t *testing.T, addr, topic string) string {
	t.Helper()
	got := make(chan string, 1)
	c := client(t, addr, "reader", true)
	defer c.Disconnect(50)
	if tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	select {
	case p := <-got:
		return p
	case <-time.After(5 * time.Second):
		t.Fatalf("no retained message on %s", topic)
		return ""
	}
}

// Publishers race to set one topic's retained message; when every publish is acknowledged
// the node is killed with SIGKILL: after the restart the retained message is the one the
// node served before the kill (memory and store took them in the same order).
func TestKill9KeepsLastRetained(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	bin := binary(t)
	dir := t.TempDir()
	port := testnode.FreePort(t)
	for round := 0; round < 3; round++ {
		n := start(t, bin, dir, port)
		var wg sync.WaitGroup
		for p := 0; p < 8; p++ {
			pub := client(t, n.addr, fmt.Sprint("status", p), true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					tok := pub.Publish("status/r", 1, true, fmt.Sprintf("%d-%d-%d", round, p, i))
					if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
						t.Errorf("publish not acknowledged: %v", tok.Error())
						return
					}
				}
			}()
		}
		wg.Wait()
		before := retainedOf(t, n.addr, "status/r")
		n.cmd.Process.Signal(syscall.SIGKILL)
		n.cmd.Wait()
		n2 := start(t, bin, dir, port)
		if after := retainedOf(t, n2.addr, "status/r"); after != before {
			t.Fatalf("round %d: retained %q before kill -9, %q after the restart", round, before, after)
		}
		n2.cmd.Process.Signal(syscall.SIGKILL)
		n2.cmd.Wait()
	}
}
