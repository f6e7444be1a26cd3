package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vernemq-go/vernemq/pkg/config"
)

// defaultConf is where the conf is looked for without -c, as cmd/vernemq does.
func defaultConf() string {
	if p := os.Getenv("VERNEMQ_CONF"); p != "" {
		return p
	}
	if _, err := os.Stat("/etc/vernemq/vernemq.conf"); err == nil {
		return "/etc/vernemq/vernemq.conf"
	}
	return "conf/vernemq.conf"
}

// globals are vmq-admin's own flags, taken out of a leaf command's arguments.
type globals struct {
	conf, socket, format string
	confSet, help        bool
}

// splitGlobals removes -c/--conf, --socket, --format and -h/--help from args; the
// rest goes to the node. Values given before the command (parsed by cobra) are defaults.
func splitGlobals(args []string, cmd *cobra.Command, ownC bool) (globals, []string, error) {
	g := globals{format: "human"}
	g.conf, _ = cmd.Flags().GetString("conf")
	g.socket, _ = cmd.Flags().GetString("socket")
	if f, _ := cmd.Flags().GetString("format"); f != "" {
		g.format = f
	}
	g.confSet = cmd.Flags().Changed("conf")
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		var dst *string
		switch name {
		case "-h", "--help":
			g.help = true
			continue
		case "-c", "--conf":
			// Where the command has its own -c (VerneMQ's cleanup, which takes no value), a
			// -c followed by a value is still the conf file: "-c FILE session disconnect ...".
			if name == "-c" && ownC && !hasVal && (i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") || strings.Contains(args[i+1], "=")) {
				rest = append(rest, a)
				continue
			}
			dst, g.confSet = &g.conf, true
		case "--socket":
			dst = &g.socket
		case "--format":
			dst = &g.format
		default:
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return g, nil, fmt.Errorf("%s needs a value", name)
			}
			i++
			val = args[i]
		}
		*dst = val
	}
	return g, rest, nil
}

// socketPath returns the admin socket to use and where its path came from.
func socketPath(g globals) (path, from string, err error) {
	if g.socket != "" {
		return g.socket, "--socket", nil
	}
	if _, statErr := os.Stat(g.conf); statErr != nil && !g.confSet {
		return config.Defaults().String("admin.socket"), "the default admin.socket (no " + g.conf + " found)", nil
	}
	cfg, _, err := config.Read(g.conf, os.Environ())
	if err != nil {
		return "", "", fmt.Errorf("cannot read %s to find admin.socket: %w\npass the node's conf with -c FILE or its socket with --socket PATH", g.conf, err)
	}
	return cfg.String("admin.socket"), "admin.socket in " + g.conf, nil
}
