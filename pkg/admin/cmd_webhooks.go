package admin

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Webhook is one row of webhooks show and the arguments of webhooks register.
type Webhook struct {
	Hook            string
	Endpoint        string
	Base64Payload   bool
	NoPayload       bool
	ResponseTimeout time.Duration
}

// WebhookCacheStat is one row of webhooks cache show (VerneMQ: stat, endpoint, hook, value).
type WebhookCacheStat struct {
	Stat     string // entries, hits, misses
	Endpoint string // "" when the stat covers every endpoint
	Hook     string // "" when the stat covers every hook
	Value    int
}

// webhooksOff says what to do when vmq_webhooks does not run (off in vernemq.conf, or disabled): VerneMQ only has
// these commands while the plugin runs.
const webhooksOff = "vmq_webhooks is not enabled on this node: start it with vmq-admin plugin enable --name=vmq_webhooks, " +
	"or set plugins.vmq_webhooks = on in vernemq.conf (endpoints may also go there as vmq_webhooks.<name>.hook and " +
	"vmq_webhooks.<name>.endpoint) and restart the node"

// webhooksReady checks the backend has webhooks and the plugin runs.
func webhooksReady(b *Backend) (Result, bool) {
	if res, ok := ready(b.WebhooksEnabled != nil, "webhooks"); !ok {
		return res, false
	}
	if !b.WebhooksEnabled() {
		return Errorf("%s", webhooksOff), false
	}
	return Result{}, true
}

func webhookCommands(r *Registry, b *Backend) {
	hookArgs := []Param{
		{Name: "hook", Required: true, Help: "hook name, e.g. auth_on_register or on_publish_m5"},
		{Name: "endpoint", Required: true, Help: "http(s) URL the hook is POSTed to"},
	}
	r.Register(Command{
		Path: "webhooks register",
		Help: "Register a webhook endpoint with a hook (lost on restart; vmq_webhooks.<name>.* in vernemq.conf keeps it)",
		Args: hookArgs,
		Flags: []Param{
			{Name: "base64payload", Value: "true|false", Default: "true", Help: "base64 encode the MQTT payload"},
			{Name: "no_payload", Value: "true|false", Default: "false", Help: "omit the payload (auth_on_publish and auth_on_publish_m5 only)"},
			{Name: "response_timeout", Value: "MS", Default: "5000", Help: "milliseconds the endpoint has to answer"},
		},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := webhooksReady(b); !ok {
				return res
			}
			w := Webhook{Hook: req.Args["hook"], Endpoint: req.Args["endpoint"], Base64Payload: true, ResponseTimeout: 5 * time.Second}
			var err error
			if w.Base64Payload, err = boolFlag(req, "base64payload", true); err != nil {
				return Errorf("%v", err)
			}
			if w.NoPayload, err = boolFlag(req, "no_payload", false); err != nil {
				return Errorf("%v", err)
			}
			if v, ok := req.Flag("response_timeout"); ok {
				ms, err := strconv.Atoi(v)
				if err != nil || ms <= 0 {
					return Errorf("--response_timeout=%q is not a positive number of milliseconds, e.g. --response_timeout=5000", v)
				}
				w.ResponseTimeout = time.Duration(ms) * time.Millisecond
			}
			if err := b.WebhookRegister(w); err != nil {
				return Errorf("can't register endpoint: %v", err)
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "webhooks deregister",
		Help: "Deregister a webhook endpoint from a hook",
		Args: hookArgs,
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := webhooksReady(b); !ok {
				return res
			}
			if !b.WebhookDeregister(req.Args["hook"], req.Args["endpoint"]) {
				return Errorf("can't deregister endpoint: %s is not registered for %s; see vmq-admin webhooks show",
					req.Args["endpoint"], req.Args["hook"])
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "webhooks show",
		Help: "Show the registered webhooks: hook, endpoint, base64payload, response_timeout (ms)",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := webhooksReady(b); !ok {
				return res
			}
			var rows [][]string
			for _, w := range b.Webhooks() {
				rows = append(rows, []string{w.Hook, w.Endpoint, strconv.FormatBool(w.Base64Payload),
					strconv.FormatInt(w.ResponseTimeout.Milliseconds(), 10)})
			}
			return Table([]string{"hook", "endpoint", "base64payload", "response_timeout"}, rows)
		},
	})
	r.Register(Command{
		Path: "webhooks cache show",
		Help: "Show statistics about the webhooks cache: stat, endpoint, hook, value",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := webhooksReady(b); !ok {
				return res
			}
			var rows [][]string
			for _, s := range b.WebhookCacheStats() {
				rows = append(rows, []string{s.Stat, s.Endpoint, s.Hook, strconv.Itoa(s.Value)})
			}
			return Table([]string{"stat", "endpoint", "hook", "value"}, rows)
		},
	})
	r.Register(Command{
		Path: "webhooks cache clear",
		Help: "Clear the webhooks cache (cached auth_on_register/publish/subscribe answers)",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := webhooksReady(b); !ok {
				return res
			}
			b.WebhookCacheClear()
			return Text("Done")
		},
	})
}

// boolFlag reads --name=true|false as VerneMQ does; a bare --name means true.
func boolFlag(req *Request, name string, def bool) (bool, error) {
	v, ok := req.Flag(name)
	switch {
	case !ok:
		return def, nil
	case v == "" || v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	return false, fmt.Errorf("--%s=%q: use --%s=true or --%s=false", name, v, name, name)
}
