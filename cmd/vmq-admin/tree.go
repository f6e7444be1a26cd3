package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

// addCommands builds one cobra command per registry command, with a group command per path prefix.
func addCommands(root *cobra.Command, cmds []admin.Command) {
	groups := map[string]*cobra.Command{"": root}
	var group func(path string) *cobra.Command
	group = func(path string) *cobra.Command {
		if g := groups[path]; g != nil {
			return g
		}
		parentPath, name := "", path
		if i := strings.LastIndex(path, " "); i >= 0 {
			parentPath, name = path[:i], path[i+1:]
		}
		g := &cobra.Command{Use: name, Short: name + " commands"}
		group(parentPath).AddCommand(g)
		groups[path] = g
		return g
	}
	for _, c := range cmds {
		parentPath, name := "", c.Path
		if i := strings.LastIndex(c.Path, " "); i >= 0 {
			parentPath, name = c.Path[:i], c.Path[i+1:]
		}
		group(parentPath).AddCommand(leaf(c, name))
	}
}

// leaf is a command whose arguments vmq-admin passes through to the node unparsed
// (key=value and --flag[=value] are VerneMQ's syntax, not cobra's).
func leaf(c admin.Command, name string) *cobra.Command {
	return &cobra.Command{
		Use:                name + synopsis(c),
		Short:              c.Help,
		Long:               longHelp(c),
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, rest, err := splitGlobals(args, cmd)
			if err != nil {
				return err
			}
			if g.help {
				return cmd.Help()
			}
			if g.format != "human" && g.format != "json" {
				return fmt.Errorf("unknown --format=%s; use human or json", g.format)
			}
			return run(g, append(strings.Fields(c.Path), rest...))
		},
	}
}

func synopsis(c admin.Command) string {
	var parts []string
	for _, a := range c.Args {
		p := a.Name + "=<" + a.Name + ">"
		if !a.Required {
			p = "[" + p + "]"
		}
		parts = append(parts, p)
	}
	if c.AnyArgs {
		parts = append(parts, "key=value [key=value ...]")
	}
	if c.Words != "" {
		parts = append(parts, c.Words+" ["+c.Words+" ...]")
	}
	if len(c.Flags) > 0 || c.AnyFlags {
		parts = append(parts, "[--flag[=value] ...]")
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

func longHelp(c admin.Command) string {
	var sb strings.Builder
	sb.WriteString(c.Help)
	if c.Long != "" {
		sb.WriteString("\n\n" + c.Long)
	}
	if len(c.Args) > 0 {
		sb.WriteString("\n\nArguments:")
		for _, a := range c.Args {
			req := ""
			if a.Required {
				req = " (required)"
			}
			fmt.Fprintf(&sb, "\n  %-36s %s%s", a.Name+"=<value>", a.Help, req)
		}
	}
	if len(c.Flags) > 0 {
		sb.WriteString("\n\nCommand flags:")
		for _, f := range c.Flags {
			name := "--" + f.Name
			if f.Value != "" {
				if strings.HasPrefix(f.Value, "[") {
					name += f.Value
				} else {
					name += "=<" + f.Value + ">"
				}
			}
			if f.Short != "" {
				name = "-" + f.Short + ", " + name
			}
			def := ""
			if f.Default != "" {
				def = " (" + f.Default + ")"
			}
			fmt.Fprintf(&sb, "\n  %-36s %s%s", name, f.Help, def)
		}
	}
	return sb.String()
}

// run sends argv to the node and prints its answer.
func run(g globals, argv []string) error {
	path, from, err := socketPath(g)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := admin.Call(ctx, path, argv, func(line string) { fmt.Println(line) })
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted (trace client)
		}
		return fmt.Errorf("%v\nthe socket path came from %s; start the node (vernemq console -c FILE), or point vmq-admin at it with -c /path/to/vernemq.conf or --socket /path/to/vmq-admin.sock", err, from)
	}
	if res.Type == "error" && g.format != "json" {
		fmt.Fprintln(os.Stderr, "Error:", res.Error)
		return errShown
	}
	if err := admin.Render(os.Stdout, res, g.format); err != nil {
		return err
	}
	if res.Type == "error" {
		return errShown
	}
	return nil
}
