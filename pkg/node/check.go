package node

import (
	"fmt"

	"github.com/vernemq-go/vernemq/pkg/bridge"
	"github.com/vernemq-go/vernemq/pkg/config"
)

// Check finds what the conf schema alone cannot see but Start would refuse, so
// `vernemq config check` and `vernemq console` agree.
func Check(cfg *config.Config) error {
	n := &Node{Cfg: cfg}
	if n.bridgesOn() {
		if _, err := bridge.FromConfig(cfg); err != nil {
			return fmt.Errorf("vmq_bridge: %w", err)
		}
	}
	return nil
}
