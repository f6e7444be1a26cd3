package ops

import (
	"os/exec"
	"testing"
)

// The Prometheus scrape config and alert rules shipped in scripts/prometheus are valid,
// and the rules fire on the series they are written for (promtool's rule unit tests).
func TestPrometheusRules(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "vernemq-alerts.yml"},
		{"test", "rules", "vernemq-alerts.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../../scripts/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
