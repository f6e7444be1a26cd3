package node

import (
	"context"
	"fmt"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/acl"
	"github.com/vernemq-go/vernemq/pkg/auth/passwd"
	"github.com/vernemq-go/vernemq/pkg/bridge"
)

// startPlugins adds the enabled plugins (plugins.<name> = on) in priority order and starts them.
func (n *Node) startPlugins(ctx context.Context) error {
	if n.bridgesOn() {
		// First in the chain: it admits the bridges' own connections and passes on every other client.
		if err := n.Auth.Add(bridge.AuthPlugin{}); err != nil {
			return fmt.Errorf("plugin vmq_bridge: %w", err)
		}
	}
	for _, p := range n.Cfg.Plugins() {
		var pl auth.Plugin
		switch p.Name {
		case "vmq_bridge":
			continue // its bridges start after the listeners (startBridges)
		case "vmq_passwd":
			file, _ := n.Cfg.Raw("vmq_passwd.password_file")
			pl = passwd.New(passwd.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_passwd.password_reload_interval"), Log: n.Log})
		case "vmq_acl":
			file, _ := n.Cfg.Raw("vmq_acl.acl_file")
			pl = acl.New(acl.Config{File: file, ReloadInterval: n.Cfg.Duration("vmq_acl.acl_reload_interval"), Log: n.Log})
		case "vmq_diversity":
			// Each vmq_diversity.auth_<db>.enabled = on backend is its own chain entry.
			backends, err := n.diversityBackends()
			if err != nil {
				return fmt.Errorf("plugin vmq_diversity: %w", err)
			}
			if len(backends) == 0 {
				n.Log.Warn("vmq_diversity is on but no vmq_diversity.auth_<db>.enabled = on; Lua scripts are not supported", "plugin", p.Name)
			}
			for _, b := range backends {
				if err := n.Auth.Add(b); err != nil {
					return fmt.Errorf("plugin %s: %w", b.Name(), err)
				}
				n.Log.Info("plugin enabled", "plugin", b.Name(), "priority", p.Priority)
			}
			continue
		case "vmq_webhooks":
			w, err := n.newWebhooks()
			if err != nil {
				return fmt.Errorf("plugin vmq_webhooks: %w", err)
			}
			n.keepWebhooks(w)          // for vmq-admin webhooks register|deregister|show|cache
			w.OnChange(n.Auth.Refresh) // on_deliver endpoints registered at run time
			pl = w
		case "vmq_http_pub":
			continue // served by the HTTP listeners whose http_modules list it (http.go)
		default:
			n.Log.Warn("plugin is enabled but not available in this build; ignored", "plugin", p.Name)
			continue
		}
		if err := n.Auth.Add(pl); err != nil {
			return fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		n.Log.Info("plugin enabled", "plugin", p.Name, "priority", p.Priority)
	}
	if err := n.Auth.Start(ctx); err != nil {
		return fmt.Errorf("starting plugins: %w", err)
	}
	n.addCloser(n.Auth.Close)
	return nil
}
