package listeners

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vernemq-go/vernemq/internal/testnode"
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
	dir, cleanup, err := testnode.Bins("vernemq")
	if err != nil {
		return 0, err
	}
	defer cleanup()
	binDir = dir
	return m.Run(), nil
}

func vernemqBin() string { return filepath.Join(binDir, "vernemq") }
