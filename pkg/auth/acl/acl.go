// Package acl is VerneMQ's vmq_acl plugin: auth_on_publish needs a matching
// write rule, auth_on_subscribe a matching read rule for every filter.
// A match answers OK; no match answers Next, so the request is refused
// unless another plugin allows it (vmq_acl never answers Error).
//
// Deviations from vmq_acl, both safer: unparsable lines are skipped with a
// warning instead of aborting the load, and a %c/%u/%m value is compared
// literally (VerneMQ lets a client id of "+" act as a wildcard).
package acl

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/internal/reload"
)

// Name is the plugin name shown by `vmq-admin plugin show`.
const Name = "vmq_acl"

// Config is vmq_acl.acl_file and vmq_acl.acl_reload_interval.
type Config struct {
	File           string
	ReloadInterval time.Duration // VerneMQ default 10s; 0 = no periodic reload
	Log            *slog.Logger
}

// Plugin implements auth.PublishAuthorizer and auth.SubscribeAuthorizer.
type Plugin struct {
	cfg   Config
	log   *slog.Logger
	rules atomic.Pointer[Rules]
	w     *reload.Watcher
}

// New returns the plugin with no rules; Start (or Reload) reads the file.
func New(cfg Config) *Plugin {
	p := &Plugin{cfg: cfg, log: cfg.Log}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.rules.Store(&Rules{users: map[string][]rule{}})
	p.w = reload.New(cfg.File, cfg.ReloadInterval, p.load, p.log)
	return p
}

func (p *Plugin) Name() string { return Name }

// Start loads the file and reloads it every ReloadInterval when it changed.
func (p *Plugin) Start(ctx context.Context) error { return p.w.Start(ctx) }

// Close stops reloading.
func (p *Plugin) Close() error { return p.w.Close() }

// Reload re-reads the file now.
func (p *Plugin) Reload() error { return p.w.Reload() }

// SetReloadInterval changes acl_reload_interval live.
func (p *Plugin) SetReloadInterval(d time.Duration) { p.w.SetInterval(d) }

func (p *Plugin) load() error {
	f, err := os.Open(p.cfg.File)
	if err != nil {
		return fmt.Errorf("open acl file (set vmq_acl.acl_file): %w", err)
	}
	defer f.Close()
	rs, warns, err := Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p.cfg.File, err)
	}
	for _, w := range warns {
		p.log.Warn("skipping acl line", "file", p.cfg.File, "line", w.Line, "text", w.Text, "err", w.Err)
	}
	p.rules.Store(rs)
	return nil
}

// Allowed reports whether the client may publish (write) or subscribe (read) topic.
func (p *Plugin) Allowed(c *auth.Client, topic string, write bool) bool {
	acc := read
	if write {
		acc = writeAccess
	}
	return p.rules.Load().check(acc, topic, c.Username, c.ClientID, c.Mountpoint)
}

// Immediate: the authorization hooks answer from memory (auth.Immediate).
func (*Plugin) Immediate() {}

// AuthOnPublish is vmq_acl:auth_on_publish/6.
func (p *Plugin) AuthOnPublish(_ context.Context, c *auth.Client, pub *auth.Publish) (auth.Decision, *auth.PublishModifiers) {
	if p.Allowed(c, pub.Topic, true) {
		return auth.Allow(), nil
	}
	return auth.Pass(), nil
}

// AuthOnSubscribe is vmq_acl:auth_on_subscribe/3: every filter needs read access.
func (p *Plugin) AuthOnSubscribe(_ context.Context, c *auth.Client, topics []auth.Topic) (auth.Decision, []auth.Topic) {
	for _, t := range topics {
		if !p.Allowed(c, t.Filter, false) {
			return auth.Pass(), nil
		}
	}
	return auth.Allow(), nil
}
