package admin

import (
	"context"
	"strings"
)

// pluginFlags are VerneMQ's flags of plugin enable and disable. The module ones describe an
// Erlang function as a hook, which this broker cannot run; they are accepted to refuse clearly.
var pluginFlags = []Param{
	{Name: "name", Short: "n", Value: "NAME", Help: "the plugin: vmq_passwd, vmq_acl, vmq_diversity or vmq_webhooks"},
	{Name: "path", Short: "p", Value: "DIR", Help: "VerneMQ loads the plugin's code from DIR; refused here: the plugins are built in"},
	{Name: "module", Short: "m", Value: "MODULE", Help: "Erlang module of a module plugin; refused here"},
	{Name: "function", Short: "f", Value: "FUNCTION", Help: "Erlang function of a module plugin; refused here"},
	{Name: "arity", Short: "a", Value: "N", Help: "arity of --function; refused here"},
	{Name: "hook", Short: "h", Value: "HOOK", Help: "hook of a module plugin; refused here (vmq-admin reads -h as --help)"},
}

const pluginRuntimeNote = "The change is not persisted, as in VerneMQ: the next start runs the plugins of vernemq.conf " +
	"(plugins.<name> = on|off). It applies to this node only."

func pluginCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "plugin show",
		Help: "List the running plugins and the hooks each implements",
		Flags: []Param{
			{Name: "plugin", Value: "NAME", Help: "only this plugin"},
			{Name: "hook", Value: "HOOK", Help: "only plugins implementing this hook"},
			{Name: "internal", Help: "also internal plugins (accepted for VerneMQ's scripts; this broker has none)"},
		},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Plugins != nil, "plugins"); !ok {
				return res
			}
			return pluginTable(b.Plugins(), req)
		},
	})
	r.Register(Command{
		Path: "plugin enable",
		Help: "Start a built-in plugin with its vernemq.conf settings (lost on restart unless plugins.<name> = on)",
		Long: "vmq-admin plugin enable --name=vmq_acl starts vmq_acl with the vmq_acl.* keys of vernemq.conf, after the " +
			"plugins already running (lowest priority). " + pluginRuntimeNote,
		Flags: pluginFlags,
		Run:   pluginAction("enable", b.PluginEnable),
	})
	r.Register(Command{
		Path: "plugin disable",
		Help: "Stop a running plugin (it comes back on restart if plugins.<name> = on)",
		Long: "vmq-admin plugin disable --name=vmq_acl takes vmq_acl out of the chain and stops it: its file reloader, " +
			"database pools or webhook connections end. " + pluginRuntimeNote,
		Flags: pluginFlags,
		Run:   pluginAction("disable", b.PluginDisable),
	})
}

// pluginAction is plugin enable|disable (verb) doing do with the plugin's name, with VerneMQ's texts.
func pluginAction(verb string, do func(name string) error) Handler {
	return func(ctx context.Context, req *Request) Result {
		if res, ok := ready(do != nil, "plugin "+verb); !ok {
			return res
		}
		name, res, ok := pluginName(req)
		if !ok {
			return res
		}
		if err := do(name); err != nil {
			return Errorf("Can't %s plugin: %s due to %v", verb, name, err)
		}
		return Text("Done")
	}
}

// pluginName reads --name of plugin enable|disable, refusing what this broker cannot do.
func pluginName(req *Request) (string, Result, bool) {
	if dir, ok := req.Flag("path"); ok {
		return "", Errorf("--path=%s: this broker cannot load plugin code; its plugins are built in: leave --path out", dir), false
	}
	if name, _ := req.Flag("name"); name != "" {
		return name, Result{}, true
	}
	for _, f := range []string{"module", "function", "arity", "hook"} {
		if _, ok := req.Flag(f); ok {
			return "", Errorf("module plugins (--module, --function, --arity, --hook) are Erlang functions, which this broker cannot run: " +
				"give --name of a built-in plugin (vmq_passwd, vmq_acl, vmq_diversity, vmq_webhooks); " +
				"to run your own code on a hook, register a webhook (vmq-admin webhooks register)"), false
		}
	}
	return "", Errorf("Incomplete plugin specification: give --name=<plugin>, e.g. --name=vmq_acl"), false
}

// pluginTable is plugin show's table, filtered by --plugin and --hook.
func pluginTable(plugins []PluginInfo, req *Request) Result {
	onlyPlugin, _ := req.Flag("plugin")
	onlyHook, _ := req.Flag("hook")
	var rows [][]string
	for _, p := range plugins {
		if onlyPlugin != "" && p.Name != onlyPlugin {
			continue
		}
		hooks := p.Hooks
		if onlyHook != "" {
			hooks = nil
			for _, h := range p.Hooks {
				if h == onlyHook {
					hooks = append(hooks, h)
				}
			}
			if len(hooks) == 0 {
				continue
			}
		}
		// VerneMQ's type of a plugin built as an OTP application, as all of these are.
		rows = append(rows, []string{p.Name, "application", strings.Join(hooks, "\n")})
	}
	return Table([]string{"Plugin", "Type", "Hook(s)"}, rows)
}
