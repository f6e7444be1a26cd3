package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Listener is one configured listener with every option resolved through
// listener.<opt> → listener.<type>.<opt> → listener.<type>.<name>.<opt>.
// Options that do not apply to the type (e.g. certfile on tcp) stay zero.
type Listener struct {
	Type, Name string
	Network    string // "tcp", or "unix" for tcp listeners at local:/path.sock
	Addr       string // host:port ready for net.Listen, or the unix socket path

	MaxConnections int // 0 = unlimited ("infinity")
	NrOfAcceptors  int
	Mountpoint     string // "" when unset or "off"

	ProxyProtocol                bool
	ProxyProtocolUseCNAsUsername bool
	ProxyProtocolTimeout         time.Duration

	AllowedProtocolVersions []byte // MQTT protocol levels: 3, 4, 5, 131
	AllowAnonymousOverride  bool
	MaxConnectionLifetime   time.Duration // 0 = off

	CAFile, CertFile, KeyFile, KeyPasswd, CRLFile string
	TLSVersion                                    string   // as configured, e.g. "tlsv1.2,tlsv1.3"
	TLSVersions                                   []string // the same, split
	Ciphers                                       string
	RequireCertificate, UseIdentityAsUsername     bool
	Depth                                         int
	TLSHandshakeTimeout                           time.Duration // 0 = the listener's default

	SndBuf, RecBuf, Buffer int // 0 = OS/default

	WSPath      string   // ws/wss only
	HTTPModules []string // http/https only
}

// Plugin is an enabled plugin and its chain position.
type Plugin struct {
	Name     string
	Priority int
}

// DefaultPluginPriority is used for plugins without plugins.<name>.priority.
const DefaultPluginPriority = 1000

// listenerNames returns (type, name) of defined listeners; caller holds mu.
func (c *Config) listenerNames() [][2]string {
	var out [][2]string
	for key := range c.vals {
		segs := strings.Split(key, ".")
		if len(segs) != 3 || segs[0] != "listener" {
			continue
		}
		if k := c.s.lookup(key); k != nil && k.Name == "listener."+segs[1]+".$name" {
			out = append(out, [2]string{segs[1], segs[2]})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(slices.Index(ListenerTypes, a[0]), slices.Index(ListenerTypes, b[0])),
			strings.Compare(a[1], b[1]))
	})
	return out
}

// listener builds one Listener; caller holds mu.
func (c *Config) listener(typ, name string) Listener {
	base := "listener." + typ + "." + name
	l := Listener{Type: typ, Name: name}
	l.Network, l.Addr, _ = splitAddr(typ, c.vals[base].raw)
	opt := func(o string) (value, bool) {
		if c.s.lookup(base+"."+o) == nil {
			return value{}, false
		}
		_, v := c.resolve(base + "." + o)
		return v, true
	}
	str := func(o string) string {
		v, _ := opt(o)
		return c.expand(v.raw, 0)
	}
	boolOpt := func(o string) bool { v, _ := opt(o); return v.b }
	intOpt := func(o string) int { v, _ := opt(o); return int(v.i) }
	durOpt := func(o string) time.Duration { v, _ := opt(o); return v.d }

	l.MaxConnections = intOpt("max_connections")
	l.NrOfAcceptors = intOpt("nr_of_acceptors")
	if l.Mountpoint = str("mountpoint"); l.Mountpoint == "off" {
		l.Mountpoint = ""
	}
	l.ProxyProtocol = boolOpt("proxy_protocol")
	l.ProxyProtocolUseCNAsUsername = l.ProxyProtocol && boolOpt("proxy_protocol_use_cn_as_username")
	l.ProxyProtocolTimeout = durOpt("proxy_protocol_timeout")
	if v, ok := opt("allowed_protocol_versions"); ok {
		for _, s := range v.list {
			n, _ := strconv.Atoi(s)
			l.AllowedProtocolVersions = append(l.AllowedProtocolVersions, byte(n))
		}
	}
	l.AllowAnonymousOverride = boolOpt("allow_anonymous_override")
	l.MaxConnectionLifetime = durOpt("max_connection_lifetime")
	l.CAFile, l.CertFile, l.KeyFile = str("cafile"), str("certfile"), str("keyfile")
	l.KeyPasswd, l.CRLFile, l.Ciphers = str("keypasswd"), str("crlfile"), str("ciphers")
	if v, ok := opt("tls_version"); ok {
		l.TLSVersion, l.TLSVersions = v.raw, slices.Clone(v.list)
	}
	l.RequireCertificate = boolOpt("require_certificate")
	l.UseIdentityAsUsername = boolOpt("use_identity_as_username")
	l.Depth = intOpt("depth")
	l.TLSHandshakeTimeout = durOpt("tls_handshake_timeout")
	l.SndBuf, l.RecBuf, l.Buffer = intOpt("sndbuf"), intOpt("recbuf"), intOpt("buffer")
	if bs := str("buffer_sizes"); bs != "" {
		parts := strings.Split(bs, ",")
		fill := func(dst *int, s string) {
			if *dst == 0 {
				n, _ := parseBytes(strings.TrimSpace(s))
				*dst = int(n)
			}
		}
		fill(&l.SndBuf, parts[0])
		fill(&l.RecBuf, parts[1])
		fill(&l.Buffer, parts[2])
	}
	l.WSPath = str("ws_path")
	if v, ok := opt("http_modules"); ok {
		l.HTTPModules = slices.Clone(v.list)
	}
	return l
}

// Listeners returns all configured listeners sorted by type (ListenerTypes order) then name.
func (c *Config) Listeners() []Listener {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Listener
	for _, tn := range c.listenerNames() {
		out = append(out, c.listener(tn[0], tn[1]))
	}
	return out
}

// Plugins returns enabled, implemented plugins ordered by priority (lower first), then name.
func (c *Config) Plugins() []Plugin {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := map[string]bool{}
	for key := range c.s.literal {
		names[key] = true
	}
	for key := range c.vals {
		names[key] = true
	}
	var out []Plugin
	for key := range names {
		name, ok := strings.CutPrefix(key, "plugins.")
		if !ok || strings.Contains(name, ".") || notImplementedPlugins[name] {
			continue
		}
		if _, v := c.resolve(key); !v.b {
			continue
		}
		prio := DefaultPluginPriority
		if v, set := c.vals[key+".priority"]; set {
			prio = int(v.i)
		}
		out = append(out, Plugin{Name: name, Priority: prio})
	}
	slices.SortFunc(out, func(a, b Plugin) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), strings.Compare(a.Name, b.Name))
	})
	return out
}

// crossCheck finds problems spanning several keys once file and env are applied.
func (p *parser) crossCheck() {
	c := p.c
	defined := map[string]bool{}
	type bound struct {
		ip   net.IP
		port int
		name string
	}
	var ports []bound
	for _, tn := range c.listenerNames() {
		base := "listener." + tn[0] + "." + tn[1]
		defined[base] = true
		o := c.from[base]
		l := c.listener(tn[0], tn[1])
		if slices.Contains(tlsTypes, l.Type) {
			if l.CertFile == "" || l.KeyFile == "" {
				p.fail(o, base, "TLS listener needs certfile and keyfile (set %s.certfile and %s.keyfile, or listener.%s.certfile/keyfile)", base, base, l.Type)
			}
			if l.RequireCertificate && l.CAFile == "" {
				p.fail(o, base, "require_certificate is on but no cafile is set (set %s.cafile)", base)
			}
			if l.CRLFile != "" && l.CAFile == "" {
				p.fail(o, base, "crlfile needs cafile to check the CRL's signature (set %s.cafile)", base)
			}
		}
		if l.Network != "tcp" {
			continue
		}
		host, portStr, _ := net.SplitHostPort(l.Addr)
		port, _ := strconv.Atoi(portStr)
		ip := net.ParseIP(host)
		if l.Type == "vmq" && (port == 0 || port >= 65535) {
			p.fail(o, base, "a cluster listener needs a fixed port below 65535: the gossip uses its port+1")
			continue
		}
		claim := func(port int, name string) {
			for _, b := range ports {
				if b.port == port && (b.ip.Equal(ip) || b.ip.IsUnspecified() || ip.IsUnspecified()) {
					p.fail(o, base, "port %d of %s is already used by %s; give each listener its own port", port, name, b.name)
					return
				}
			}
			ports = append(ports, bound{ip, port, name})
		}
		if port != 0 {
			claim(port, base)
		}
		if l.Type == "vmq" {
			claim(port+1, "the cluster gossip of "+base+" (its port+1)")
		}
	}
	// VerneMQ ignores options of a listener that is not defined (its stock conf sets
	// listener.ssl.name.allow_anonymous_override without listener.ssl.name): warn.
	var undefined []error
	for key := range c.vals {
		segs := strings.Split(key, ".")
		if len(segs) >= 4 && segs[0] == "listener" && slices.Contains(ListenerTypes, segs[1]) && !defined[strings.Join(segs[:3], ".")] {
			base := strings.Join(segs[:3], ".")
			undefined = append(undefined, &Error{Source: c.from[key].source, Line: c.from[key].line, Key: key,
				Msg: "ignored: no listener " + base + " is defined (add " + base + " = ip:port to use it)"})
		}
	}
	slices.SortFunc(undefined, func(a, b error) int { return cmp.Compare(errPos(a), errPos(b)) })
	for _, e := range undefined {
		p.warns = append(p.warns, e.Error())
	}
	// A webhook needs both its hook and its endpoint.
	reported := map[string]bool{}
	for key := range c.vals {
		name, ok := strings.CutPrefix(key, "vmq_webhooks.")
		if !ok || strings.Count(name, ".") != 1 {
			continue
		}
		wh, _, _ := strings.Cut(name, ".")
		for _, need := range []string{"hook", "endpoint"} {
			if _, set := c.vals["vmq_webhooks."+wh+"."+need]; !set && !reported[wh+need] {
				reported[wh+need] = true
				p.fail(c.from[key], key, "webhook %s has no %s (add vmq_webhooks.%s.%s)", wh, need, wh, need)
			}
		}
	}
	slices.SortStableFunc(p.errs, func(a, b error) int { return cmp.Compare(errPos(a), errPos(b)) })
}

// errPos orders errors by source then line so reports read top to bottom.
func errPos(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Source + "\x00" + strconv.Itoa(1e9+e.Line)
	}
	return ""
}

// AddListener defines listener.<typ>.<name> = addr with opts (option name → value as in
// vernemq.conf) until the node restarts: vmq-admin listener start of a new listener. Each
// option is checked as the conf checks it; the others inherit from listener.<typ>.<opt> and
// listener.<opt> as a configured listener's do.
func (c *Config) AddListener(typ, name, addr string, opts map[string]string) (Listener, error) {
	if !slices.Contains(mqttTypes, typ) {
		return Listener{}, fmt.Errorf("listener type %q: only MQTT listeners (%s) start at run time", typ, strings.Join(mqttTypes, ", "))
	}
	base := "listener." + typ + "." + name
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.vals[base]; ok {
		return Listener{}, fmt.Errorf("%s is already defined", base)
	}
	vals := map[string]value{}
	parse := func(key, raw, what string) error {
		k := c.s.lookup(key)
		if k == nil {
			return fmt.Errorf("%s is not an option of %s listeners", what, typ)
		}
		v, err := k.parse(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		vals[key] = v
		return nil
	}
	if err := parse(base, addr, "address"); err != nil {
		return Listener{}, err
	}
	for _, o := range slices.Sorted(maps.Keys(opts)) {
		if err := parse(base+"."+o, opts[o], "--"+o); err != nil {
			return Listener{}, err
		}
	}
	for key, v := range vals {
		c.vals[key] = v
		c.from[key] = origin{source: "vmq-admin listener start"}
	}
	l := c.listener(typ, name)
	if slices.Contains(tlsTypes, typ) && (l.CertFile == "" || l.KeyFile == "") {
		c.removeListener(base)
		return Listener{}, fmt.Errorf("a TLS listener needs --certfile and --keyfile (or listener.%s.certfile and keyfile in vernemq.conf)", typ)
	}
	return l, nil
}

// RemoveListener forgets listener.<typ>.<name> and its options (a listener added by
// AddListener that failed to start, or one deleted with vmq-admin listener delete).
func (c *Config) RemoveListener(typ, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeListener("listener." + typ + "." + name)
}

// removeListener deletes base and base.<opt>; caller holds mu.
func (c *Config) removeListener(base string) {
	for key := range c.vals {
		if key == base || strings.HasPrefix(key, base+".") {
			delete(c.vals, key)
			delete(c.from, key)
		}
	}
}
