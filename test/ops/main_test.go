package ops

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vernemq-go/vernemq/internal/testnode"
)

// binDir holds vernemq and vmq-admin; set once by TestMain.
var binDir string

func TestMain(m *testing.M) { testnode.Main(m, &binDir, "vernemq", "vmq-admin") }

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
