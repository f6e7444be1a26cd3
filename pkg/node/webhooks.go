package node

import (
	"crypto/tls"
	"errors"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/auth/dbacl"
	"github.com/vernemq-go/vernemq/pkg/auth/webhooks"
)

var errWebhooksGone = errors.New("vmq_webhooks is not running on this node (disabled or stopping); check vmq-admin plugin show")

// Webhooks returns the node's vmq_webhooks plugin, or nil when it does not run (plugins.vmq_webhooks
// is off, vmq-admin plugin disable, the node stops).
func (n *Node) Webhooks() *webhooks.Plugin {
	return n.webhooks.Load()
}

// wireWebhooks gives the webhooks commands the plugin, looked up at each call.
func (n *Node) wireWebhooks(b *admin.Backend) {
	b.WebhooksEnabled = func() bool { return n.Webhooks() != nil }
	// Each func looks the plugin up again: the node may stop between the commands' check and the call.
	b.WebhookRegister = func(w admin.Webhook) error {
		p := n.Webhooks()
		if p == nil {
			return errWebhooksGone
		}
		return p.Add(webhooks.Endpoint{Hook: w.Hook, URL: w.Endpoint, Base64: w.Base64Payload,
			NoPayload: w.NoPayload, ResponseTimeout: w.ResponseTimeout})
	}
	b.WebhookDeregister = func(hook, endpoint string) bool {
		p := n.Webhooks()
		return p != nil && p.Remove(hook, endpoint)
	}
	b.Webhooks = func() []admin.Webhook {
		p := n.Webhooks()
		if p == nil {
			return nil
		}
		var out []admin.Webhook
		for _, e := range p.Endpoints() {
			out = append(out, admin.Webhook{Hook: e.Hook, Endpoint: e.URL, Base64Payload: e.Base64,
				NoPayload: e.NoPayload, ResponseTimeout: e.ResponseTimeout})
		}
		return out
	}
	// The plugin counts only live entries, not per-endpoint hits and misses.
	b.WebhookCacheStats = func() []admin.WebhookCacheStat {
		p := n.Webhooks()
		if p == nil {
			return nil
		}
		return []admin.WebhookCacheStat{{Stat: "entries", Value: p.CacheLen()}}
	}
	b.WebhookCacheClear = func() {
		if p := n.Webhooks(); p != nil {
			p.CacheClear()
		}
	}
}

// newWebhooks builds vmq_webhooks from the vmq_webhooks.<name>.hook/.endpoint keys and its pool/TLS settings.
func (n *Node) newWebhooks() (*webhooks.Plugin, error) {
	var eps []webhooks.Endpoint
	for key, url := range n.Cfg.Prefix("vmq_webhooks.") {
		name, ok := strings.CutSuffix(key, ".endpoint")
		if !ok {
			continue
		}
		k := "vmq_webhooks." + name + "."
		eps = append(eps, webhooks.Endpoint{Name: name, Hook: n.Cfg.String(k + "hook"), URL: url,
			Base64: n.Cfg.Bool(k + "base64encode"), NoPayload: n.Cfg.Bool(k + "no_payload"),
			ResponseTimeout: n.Cfg.Duration(k + "response_timeout")})
	}
	var tc *tls.Config
	if ca, cert := n.Cfg.String("vmq_webhooks.cafile"), n.Cfg.String("vmq_webhooks.certfile"); ca != "" || cert != "" {
		var err error
		if tc, err = dbacl.TLSConfig(dbacl.TLSFiles{CAFile: ca, CertFile: cert, KeyFile: n.Cfg.String("vmq_webhooks.keyfile")}, ""); err != nil {
			return nil, err
		}
	}
	if !n.Cfg.Bool("vmq_webhooks.verify_peer") {
		if tc == nil {
			tc = &tls.Config{}
		}
		tc.InsecureSkipVerify = true // vmq_webhooks.verify_peer = off, as asked
	}
	return webhooks.New(webhooks.Config{Endpoints: eps, MaxConnsPerHost: int(n.Cfg.Int("vmq_webhooks.pool_max_connections")),
		IdleTimeout: n.Cfg.Duration("vmq_webhooks.pool_timeout"), TLS: tc, Log: n.Log})
}
