// Package webhooks is VerneMQ's vmq_webhooks plugin: hooks answered by HTTP
// endpoints. Each call is a POST with header "vernemq-hook: <hook>" and a
// JSON body as VerneMQ sends it; the endpoint replies 200 with
//
//	{"result":"ok", "modifiers":{...}} | {"result":"next"} | {"result":{"error":"not_allowed"}}
//
// (auth_on_subscribe replies {"result":"ok","topics":[{"topic":..,"qos":..}]}).
// A non-200 status, a transport error, a timeout or a body that is not JSON
// refuses the request (fail closed) and is logged. Successful
// auth_on_register/publish/subscribe answers carrying
// "cache-control: max-age=N" are cached for N seconds per endpoint, hook
// and arguments (the publish payload excluded).
//
// v5 clients get the *_m5 hooks, v3/v3.1.1 clients the plain ones, as in VerneMQ.
package webhooks

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Name is the chain name.
const Name = "vmq_webhooks"

// Endpoint is one vmq_webhooks.<name>.* block or `webhooks register` call.
type Endpoint struct {
	Name            string // conf block name; conf endpoints are ordered by it
	Hook            string // e.g. "auth_on_register", "on_publish_m5"
	URL             string
	Base64          bool          // base64encode (VerneMQ default on)
	NoPayload       bool          // no_payload: omit the payload (auth_on_publish only)
	ResponseTimeout time.Duration // response_timeout; 5s if 0
}

// Config is the plugin's global settings (vmq_webhooks.pool_*, TLS).
type Config struct {
	Endpoints       []Endpoint
	MaxConnsPerHost int           // pool_max_connections; 100 if 0
	IdleTimeout     time.Duration // pool_timeout; 60s if 0
	TLS             *tls.Config   // for https endpoints; nil = system defaults
	Log             *slog.Logger
}

// Plugin is the vmq_webhooks chain entry.
type Plugin struct {
	log    *slog.Logger
	client *http.Client
	cache  *cache

	mu       sync.RWMutex
	hooks    map[string][]Endpoint
	onChange func() // told after each Add/Remove (the chain's Refresh)
}

// Hooks lists the hooks an endpoint may be registered for.
// It is VerneMQ's list (vmq_webhooks.schema, `webhooks register`): every one is served.
var Hooks = []string{
	"auth_on_register", "auth_on_publish", "auth_on_subscribe", "on_register", "on_publish",
	"on_subscribe", "on_unsubscribe", "on_deliver", "on_offline_message", "on_client_wakeup",
	"on_client_offline", "on_client_gone", "on_session_expired",
	"auth_on_register_m5", "auth_on_publish_m5", "auth_on_subscribe_m5", "on_register_m5",
	"on_publish_m5", "on_subscribe_m5", "on_unsubscribe_m5", "on_deliver_m5", "on_auth_m5",
}

// New builds the plugin with the conf endpoints, ordered by name.
func New(cfg Config) (*Plugin, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = 100
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost, tr.IdleConnTimeout = cfg.MaxConnsPerHost, cfg.MaxConnsPerHost, cfg.IdleTimeout
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS
	}
	p := &Plugin{log: cfg.Log, client: &http.Client{Transport: tr}, cache: newCache(), hooks: map[string][]Endpoint{}}
	eps := slices.Clone(cfg.Endpoints)
	slices.SortStableFunc(eps, func(a, b Endpoint) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	for _, e := range eps {
		if err := p.Add(e); err != nil {
			return nil, fmt.Errorf("vmq_webhooks.%s: %w", e.Name, err)
		}
	}
	return p, nil
}

func (p *Plugin) Name() string { return Name }

// Close drops idle connections.
func (p *Plugin) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

// Add registers an endpoint for a hook, after those already there
// (`vmq-admin webhooks register`).
func (p *Plugin) Add(e Endpoint) error {
	if !slices.Contains(Hooks, e.Hook) {
		return fmt.Errorf("hook %q is not supported by webhooks; use one of %v", e.Hook, Hooks)
	}
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %q is not an http(s) URL", e.URL)
	}
	if e.ResponseTimeout <= 0 {
		e.ResponseTimeout = 5 * time.Second
	}
	p.mu.Lock()
	for _, o := range p.hooks[e.Hook] {
		if o.URL == e.URL {
			p.mu.Unlock()
			return fmt.Errorf("endpoint %s is already registered for %s", e.URL, e.Hook)
		}
	}
	p.hooks[e.Hook] = append(slices.Clone(p.hooks[e.Hook]), e)
	fn := p.onChange
	p.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

// OnChange sets fn to be called after each registration change (for the chain's Refresh).
func (p *Plugin) OnChange(fn func()) {
	p.mu.Lock()
	p.onChange = fn
	p.mu.Unlock()
}

// Remove deregisters an endpoint from a hook (`vmq-admin webhooks deregister`).
func (p *Plugin) Remove(hook, endpoint string) bool {
	p.mu.Lock()
	eps := p.hooks[hook]
	i := slices.IndexFunc(eps, func(e Endpoint) bool { return e.URL == endpoint })
	if i < 0 {
		p.mu.Unlock()
		return false
	}
	p.hooks[hook] = slices.Delete(slices.Clone(eps), i, i+1)
	p.cache.dropEndpoint(endpoint)
	fn := p.onChange
	p.mu.Unlock()
	if fn != nil {
		fn() // outside p.mu: the chain's Refresh asks WantsHook
	}
	return true
}

// Endpoints lists the registrations in call order (`vmq-admin webhooks show`).
func (p *Plugin) Endpoints() []Endpoint {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Endpoint
	for _, h := range Hooks {
		out = append(out, p.hooks[h]...)
	}
	return out
}

// CacheClear empties the auth result cache (`vmq-admin webhooks cache clear`).
func (p *Plugin) CacheClear() { p.cache.clear() }

// CacheLen is the number of cached results.
func (p *Plugin) CacheLen() int { return p.cache.len() }

func (p *Plugin) endpoints(hook string) []Endpoint {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.hooks[hook]
}

// hookName picks the v5 variant for MQTT 5 clients.
func hookName(base string, protocol byte) string {
	if protocol == 5 {
		return base + "_m5"
	}
	return base
}

// notify posts a notification to every endpoint of hook, ignoring answers.
func (p *Plugin) notify(ctx context.Context, hook string, body map[string]any) {
	for _, e := range p.endpoints(hook) {
		if _, _, err := p.post(ctx, e, hook, body); err != nil {
			p.log.Error("webhook call failed", "hook", hook, "endpoint", e.URL, "err", err)
		}
	}
}
