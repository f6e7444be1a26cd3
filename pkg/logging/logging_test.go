package logging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
	"github.com/vernemq-go/vernemq/pkg/config"
)

func conf(t *testing.T, lines ...string) *config.Config {
	t.Helper()
	c, _, err := config.Parse(strings.NewReader(strings.Join(lines, "\n")+"\n"), "test.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// The console file gets every line at log.console.level in its format; the error log
// only warnings and errors, in its own.
func TestConsoleAndErrorFiles(t *testing.T) {
	dir := t.TempDir()
	c := conf(t, "platform_log_dir = "+dir, "log.console = file", "log.console.file.format = json",
		"log.error.file.format = text")
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	log.Debug("not written at info")
	log.Info("client connected", "client_id", "c1")
	log.Warn("queue full", "client_id", "c2")
	log.Error("store failed", "error", "disk full")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	console := readLines(t, filepath.Join(dir, "console.log"))
	if len(console) != 3 {
		t.Fatalf("console.log has %d lines, want 3: %q", len(console), console)
	}
	for i, want := range []string{"client connected", "queue full", "store failed"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(console[i]), &m); err != nil {
			t.Fatalf("console.log line %d is not JSON: %q", i, console[i])
		}
		if m["msg"] != want {
			t.Errorf("console.log line %d msg = %v, want %q", i, m["msg"], want)
		}
	}
	errs := readLines(t, filepath.Join(dir, "error.log"))
	if len(errs) != 2 || !strings.Contains(errs[0], `level=WARN msg="queue full" client_id=c2`) ||
		!strings.Contains(errs[1], `level=ERROR msg="store failed" error="disk full"`) {
		t.Fatalf("error.log = %q, want the warning and the error as text", errs)
	}
}

// log.error = off writes no error log; log.console.level changes at run time.
func TestErrorLogOffAndRuntimeLevel(t *testing.T) {
	dir := t.TempDir()
	c := conf(t, "platform_log_dir = "+dir, "log.error = off", "log.console.level = warning")
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	log.Info("hidden")
	if err := c.Set("log.console.level", "debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("shown")
	closeLog()
	if lines := readLines(t, filepath.Join(dir, "console.log")); len(lines) != 1 || !strings.Contains(lines[0], "msg=shown") {
		t.Fatalf("console.log = %q", lines)
	}
	if _, err := os.Stat(filepath.Join(dir, "error.log")); !os.IsNotExist(err) {
		t.Fatalf("error.log exists with log.error = off: %v", err)
	}
}

// Size rotation keeps log.console.rotation.keep old files, each about rotation.size.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	c := conf(t, "platform_log_dir = "+dir, "log.console.rotation.size = 1MB", "log.console.rotation.keep = 2",
		"log.error = off")
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	pad := strings.Repeat("x", 1000)
	for i := range 4500 { // ~4.5 MiB: four rotations
		log.Info("line", "n", i, "pad", pad)
	}
	closeLog()
	eventually.True(t, eventually.Wait, "old files pruned to rotation.keep", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "console-*.log"))
		return len(m) == 2
	})
	st, err := os.Stat(filepath.Join(dir, "console.log"))
	if err != nil || st.Size() > 1<<20 {
		t.Fatalf("console.log: %v, size %d > 1 MiB", err, st.Size())
	}
	lines := readLines(t, filepath.Join(dir, "console.log"))
	if last := lines[len(lines)-1]; !strings.Contains(last, "n=4499") {
		t.Fatalf("last line of console.log = %.80q, want n=4499", last)
	}
}

func TestBadLogDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	c := conf(t, "log.console.file = "+f+"/sub/console.log", "log.error = off") // no error log in the working directory
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "log.console.file") {
		t.Fatalf("err = %v, want one naming log.console.file", err)
	}
}

var (
	rfc3164 = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ (\S+)\[(\d+)\]: (.*)$`)
	rfc5424 = regexp.MustCompile(`^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ (\S+) (\d+) - - (.*)$`)
)

// A remote syslog server over UDP gets RFC 3164 messages with the facility and
// severity in PRI; log.syslog.level = warning keeps info lines away.
func TestSyslogRemoteUDP3164(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	c := conf(t, "log.console = off", "log.error = off", "log.syslog = on", "log.syslog.facility = local0",
		"log.syslog.app_name = vmqtest", "log.syslog.level = warning",
		"log.syslog.remote.host = 127.0.0.1", "log.syslog.remote.port = "+strconv.Itoa(port))
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	defer closeLog()
	log.Info("not sent")
	log.Warn("bridge down", "bridge", "br0")
	log.Error("store failed")
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	for i, want := range []struct{ pri, msg string }{{"132", `level=WARN msg="bridge down" bridge=br0`}, {"131", `level=ERROR msg="store failed"`}} {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		m := rfc3164.FindStringSubmatch(string(buf[:n]))
		if m == nil {
			t.Fatalf("message %d %q is not RFC 3164", i, buf[:n])
		}
		// local0 = 16: warning 16*8+4 = 132, error 131.
		if m[1] != want.pri || m[2] != "vmqtest" || m[3] != strconv.Itoa(os.Getpid()) || m[4] != want.msg {
			t.Errorf("message %d = %q, want PRI %s, app vmqtest, msg %q", i, buf[:n], want.pri, want.msg)
		}
	}
}

// Over TCP the messages are RFC 5424 and framed by octet counting (RFC 6587).
func TestSyslogRemoteTCP5424(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 10)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			lenStr, err := r.ReadString(' ')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(lenStr))
			if err != nil {
				got <- "bad frame length " + lenStr
				return
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(r, msg); err != nil {
				return
			}
			got <- string(msg)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c := conf(t, "log.console = off", "log.error = off", "log.syslog = on", "log.syslog.format = rfc5424",
		"log.syslog.remote.protocol = tcp", "log.syslog.remote.host = 127.0.0.1", "log.syslog.remote.port = "+strconv.Itoa(port))
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	log.Info("node started", "nodename", "VerneMQ@127.0.0.1")
	log.Debug("below log.console.level: not sent (log.syslog.level = all follows it)")
	log.Error("second")
	closeLog() // sends what is queued
	for i, want := range []struct{ pri, msg string }{{"30", `level=INFO msg="node started" nodename=VerneMQ@127.0.0.1`}, {"27", `level=ERROR msg=second`}} {
		select {
		case s := <-got:
			m := rfc5424.FindStringSubmatch(s)
			// daemon = 3: info 3*8+6 = 30, error 27.
			if m == nil || m[1] != want.pri || m[2] != "vernemq" || m[4] != want.msg {
				t.Errorf("message %d = %q, want RFC 5424 with PRI %s and msg %q", i, s, want.pri, want.msg)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d not received", i)
		}
	}
}

// The local syslog socket (log.syslog.socket, /dev/log by default) gets RFC 3164 datagrams.
func TestSyslogLocalSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := conf(t, "log.console = off", "log.error = off", "log.syslog = on", "log.syslog.facility = user",
		"log.syslog.socket = "+path)
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	log, closeLog := logs.Logger, logs.Close
	defer closeLog()
	log.Info("hello", "n", 1)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := rfc3164.FindStringSubmatch(string(buf[:n]))
	if m == nil || m[1] != fmt.Sprint(1*8+6) || m[4] != "level=INFO msg=hello n=1" {
		t.Fatalf("datagram = %q", buf[:n])
	}
}

func TestBadRotationSize(t *testing.T) {
	_, _, err := config.Parse(strings.NewReader("log.error.rotation.size = 10XB\n"), "test.conf", nil)
	if err == nil || !strings.Contains(err.Error(), "test.conf:1: log.error.rotation.size") {
		t.Fatalf("err = %v, want one naming test.conf:1 and the key", err)
	}
}

// Outputs names the outputs as VerneMQ's logger handlers; log.console.level moves console,
// consolefile and a syslog at level all together; SetLevel moves one.
func TestOutputsAndSetLevel(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log.sock")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := conf(t, "platform_log_dir = "+dir, "log.console = both", "log.syslog = on", "log.syslog.socket = "+sock)
	logs, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	show := func() string {
		var rows []string
		for _, o := range logs.Outputs() {
			rows = append(rows, strings.Join([]string{o.Logger, o.Level, o.Type, o.File}, " "))
		}
		return strings.Join(rows, "\n")
	}
	want := strings.Join([]string{"default warning file " + filepath.Join(dir, "error.log"), "console info standard_error -",
		"consolefile info file " + filepath.Join(dir, "console.log"), "syslog info syslog -"}, "\n")
	if got := show(); got != want {
		t.Fatalf("outputs:\n%s\nwant:\n%s", got, want)
	}
	if err := c.Set("log.console.level", "debug"); err != nil {
		t.Fatal(err)
	}
	if err := logs.SetLevel("syslog", "emergency"); err != nil {
		t.Fatal(err)
	}
	if err := logs.SetLevel("console", "none"); err != nil {
		t.Fatal(err)
	}
	want = strings.Join([]string{"default warning file " + filepath.Join(dir, "error.log"), "console none standard_error -",
		"consolefile debug file " + filepath.Join(dir, "console.log"), "syslog error syslog -"}, "\n")
	if got := show(); got != want {
		t.Fatalf("outputs after changes:\n%s\nwant:\n%s", got, want)
	}
	if err := logs.SetLevel("crash", "debug"); err == nil || !strings.Contains(err.Error(), "default, console, consolefile, syslog") {
		t.Fatalf("unknown logger: %v", err)
	}
	if err := logs.SetLevel("console", "trace"); err == nil || !strings.Contains(err.Error(), "none, debug, info") {
		t.Fatalf("unknown level: %v", err)
	}

	none, err := New(conf(t, "log.console = off", "log.error = off"))
	if err != nil {
		t.Fatal(err)
	}
	if err := none.SetLevel("console", "debug"); err == nil || !strings.Contains(err.Error(), "writes no log") {
		t.Fatalf("no outputs: %v", err)
	}
}
