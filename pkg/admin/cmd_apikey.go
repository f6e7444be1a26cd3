package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const expiresLayout = "2006-01-02T15:04:05"

func apiKeyCommands(r *Registry, b *Backend) {
	scope := Param{Name: "scope", Default: "mgmt", Help: "what the key opens: " + strings.Join(Scopes, ", ")}
	expires := Param{Name: "expires", Help: "expiry in UTC as yyyy-mm-ddThh:mm:ss (default never)"}
	r.Register(Command{
		Path: "api-key create", Help: "Create a random API key for the HTTP API", Args: []Param{scope, expires},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Keys != nil, "an API key store"); !ok {
				return res
			}
			exp, err := keyExpiry(b, req.Args["expires"])
			if err != nil {
				return Errorf("%v", err)
			}
			key, err := b.Keys.Create(req.Args["scope"], exp)
			if err != nil {
				return Errorf("%v", err)
			}
			return Text("%s", key)
		},
	})
	r.Register(Command{
		Path: "api-key add", Help: "Add a given API key",
		Args: []Param{{Name: "key", Required: true, Help: "the key"}, scope, expires},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Keys != nil, "an API key store"); !ok {
				return res
			}
			key := req.Args["key"]
			if b.Config != nil {
				if min := int(b.Config.Int("min_apikey_length")); len(key) < min {
					return Errorf("the key has %d characters; min_apikey_length asks for at least %d", len(key), min)
				}
			}
			if key == "" || strings.ContainsAny(key, " \t\r\n:") {
				return Errorf("a key must be non-empty without spaces or ':' (it is sent as a basic-auth user)")
			}
			exp, err := keyExpiry(b, req.Args["expires"])
			if err != nil {
				return Errorf("%v", err)
			}
			if err := b.Keys.Add(APIKey{Key: key, Scope: req.Args["scope"], Expires: exp}); err != nil {
				return Errorf("%v", err)
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "api-key delete", Help: "Delete an API key",
		Args: []Param{{Name: "key", Required: true, Help: "the key"}, {Name: "scope", Help: "only the key of this scope (default every scope)"}},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Keys != nil, "an API key store"); !ok {
				return res
			}
			found, err := b.Keys.Delete(req.Args["key"], req.Args["scope"])
			if err != nil {
				return Errorf("%v", err)
			}
			if !found {
				return Errorf("no such API key; see vmq-admin api-key show")
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "api-key show", Help: "List API keys",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Keys != nil, "an API key store"); !ok {
				return res
			}
			now := time.Now()
			var rows [][]string
			for _, k := range b.Keys.List() {
				exp := "never"
				if !k.Expires.IsZero() {
					exp = k.Expires.UTC().Format(expiresLayout)
				}
				rows = append(rows, []string{k.Key, k.Scope, exp, strconv.FormatBool(k.Expired(now))})
			}
			return Table([]string{"Key", "Scope", "Expires (UTC)", "has expired"}, rows)
		},
	})
}

// keyExpiry parses expires= and applies max_apikey_expiry_days.
func keyExpiry(b *Backend, s string) (time.Time, error) {
	var exp time.Time
	if s != "" {
		t, err := time.ParseInLocation(expiresLayout, s, time.UTC)
		if err != nil {
			return exp, fmt.Errorf("expires=%q is not yyyy-mm-ddThh:mm:ss (UTC), e.g. 2030-01-31T00:00:00", s)
		}
		if !t.After(time.Now()) {
			return exp, fmt.Errorf("expires=%s is in the past", s)
		}
		exp = t
	}
	if b.Config != nil {
		if days := b.Config.Int("max_apikey_expiry_days"); days > 0 {
			limit := time.Now().Add(time.Duration(days) * 24 * time.Hour)
			if exp.IsZero() || exp.After(limit) {
				return exp, fmt.Errorf("max_apikey_expiry_days is %d: give expires= no later than %s", days, limit.UTC().Format(expiresLayout))
			}
		}
	}
	return exp, nil
}
