package ops

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binDir holds vernemq and vmq-admin; set once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ops:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// run builds the binaries unless $VMQ_BIN points at them, then runs the tests.
func run(m *testing.M) (int, error) {
	if dir := os.Getenv("VMQ_BIN"); dir != "" {
		for _, b := range []string{"vernemq", "vmq-admin"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return 0, fmt.Errorf("VMQ_BIN=%s has no %s: build it with `make build` or unset VMQ_BIN", dir, b)
			}
		}
		binDir = dir
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "vmq-ops-bin")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/vernemq-go/vernemq/cmd/vernemq", "github.com/vernemq-go/vernemq/cmd/vmq-admin")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build of cmd/vernemq and cmd/vmq-admin failed (fix the build or set VMQ_BIN): %v\n%s", err, out)
	}
	binDir = dir
	return m.Run(), nil
}

func vernemqBin() string  { return filepath.Join(binDir, "vernemq") }
func vmqAdminBin() string { return filepath.Join(binDir, "vmq-admin") }

// tool returns the path of an external program, or skips the test when it is
// missing (fails instead when VMQ_REQUIRE_TOOLS is set).
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%v not installed: run scripts/install-ops-deps.sh", names)
	if os.Getenv("VMQ_REQUIRE_TOOLS") != "" {
		t.Fatal(msg + " (VMQ_REQUIRE_TOOLS is set)")
	}
	t.Skip(msg)
	return ""
}
