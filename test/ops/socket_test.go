package ops

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// socketReply sends raw bytes on the admin socket and returns the node's first answer frame.
func socketReply(t *testing.T, path string, payload []byte) map[string]any {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		t.Fatalf("dial admin socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Write from a goroutine: the node stops reading a huge line and answers at once.
	go c.Write(payload)
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("no answer on the admin socket to a %d-byte request: %v", len(payload), err)
	}
	var f map[string]any
	if err := json.Unmarshal(line, &f); err != nil {
		t.Fatalf("answer %q is not JSON: %v", line, err)
	}
	return f
}

// The admin socket (mode 0600, owned by root) refuses other users, and bad requests get an
// error answer without harming the node.
func TestAdminSocketPermissionsAndBadInput(t *testing.T) {
	t.Parallel()
	runuser := tool(t, "runuser")
	if os.Geteuid() != 0 {
		if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
			t.Fatal("the permission test needs root (to run vmq-admin as nobody)")
		}
		t.Skip("needs root to run vmq-admin as user nobody")
	}
	// A directory everyone may enter, so only the socket's own mode decides.
	dir, err := os.MkdirTemp("", "vmq-ops-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	admin := filepath.Join(dir, "vmq-admin")
	b, err := os.ReadFile(vmqAdminBin())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(admin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	n := startNode(t, "", map[string]string{"admin.socket": sock})

	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("admin socket mode %v uid %d, want 0600 owned by root", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
	}
	asNobody := func() (string, error) {
		out, err := exec.Command(runuser, "-u", "nobody", "--", admin, "--socket", sock, "node", "status").CombinedOutput()
		return string(out), err
	}
	out, err := asNobody()
	if err == nil {
		t.Fatalf("vmq-admin as nobody on a 0600 root socket succeeded:\n%s", out)
	}
	if !strings.Contains(out, sock) || !strings.Contains(strings.ToLower(out), "permission denied") {
		t.Fatalf("vmq-admin as nobody: want an error naming %s and permission denied, got:\n%s", sock, out)
	}
	// Control: with the socket opened to everyone, the same command works, so the mode was the reason.
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if out, err := asNobody(); err != nil || !strings.Contains(out, "VerneMQ@127.0.0.1") {
		t.Fatalf("vmq-admin as nobody on a 0666 socket: %v\n%s", err, out)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}

	bad := map[string][]byte{
		"garbage line":          []byte("this is not json\n"),
		"json without argv":     []byte(`{"argv": 42}` + "\n"),
		"huge line, no newline": []byte(strings.Repeat("x", 3<<20)),
		"unknown command":       []byte(`{"argv": ["no-such", "command"]}` + "\n"),
	}
	for what, payload := range bad {
		f := socketReply(t, sock, payload)
		res, _ := f["result"].(map[string]any)
		if res == nil || res["type"] != "error" || res["error"] == "" {
			t.Errorf("%s: answer %v, want a result of type error with a message", what, f)
		}
	}
	n.Alive()
	if out := n.mustAdmin("node", "status"); !strings.Contains(out, "VerneMQ@127.0.0.1") {
		t.Fatalf("node status after bad requests:\n%s", out)
	}
	if code, body := n.get("/health", nil); code != 200 {
		t.Fatalf("/health after bad requests: %d %s", code, body)
	}
}
