package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/acl"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
	"github.com/vernemq-go/vernemq/pkg/auth/webhooks"
	"github.com/vernemq-go/vernemq/pkg/bridge"
)

// appPlugins are the application plugins the node runs, by their vernemq.conf name, with the
// chain entries each added (vmq_diversity adds one per enabled database). Started from
// vernemq.conf and changed by vmq-admin plugin enable|disable.
type appPlugins struct {
	// mu serialises enable, disable and the node's stop. It is held across a plugin's Start
	// and Close (a file load, a database ping bounded by its timeout); no client takes it.
	mu      sync.Mutex
	ctx     context.Context // the node's lifetime: a plugin's reloader and pools end with it
	stopped bool            // the node stops: the chain closes what it holds, nothing more is enabled
	entries map[string][]auth.Plugin
}

// builtinPlugins are the plugins vmq-admin plugin enable can start at run time.
const builtinPlugins = "vmq_passwd, vmq_acl, vmq_diversity, vmq_webhooks"

// errUnknownPlugin is a plugin name this broker does not have.
var errUnknownPlugin = errors.New("unknown_plugin: this broker has the plugins " + builtinPlugins +
	" built in (vmq_bridge and vmq_http_pub start with the node); it cannot load others")

// startOnly says why vmq_bridge and vmq_http_pub are not enabled or disabled at run time
// (nil for the others): they belong to bridges and listeners that start with the node.
func startOnly(name string) error {
	switch name {
	case "vmq_bridge":
		return errors.New("vmq_bridge runs the bridges of vernemq.conf (vmq_bridge.tcp.<name> = host:port), which start " +
			"with the node: set plugins.vmq_bridge in vernemq.conf and restart the node (vmq-admin bridge start restarts the bridges)")
	case "vmq_http_pub":
		return errors.New("vmq_http_pub is served by the HTTP listeners whose http_modules list it, bound at start: " +
			"set plugins.vmq_http_pub and listener.http(s).<name>.http_modules = vmq_http_pub in vernemq.conf and restart the node")
	}
	return nil
}

// newPlugin builds the chain entries of the application plugin name from its vernemq.conf keys:
// the one place both the start and vmq-admin plugin enable make plugins.
func (n *Node) newPlugin(name string) ([]auth.Plugin, error) {
	switch name {
	case "vmq_passwd":
		file, _ := n.Cfg.Raw("vmq_passwd.password_file")
		return []auth.Plugin{passwd.New(passwd.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_passwd.password_reload_interval"), Log: n.Log})}, nil
	case "vmq_acl":
		file, _ := n.Cfg.Raw("vmq_acl.acl_file")
		return []auth.Plugin{acl.New(acl.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_acl.acl_reload_interval"), Log: n.Log})}, nil
	case "vmq_diversity":
		// Each vmq_diversity.auth_<db>.enabled = on backend is its own chain entry.
		backends, err := n.diversityBackends()
		if err == nil && len(backends) == 0 {
			n.Log.Warn("vmq_diversity is on but no vmq_diversity.auth_<db>.enabled = on; Lua scripts are not supported", "plugin", name)
		}
		return backends, err
	case "vmq_webhooks":
		w, err := n.newWebhooks()
		if err != nil {
			return nil, err
		}
		w.OnChange(n.Auth.Refresh) // on_deliver endpoints registered at run time
		return []auth.Plugin{w}, nil
	}
	if err := startOnly(name); err != nil {
		return nil, err
	}
	return nil, errUnknownPlugin
}

// startPlugins adds the enabled plugins (plugins.<name> = on) in priority order and starts them.
func (n *Node) startPlugins(ctx context.Context) error {
	p := &n.plugins
	p.mu.Lock()
	p.ctx, p.entries = ctx, map[string][]auth.Plugin{}
	p.mu.Unlock()
	n.addCloser(n.Auth.Close)
	n.addCloser(n.stopPlugins) // closers run last first: no enable once the chain closes
	if n.bridgesOn() {
		// First in the chain: it admits the bridges' own connections and passes on every other client.
		if err := n.Auth.Add(bridge.AuthPlugin{}); err != nil {
			return fmt.Errorf("plugin vmq_bridge: %w", err)
		}
	}
	for _, pl := range n.Cfg.Plugins() {
		if startOnly(pl.Name) != nil {
			continue // vmq_bridge starts after the listeners (startBridges); vmq_http_pub is served by them (http.go)
		}
		err := n.EnablePlugin(pl.Name)
		if errors.Is(err, errUnknownPlugin) {
			n.Log.Warn("plugin is enabled but not available in this build; ignored", "plugin", pl.Name)
			continue
		}
		if err != nil {
			return fmt.Errorf("plugin %s: %w", pl.Name, err)
		}
	}
	return nil
}

// EnablePlugin builds the application plugin name from vernemq.conf, starts it with the node's
// lifetime and appends its entries to the chain (lowest priority), as vmq-admin plugin enable.
// Its errors do not repeat the name; they start with VerneMQ's reason where it has one.
func (n *Node) EnablePlugin(name string) error {
	p := &n.plugins
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.stopped {
		return errors.New("the node is not running")
	}
	if _, ok := p.entries[name]; ok {
		return fmt.Errorf("already_enabled: it runs already; run vmq-admin plugin disable --name=%s first to restart it with changed settings", name)
	}
	entries, err := n.newPlugin(name)
	if err != nil {
		return err
	}
	var added []auth.Plugin
	undo := func() {
		for _, e := range added {
			n.Auth.Remove(e.Name())
		}
		auth.ClosePlugins(entries)
	}
	for _, e := range entries {
		if s, ok := e.(auth.Starter); ok {
			if err := s.Start(p.ctx); err != nil {
				undo()
				return fmt.Errorf("start plugin %s: %w", e.Name(), err)
			}
		}
	}
	for _, e := range entries {
		if err := n.Auth.Add(e); err != nil {
			undo()
			return err
		}
		added = append(added, e)
	}
	p.entries[name] = entries
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if w, ok := e.(*webhooks.Plugin); ok {
			n.webhooks.Store(w) // for vmq-admin webhooks register|deregister|show|cache
		}
		names = append(names, e.Name())
	}
	n.Log.Info("plugin enabled", "plugin", name, "chain_entries", names)
	return nil
}

// DisablePlugin takes the application plugin name out of the chain and stops it (its reloader,
// database pools and webhook connections end), as vmq-admin plugin disable.
func (n *Node) DisablePlugin(name string) error {
	if err := startOnly(name); err != nil {
		return err
	}
	p := &n.plugins
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errors.New("the node is stopping")
	}
	entries, ok := p.entries[name]
	if !ok {
		for app, es := range p.entries {
			if slices.ContainsFunc(es, func(e auth.Plugin) bool { return e.Name() == name }) {
				return fmt.Errorf("plugin_not_found: %s is a part of %s; disable --name=%s", name, app, app)
			}
		}
		return errors.New("plugin_not_found: it is not enabled on this node; vmq-admin plugin show lists what runs")
	}
	delete(p.entries, name)
	if name == webhooks.Name {
		n.webhooks.Store(nil)
	}
	for _, e := range entries {
		n.Auth.Remove(e.Name())
	}
	// A hook that read the chain before the removal may still call the plugin once after
	// Close: the file plugins answer from memory, the database ones refuse (pool closed).
	if err := auth.ClosePlugins(entries); err != nil {
		n.Log.Warn("plugin disabled; closing it failed", "plugin", name, "error", err)
	}
	n.Log.Info("plugin disabled", "plugin", name)
	return nil
}

// stopPlugins ends enable and disable before the chain closes the plugins it holds.
func (n *Node) stopPlugins() error {
	p := &n.plugins
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	n.webhooks.Store(nil)
	return nil
}
