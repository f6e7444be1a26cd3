// Command vmq-admin administers a running node through its local admin socket.
// Its commands come from pkg/admin's registry, the same one the node serves.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

// errShown marks a failure already printed (a command's error result).
var errShown = errors.New("command failed")

func main() {
	root := &cobra.Command{
		Use:   "vmq-admin",
		Short: "Administer a running VerneMQ-style node (sessions, settings, listeners, metrics, cluster)",
		Long: `vmq-admin talks to the node on this machine through its admin socket
(admin.socket in vernemq.conf, by default <platform_data_dir>/vmq-admin.sock).

Arguments are key=value, flags are --name or --name=value, as in VerneMQ:
  vmq-admin session show --client_id --queue_size --client_id=~^sensor
  vmq-admin set max_offline_messages=5000`,
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
	}
	root.PersistentFlags().StringP("conf", "c", defaultConf(), "vernemq.conf whose admin.socket to use (env VERNEMQ_CONF)")
	root.PersistentFlags().String("socket", "", "admin socket path (overrides -c)")
	root.PersistentFlags().String("format", "human", "output format: human or json")
	addCommands(root, admin.New(nil).Commands())
	if err := root.Execute(); err != nil {
		if !errors.Is(err, errShown) {
			fmt.Fprintln(os.Stderr, "vmq-admin:", err)
		}
		os.Exit(1)
	}
}
