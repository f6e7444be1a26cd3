package e2e

import (
	"path/filepath"
	"testing"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// binDir holds vernemq and vmq-passwd; set once by TestMain.
var binDir string

func TestMain(m *testing.M) { testnode.Main(m, &binDir, "vernemq", "vmq-passwd") }

func vernemqBin() string   { return filepath.Join(binDir, "vernemq") }
func vmqPasswdBin() string { return filepath.Join(binDir, "vmq-passwd") }
