package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
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
		g := &cobra.Command{Use: name, Short: name + " commands", RunE: groupRun, SuggestionsMinimumDistance: 2}
		group(parentPath).AddCommand(g)
		groups[path] = g
		return g
	}
	// Leaves first: a command can also be the group of longer ones ("session disconnect" and
	// "session disconnect batch"), and then its subcommands hang under it, whatever the order.
	leaves := make([]*cobra.Command, len(cmds))
	for i, c := range cmds {
		leaves[i] = leaf(c, c.Path[strings.LastIndex(c.Path, " ")+1:])
		groups[c.Path] = leaves[i]
	}
	for i, c := range cmds {
		parentPath := ""
		if j := strings.LastIndex(c.Path, " "); j >= 0 {
			parentPath = c.Path[:j]
		}
		group(parentPath).AddCommand(leaves[i])
	}
}

// groupRun makes a group command (session, cluster ...) refuse an unknown subcommand
// with a suggestion and a non-zero exit, as cobra does only for the root; without a
// subcommand it prints the group's help.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	var subs []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			subs = append(subs, c.Name())
		}
	}
	return fmt.Errorf("%s\n\n%s has: %s (see %s --help)", msg, cmd.CommandPath(), strings.Join(subs, ", "), cmd.CommandPath())
}

// leaf is a command whose arguments vmq-admin passes through to the node unparsed
// (key=value and --flag[=value] are VerneMQ's syntax, not cobra's).
func leaf(c admin.Command, name string) *cobra.Command {
	var aliases []string
	if name == "show" {
		aliases = []string{"list", "ls", "status"} // what other CLIs call it
	}
	return &cobra.Command{
		SuggestFor:         aliases,
		Use:                name + synopsis(c),
		Short:              c.Help,
		Long:               longHelp(c),
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// VerneMQ's -c is the command's own flag where it has one (session disconnect -c:
			// cleanup); -c FILE and --conf still name the conf file (splitGlobals).
			ownC := slices.ContainsFunc(c.Flags, func(p admin.Param) bool { return p.Short == "c" })
			g, rest, err := splitGlobals(args, cmd, ownC)
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
	if c.Words != "" && c.NoWordsOK {
		parts = append(parts, "["+c.Words+" ...]")
	} else if c.Words != "" {
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
