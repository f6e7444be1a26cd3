// Command vernemq runs a broker node: `vernemq console -c FILE` in the foreground,
// `vernemq config check -c FILE` to validate a conf, `vernemq version`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/gcfloor"
	"github.com/vernemq-go/vernemq/pkg/node"
)

var version = "dev"

// defaultConf is where the conf is looked for without -c, as VerneMQ packages install it.
func defaultConf() string {
	if p := os.Getenv("VERNEMQ_CONF"); p != "" {
		return p
	}
	if _, err := os.Stat("/etc/vernemq/vernemq.conf"); err == nil {
		return "/etc/vernemq/vernemq.conf"
	}
	return "conf/vernemq.conf"
}

func main() {
	root := &cobra.Command{
		Use:           "vernemq",
		Short:         "A clustered MQTT broker in the style of VerneMQ",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var confPath string
	root.PersistentFlags().StringVarP(&confPath, "conf", "c", defaultConf(), "vernemq.conf to use (env VERNEMQ_CONF)")

	console := &cobra.Command{
		Use:   "console",
		Short: "Run the node in the foreground, logging to the console; SIGTERM/SIGINT stop it gracefully, SIGHUP reloads TLS certificates",
		RunE:  func(cmd *cobra.Command, _ []string) error { return runConsole(confPath) },
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the conf file and environment overrides; exit 1 listing every error",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, warnings, err := config.Load(confPath, os.Environ())
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, "warning:", w)
			}
			if err != nil {
				return err
			}
			fmt.Printf("%s: config is OK\n", confPath)
			return nil
		},
	}
	configCmd := &cobra.Command{Use: "config", Short: "Configuration commands"}
	configCmd.AddCommand(check)
	ver := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(*cobra.Command, []string) { fmt.Println("vernemq", version) },
	}
	root.AddCommand(console, configCmd, ver)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vernemq:", err)
		os.Exit(1)
	}
}

func runConsole(confPath string) error {
	cfg, warnings, err := config.Load(confPath, os.Environ())
	if err != nil {
		return fmt.Errorf("refusing to start:\n%w", err)
	}
	log, closeLog, err := newLogger(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	for _, w := range warnings {
		log.Warn(w)
	}
	n, err := node.New(cfg, log)
	if err != nil {
		return err
	}
	if t := gcfloor.Start(uint64(cfg.Bytes("gc_heap_floor"))); t != nil {
		defer t.Stop()
	}
	// The node runs on its own context: a signal starts the graceful stop below, which must
	// reach the clients (DISCONNECT 0x8B) before anything closes their sockets.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// SIGHUP reloads the TLS files (rotated certificates, a fresh CRL) without a restart;
	// registered before Start so an early SIGHUP cannot kill the process.
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(hups)
	ctx := context.Background()
	if err := n.Start(ctx); err != nil {
		log.Error("node failed to start", "error", err)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Stop(sctx)
		return err
	}
	var sig os.Signal
	for sig == nil {
		select {
		case <-hups:
			log.Info("SIGHUP received, reloading certificates")
			if err := n.ReloadCerts(); err != nil {
				log.Error("certificate reload incomplete; fix the files and send SIGHUP again", "error", err)
			}
		case sig = <-sigs:
		}
	}
	log.Info("signal received, shutting down gracefully", "signal", sig.String())
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Stop(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
