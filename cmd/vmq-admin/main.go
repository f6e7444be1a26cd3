// Command vmq-admin administers a running node through its local admin socket.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:   "vmq-admin",
		Short: "Administer a running VerneMQ-style node (sessions, settings, listeners, metrics, cluster)",
		Long: `vmq-admin talks to the node on this machine through its admin socket
(admin.socket in vernemq.conf, by default <platform_data_dir>/vmq-admin.sock).`,
		SilenceUsage: true,
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vmq-admin:", err)
		os.Exit(1)
	}
}
