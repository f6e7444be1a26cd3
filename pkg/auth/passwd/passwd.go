// Package passwd is VerneMQ's vmq_passwd plugin: auth_on_register against a
// password file of "user:$6$<base64 12-byte salt>$<base64 SHA-512(password‖salt)>"
// lines, as written by vmq-passwd (and mosquitto_passwd of the same era).
//
// A client without user name or password, or with a user name not in the
// file, gets Next (another plugin may accept it); a wrong password gets
// Error invalid_credentials (CONNACK 0x86 / v3 4). Lines that cannot be
// parsed are skipped with a warning (VerneMQ would stop reading the file).
package passwd

import (
	"bufio"
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
const Name = "vmq_passwd"

// Config is vmq_passwd.password_file and vmq_passwd.password_reload_interval.
type Config struct {
	File           string
	ReloadInterval time.Duration // default in VerneMQ 10s; 0 = no periodic reload
	Log            *slog.Logger
}

// Plugin implements auth.Registerer.
type Plugin struct {
	cfg   Config
	log   *slog.Logger
	users atomic.Pointer[map[string]Entry]
	w     *reload.Watcher
}

// New returns the plugin with an empty table; Start (or Reload) reads the file.
func New(cfg Config) *Plugin {
	p := &Plugin{cfg: cfg, log: cfg.Log}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	empty := map[string]Entry{}
	p.users.Store(&empty)
	p.w = reload.New(cfg.File, cfg.ReloadInterval, p.load, p.log)
	return p
}

func (p *Plugin) Name() string { return Name }

// Start loads the file and reloads it every ReloadInterval when it changed.
func (p *Plugin) Start(ctx context.Context) error { return p.w.Start(ctx) }

// Close stops reloading.
func (p *Plugin) Close() error { return p.w.Close() }

// Reload re-reads the file now (vmq-admin / config change).
func (p *Plugin) Reload() error { return p.w.Reload() }

// SetReloadInterval changes password_reload_interval live.
func (p *Plugin) SetReloadInterval(d time.Duration) { p.w.SetInterval(d) }

// Users returns how many users are loaded.
func (p *Plugin) Users() int { return len(*p.users.Load()) }

func (p *Plugin) load() error {
	f, err := os.Open(p.cfg.File)
	if err != nil {
		return fmt.Errorf("open password file (set vmq_passwd.password_file, create it with vmq-passwd -c): %w", err)
	}
	defer f.Close()
	users := map[string]Entry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		e, ok, err := ParseLine(sc.Text())
		if err != nil {
			p.log.Warn("skipping bad password file line", "file", p.cfg.File, "line", n, "err", err)
			continue
		}
		if ok {
			users[e.User] = e // later lines win, as ets:insert does
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read password file %s: %w", p.cfg.File, err)
	}
	p.users.Store(&users)
	return nil
}

// AuthOnRegister is vmq_passwd:check/2.
func (p *Plugin) AuthOnRegister(_ context.Context, c *auth.Client) (auth.Decision, *auth.RegisterModifiers) {
	if c.Username == "" || c.Password == nil {
		return auth.Pass(), nil
	}
	e, ok := (*p.users.Load())[c.Username]
	if !ok {
		return auth.Pass(), nil
	}
	if !e.Check(c.Password) {
		return auth.Deny(auth.ReasonInvalidCredentials), nil
	}
	return auth.Allow(), nil
}
