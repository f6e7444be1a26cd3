package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// EnvPrefix marks Docker-style overrides: DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL=debug sets log.console.level.
const EnvPrefix = "DOCKER_VERNEMQ_"

// dockerOnly are DOCKER_VERNEMQ_* variables the VerneMQ Docker entrypoint consumes itself.
var dockerOnly = []string{"ACCEPT_EULA", "DISCOVERY_", "SWARM", "COMPOSE", "KUBERNETES_", "USER_"}

var keyRe = regexp.MustCompile(`^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$`)

// Load reads the config file at path; see Parse.
func Load(path string, environ []string) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w (pass the path of vernemq.conf)", err)
	}
	defer f.Close()
	return Parse(f, path, environ)
}

// Parse reads vernemq.conf syntax from r (name is used in messages), then applies
// DOCKER_VERNEMQ_* entries of environ (os.Environ() form) on top. All problems are
// returned together; warnings name keys that are accepted but not implemented.
func Parse(r io.Reader, name string, environ []string) (*Config, []string, error) {
	p := &parser{c: Defaults(), seen: map[string]origin{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		p.line(name, n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		p.errs = append(p.errs, &Error{Source: name, Line: n + 1, Msg: fmt.Sprintf("read failed: %v", err)})
	}
	p.env(environ)
	p.crossCheck()
	if len(p.errs) > 0 {
		return nil, p.warns, errors.Join(p.errs...)
	}
	return p.c, p.warns, nil
}

type parser struct {
	c     *Config
	seen  map[string]origin // keys set by the current kind of source (file, then env)
	errs  []error
	warns []string
}

func (p *parser) fail(o origin, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{Source: o.source, Line: o.line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(o origin, key, msg string) {
	p.warns = append(p.warns, (&Error{Source: o.source, Line: o.line, Key: key, Msg: msg}).Error())
}

// line handles one "key = value" line; '#' starts a comment anywhere, as in cuttlefish.
func (p *parser) line(name string, n int, text string) {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	o := origin{source: name, line: n}
	key, val, ok := strings.Cut(text, "=")
	key = strings.TrimSpace(key)
	if !ok {
		p.fail(o, "", "expected KEY = VALUE, got %q", text)
		return
	}
	if !keyRe.MatchString(key) {
		p.fail(o, key, "not a valid key (use dot-separated letters, digits, _ and -)")
		return
	}
	p.set(o, key, strings.TrimSpace(val))
}

// env applies DOCKER_VERNEMQ_<KEY> variables; they override the file.
func (p *parser) env(environ []string) {
	p.seen = map[string]origin{}
	sorted := append([]string(nil), environ...)
	sort.Strings(sorted) // deterministic error order
	for _, kv := range sorted {
		name, val, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix)
		if !ok {
			continue
		}
		o := origin{source: name}
		if isDockerOnly(rest) {
			p.warn(o, "", "handled by the VerneMQ Docker entrypoint, ignored by this broker")
			continue
		}
		key := strings.ReplaceAll(strings.ToLower(rest), "__", ".")
		if !keyRe.MatchString(key) {
			p.fail(o, key, "not a valid key (use DOCKER_VERNEMQ_<KEY> with __ for each dot)")
			continue
		}
		p.set(o, key, strings.TrimSpace(val))
	}
}

func isDockerOnly(rest string) bool {
	for _, d := range dockerOnly {
		if rest == d || (strings.HasSuffix(d, "_") && strings.HasPrefix(rest, d)) {
			return true
		}
	}
	return false
}

// set validates and stores one setting, recording errors and warnings.
func (p *parser) set(o origin, key, raw string) {
	if prev, dup := p.seen[key]; dup {
		p.fail(o, key, "set twice (first at %s); keep one", prev)
		return
	}
	p.seen[key] = o
	if isNotImplemented(key) {
		p.warn(o, key, "not implemented by this broker; accepted and ignored")
		p.c.ignored[key] = raw
		return
	}
	if msg := misplacedListenerOpt(key); msg != "" {
		p.fail(o, key, "%s", msg)
		return
	}
	k := p.c.s.lookup(key)
	if k == nil {
		if s := p.c.s.suggest(key); s != "" {
			p.fail(o, key, "unknown key (did you mean %s?)", s)
		} else {
			p.fail(o, key, "unknown key (see the key list of vmq-admin show, or remove the line)")
		}
		return
	}
	v, err := k.parse(raw)
	if err != nil {
		p.fail(o, key, "%v", err)
		return
	}
	if k.Warn != "" {
		p.warn(o, key, k.Warn)
	}
	if plug, ok := strings.CutPrefix(key, "plugins."); ok && v.b && notImplementedPlugins[plug] {
		p.warn(o, key, "plugin "+plug+" is not implemented by this broker; ignored")
	}
	p.c.vals[key] = v
	p.c.from[key] = o
}
