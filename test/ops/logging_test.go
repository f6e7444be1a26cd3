package ops

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

// The vernemq binary writes VerneMQ's log outputs: the console log file as JSON, warnings
// in the error log, and syslog to a remote receiver in RFC 5424.
func TestLogOutputs(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	startNode(t, dir, map[string]string{
		"log.console":             "file",
		"log.console.file.format": "json",
		"log.syslog":              "on",
		"log.syslog.format":       "rfc5424",
		"log.syslog.app_name":     "vmqops",
		"log.syslog.remote.host":  "127.0.0.1",
		"log.syslog.remote.port":  strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port),
		"log.crash":               "on", // accepted and ignored: a warning at start
	})
	logDir := filepath.Join(dir, "log")
	eventually.True(t, 10*time.Second, "node started in console.log", func() bool {
		b, _ := os.ReadFile(filepath.Join(logDir, "console.log"))
		return strings.Contains(string(b), `"msg":"node started"`)
	})
	b, _ := os.ReadFile(filepath.Join(logDir, "console.log"))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("console.log line is not JSON: %q", line)
		}
	}
	errLog, err := os.ReadFile(filepath.Join(logDir, "error.log"))
	if err != nil || !strings.Contains(string(errLog), "level=WARN") || !strings.Contains(string(errLog), "log.crash") ||
		strings.Contains(string(errLog), "level=INFO") {
		t.Fatalf("error.log (%v) should hold the log.crash warning and no info lines:\n%s", err, errLog)
	}
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		k, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no syslog message with msg=\"node started\": %v", err)
		}
		m := string(buf[:k])
		if !strings.Contains(m, `msg="node started"`) {
			continue
		}
		// daemon (3) × 8 + info (6) = 30
		if !strings.HasPrefix(m, "<30>1 ") || !strings.Contains(m, " vmqops ") {
			t.Fatalf("syslog message %q is not RFC 5424 from vmqops at daemon.info", m)
		}
		break
	}
}
