package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binDir holds vernemq and vmq-passwd; set once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// run builds the binaries unless $VMQ_BIN points at them, then runs the tests.
func run(m *testing.M) (int, error) {
	if dir := os.Getenv("VMQ_BIN"); dir != "" {
		binDir = dir
		for _, b := range []string{"vernemq", "vmq-passwd"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return 0, fmt.Errorf("VMQ_BIN=%s has no %s: build it with `make build` or unset VMQ_BIN", dir, b)
			}
		}
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "vmq-e2e-bin")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/vernemq-go/vernemq/cmd/vernemq", "github.com/vernemq-go/vernemq/cmd/vmq-passwd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build of cmd/vernemq failed (fix the build or set VMQ_BIN): %v\n%s", err, out)
	}
	binDir = dir
	return m.Run(), nil
}

func vernemqBin() string   { return filepath.Join(binDir, "vernemq") }
func vmqPasswdBin() string { return filepath.Join(binDir, "vmq-passwd") }
