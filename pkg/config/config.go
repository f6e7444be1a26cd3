// Package config reads VerneMQ-style vernemq.conf files: flat "key = value"
// lines checked against one schema of typed keys with VerneMQ's defaults,
// plus DOCKER_VERNEMQ_* environment overrides and run-time changes (vmq-admin set).
package config

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config holds validated settings; safe for concurrent use.
type Config struct {
	mu       sync.RWMutex
	s        *schema
	vals     map[string]value  // keys set by file, env or Set
	from     map[string]origin // where each set key came from
	ignored  map[string]string // accepted but not implemented keys
	file     string            // the conf file Load read, for messages not tied to a key
	onChange []func(key, value string)
}

// KeyInfo describes one key for listings such as vmq-admin show.
type KeyInfo struct {
	Name    string
	Type    Type
	Default string
	Unit    string
	Runtime bool
	Doc     string
	Value   string // current value after inheritance and $(var) expansion
}

// Defaults returns a Config with every key at VerneMQ's default and no listeners.
func Defaults() *Config {
	return &Config{s: theSchema, vals: map[string]value{}, from: map[string]origin{}, ignored: map[string]string{}}
}

// resolve returns the key definition and effective value of name; caller holds mu.
// Unset keys with Inherit take their parent's value (listener hierarchy).
func (c *Config) resolve(name string) (*Key, value) {
	k := c.s.lookup(name)
	if k == nil {
		panic("config: key not in schema: " + name)
	}
	first := k
	for range 4 {
		if v, ok := c.vals[name]; ok && !v.unset {
			return first, v
		}
		if k.Inherit == nil {
			break
		}
		name = k.Inherit(name)
		k = c.s.lookup(name)
	}
	v, _ := k.parse(k.Default)
	return first, v
}

// expand substitutes cuttlefish-style $(key) references; caller holds mu.
func (c *Config) expand(s string, depth int) string {
	for depth < 5 {
		i := strings.Index(s, "$(")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			return s
		}
		ref := s[i+2 : i+j]
		repl := ""
		if c.s.lookup(ref) != nil {
			_, v := c.resolve(ref)
			repl = c.expand(v.raw, depth+1)
		}
		s = s[:i] + repl + s[i+j+1:]
		depth++
	}
	return s
}

func (c *Config) typed(name string, want ...Type) value {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, v := c.resolve(name)
	if !slices.Contains(want, k.Type) {
		panic(fmt.Sprintf("config: key %s is %s, not %s", name, k.Type, want[0]))
	}
	return v
}

// Int returns an int (or bytes) key; "infinity" reads as 0. Panics on keys missing from the schema.
func (c *Config) Int(key string) int64 { return c.typed(key, TypeInt, TypeBytes).i }

// Bool returns an on/off key.
func (c *Config) Bool(key string) bool { return c.typed(key, TypeBool).b }

// Duration returns a duration key; sentinel words ("never", "client") read as 0.
func (c *Config) Duration(key string) time.Duration { return c.typed(key, TypeDuration).d }

// Bytes returns a size key in bytes.
func (c *Config) Bytes(key string) int64 { return c.typed(key, TypeBytes, TypeInt).i }

// List returns the items of a list key.
func (c *Config) List(key string) []string { return slices.Clone(c.typed(key, TypeList).list) }

// String returns any key's value as text, with $(key) references expanded.
func (c *Config) String(key string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, v := c.resolve(key)
	return c.expand(v.raw, 0)
}

// Raw returns the value of any key, including pattern keys (plugins.<name>,
// vmq_webhooks.<name>.hook) and accepted-but-ignored keys; false if unset and without default.
func (c *Config) Raw(key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.ignored[key]; ok {
		return v, true
	}
	k := c.s.lookup(key)
	if k == nil {
		return "", false
	}
	if _, set := c.vals[key]; !set && k.isPattern() {
		return "", false
	}
	_, v := c.resolve(key)
	return c.expand(v.raw, 0), true
}

// Prefix returns set keys, ignored keys and literal schema keys starting with
// prefix, keyed by the rest of the name (Prefix("vmq_webhooks.") → "wh1.hook").
func (c *Config) Prefix(prefix string) map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := map[string]string{}
	for name := range c.s.literal {
		if strings.HasPrefix(name, prefix) {
			_, v := c.resolve(name)
			out[name[len(prefix):]] = c.expand(v.raw, 0)
		}
	}
	for name, v := range c.vals {
		if strings.HasPrefix(name, prefix) {
			out[name[len(prefix):]] = c.expand(v.raw, 0)
		}
	}
	for name, v := range c.ignored {
		if strings.HasPrefix(name, prefix) {
			out[name[len(prefix):]] = v
		}
	}
	return out
}

// Set changes a run-time key (vmq-admin set) after validating it, then calls OnChange functions.
func (c *Config) Set(key, val string) error {
	val = strings.TrimSpace(val)
	c.mu.Lock()
	k := c.s.lookup(key)
	if k == nil {
		c.mu.Unlock()
		if s := c.s.suggest(key); s != "" {
			return fmt.Errorf("%s: %w (did you mean %s?)", key, ErrUnknownKey, s)
		}
		return fmt.Errorf("%s: %w", key, ErrUnknownKey)
	}
	if !k.Runtime {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w; change it in vernemq.conf and restart the node", key, ErrNotRuntime)
	}
	v, err := k.parse(val)
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("%s: %v", key, err)
	}
	c.vals[key] = v
	c.from[key] = origin{source: "vmq-admin set"}
	fns := slices.Clone(c.onChange)
	c.mu.Unlock()
	for _, fn := range fns {
		fn(key, v.raw)
	}
	return nil
}

// OnChange registers fn to be called after each successful Set, outside the lock.
func (c *Config) OnChange(fn func(key, value string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, fn)
}

// Keys lists literal schema keys, set pattern keys and set accepted-but-ignored keys, sorted by name.
func (c *Config) Keys() []KeyInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []KeyInfo
	add := func(name string, k *Key) {
		_, v := c.resolve(name)
		def := k.Default
		if def == "" && k.Inherit != nil {
			def = "(inherited from " + k.Inherit(name) + ")"
		}
		out = append(out, KeyInfo{Name: name, Type: k.Type, Default: def, Unit: k.Unit,
			Runtime: k.Runtime, Doc: k.Doc, Value: c.expand(v.raw, 0)})
	}
	for name, k := range c.s.literal {
		add(name, k)
	}
	for name := range c.vals {
		if k := c.s.lookup(name); k.isPattern() {
			add(name, k)
		}
	}
	for name, v := range c.ignored {
		out = append(out, KeyInfo{Name: name, Type: TypeString, Value: v, Doc: "accepted and ignored (a VerneMQ key this broker does not implement)"})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Source reports where a key's value came from ("file:line", env variable,
// "vmq-admin set"), or "default".
func (c *Config) Source(key string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if o, ok := c.from[key]; ok {
		return o.String()
	}
	return "default"
}
