// Command vernemq runs and controls a broker node the way VerneMQ's script does:
// console (foreground), start (background, with a pid file), stop, ping, getpid,
// chkconfig / config check, config generate, version.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/gcfloor"
	"github.com/vernemq-go/vernemq/pkg/logging"
	"github.com/vernemq-go/vernemq/pkg/node"
)

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

// errQuiet is a failure whose message was already printed.
var errQuiet = errors.New("failed")

func main() {
	root := &cobra.Command{
		Use:                        "vernemq",
		Short:                      "A clustered MQTT broker in the style of VerneMQ",
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
	}
	var confPath, pidFile string
	root.PersistentFlags().StringVarP(&confPath, "conf", "c", defaultConf(), "vernemq.conf to use (env VERNEMQ_CONF)")
	root.PersistentFlags().StringVar(&pidFile, "pid-file", "", "pid file of a node started with start (default <platform_data_dir>/vernemq.pid)")

	console := &cobra.Command{
		Use:   "console",
		Short: "Run the node in the foreground, logging to the console; SIGTERM/SIGINT stop it gracefully, SIGHUP reloads TLS certificates",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runConsole(confPath, pidFile) },
	}
	check := func(cmd *cobra.Command, _ []string) error {
		cfg, warnings, err := config.Load(confPath, os.Environ())
		for _, w := range warnings {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		if err != nil {
			return err
		}
		if err := node.Check(cfg); err != nil {
			return err
		}
		fmt.Printf("%s: config is OK\n", confPath)
		return nil
	}
	configCmd := &cobra.Command{Use: "config", Short: "Configuration commands", RunE: groupRun, SuggestionsMinimumDistance: 2}
	configCmd.AddCommand(
		&cobra.Command{Use: "check", Args: cobra.NoArgs, RunE: check,
			Short: "Validate the conf, its includes and DOCKER_VERNEMQ_* overrides as console would; exit 1 listing every error"},
		&cobra.Command{Use: "generate", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return generate(confPath) },
			Short: "Print the effective configuration (file, includes, environment, defaults) as a vernemq.conf"},
	)
	root.AddCommand(console, configCmd,
		&cobra.Command{Use: "chkconfig", Args: cobra.NoArgs, RunE: check, Short: "Validate the conf (as config check)"},
		&cobra.Command{Use: "version", Args: cobra.NoArgs, Short: "Print the version",
			Run: func(*cobra.Command, []string) { fmt.Println("vernemq", node.Version) }},
		&cobra.Command{Use: "start", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return start(confPath, pidFile) },
			Short: "Start the node in the background (pid file, output in <platform_log_dir>/start.log); returns once it answers ping"},
		&cobra.Command{Use: "stop", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return stop(confPath, pidFile) },
			Short: "Stop a node started with start (SIGTERM, then wait for it to exit)"},
		&cobra.Command{Use: "ping", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return ping(confPath) },
			Short: "Print pong if the node answers on its admin socket, else exit 1 (health checks)"},
		&cobra.Command{Use: "getpid", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return getpid(confPath, pidFile) },
			Short: "Print the process id of a node started with start"},
	)
	if err := root.Execute(); err != nil {
		if !errors.Is(err, errQuiet) {
			fmt.Fprintln(os.Stderr, "vernemq:", err)
		}
		os.Exit(1)
	}
}

// groupRun refuses an unknown subcommand of a group (cobra checks only the root's)
// with a suggestion and exit 1; without one it prints the group's help.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s\n\nRun '%s --help' for usage", msg, cmd.CommandPath())
}

func generate(confPath string) error {
	cfg, warnings, err := config.Load(confPath, os.Environ())
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	return cfg.WriteEffective(os.Stdout)
}

func runConsole(confPath, pidFile string) error {
	cfg, warnings, err := config.Load(confPath, os.Environ())
	if err != nil {
		return fmt.Errorf("refusing to start:\n%w", err)
	}
	logs, err := logging.New(cfg)
	if err != nil {
		return err
	}
	defer logs.Close()
	log := logs.Logger
	for _, w := range warnings {
		log.Warn(w)
	}
	if pidFile != "" {
		remove, err := writePidFile(pidFile)
		if err != nil {
			return err
		}
		defer remove()
	}
	n, err := node.New(cfg, log)
	if err != nil {
		return err
	}
	n.Logs = logs
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
	log.Info("starting", "version", node.Version, "node", cfg.String("nodename"))
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
