package listeners

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binDir holds the vernemq binary; certs holds the throwaway PKI. Both are set by TestMain.
var (
	binDir string
	certs  *pki
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listeners:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// run builds vernemq unless $VMQ_BIN has it, generates the PKI, then runs the tests.
func run(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "vmq-listeners")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if certs, err = newPKI(filepath.Join(tmp, "pki")); err != nil {
		return 0, fmt.Errorf("generating test certificates: %w", err)
	}
	if dir := os.Getenv("VMQ_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "vernemq")); err != nil {
			return 0, fmt.Errorf("VMQ_BIN=%s has no vernemq: build it with `make build` or unset VMQ_BIN", dir)
		}
		binDir = dir
		return m.Run(), nil
	}
	binDir = filepath.Join(tmp, "bin")
	cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "github.com/vernemq-go/vernemq/cmd/vernemq")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build of cmd/vernemq failed (fix the build or set VMQ_BIN): %v\n%s", err, out)
	}
	return m.Run(), nil
}

func vernemqBin() string { return filepath.Join(binDir, "vernemq") }
