package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// EnvPrefix marks Docker-style overrides: DOCKER_VERNEMQ_LOG__CONSOLE__LEVEL=debug sets log.console.level.
const EnvPrefix = "DOCKER_VERNEMQ_"

// dockerOnly are DOCKER_VERNEMQ_* variables the VerneMQ Docker entrypoint consumes itself.
var dockerOnly = []string{"ACCEPT_EULA", "DISCOVERY_", "SWARM", "COMPOSE", "KUBERNETES_", "USER_"}

var keyRe = regexp.MustCompile(`^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$`)

// maxIncludeDepth bounds nested includes; cuttlefish has no cycle guard, we refuse instead.
const maxIncludeDepth = 10

// Load reads the config file at path (and the files it includes), applies environ's
// DOCKER_VERNEMQ_* overrides, then checks what a node needs to start from it: an MQTT
// listener and the files the conf names (see CheckStartable). `vernemq config check`
// and `vernemq console` both call Load, so they report the same errors.
func Load(path string, environ []string) (*Config, []string, error) {
	return load(path, environ, true)
}

// Read is Load without CheckStartable, for tools that only need settings of a node
// that already runs (vmq-admin's admin.socket, vernemq stop's pid file).
func Read(path string, environ []string) (*Config, []string, error) {
	return load(path, environ, false)
}

func load(path string, environ []string, startable bool) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w (pass the path of vernemq.conf)", err)
	}
	defer f.Close()
	p := newParser()
	p.c.file = path
	p.read(f, path, 0)
	if c := p.finish(environ); c != nil && startable {
		errs, warns := c.CheckStartable()
		p.errs, p.warns = append(p.errs, errs...), append(p.warns, warns...)
	}
	return p.result()
}

// Parse reads vernemq.conf syntax from r (name is used in messages and as the base
// of relative include paths), then applies DOCKER_VERNEMQ_* entries of environ
// (os.Environ() form) on top. All problems are returned together; warnings name
// keys that are accepted but not implemented, repeated keys and similar.
func Parse(r io.Reader, name string, environ []string) (*Config, []string, error) {
	p := newParser()
	p.read(r, name, 0)
	p.finish(environ)
	return p.result()
}

// entry is one "key = value" setting as read, before validation.
type entry struct {
	o        origin
	key, raw string
}

type parser struct {
	c       *Config
	entries []entry         // file settings in reading order (includes inline)
	reading map[string]bool // files being read, against include cycles
	errs    []error
	warns   []string
}

func newParser() *parser {
	return &parser{c: Defaults(), reading: map[string]bool{}}
}

func (p *parser) fail(o origin, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{Source: o.source, Line: o.line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(o origin, key, msg string) {
	p.warns = append(p.warns, (&Error{Source: o.source, Line: o.line, Key: key, Msg: msg}).Error())
}

func (p *parser) result() (*Config, []string, error) {
	if len(p.errs) > 0 {
		return nil, p.warns, errors.Join(p.errs...)
	}
	return p.c, p.warns, nil
}

// read collects the settings of one file; depth counts include levels.
func (p *parser) read(r io.Reader, name string, depth int) {
	abs, _ := filepath.Abs(name)
	p.reading[abs] = true
	defer delete(p.reading, abs)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		p.line(name, n, sc.Text(), depth)
	}
	if err := sc.Err(); err != nil {
		p.errs = append(p.errs, &Error{Source: name, Line: n + 1, Msg: fmt.Sprintf("read failed: %v", err)})
	}
}

// line handles one "key = value" or "include PATTERN" line; '#' starts a comment
// anywhere, as in cuttlefish.
func (p *parser) line(name string, n int, text string, depth int) {
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
		if pattern, isInclude := strings.CutPrefix(text, "include"); isInclude && (pattern == "" || pattern[0] == ' ' || pattern[0] == '\t') {
			p.include(o, strings.TrimSpace(pattern), depth)
			return
		}
		p.fail(o, "", "expected KEY = VALUE or include FILE, got %q", text)
		return
	}
	if !keyRe.MatchString(key) {
		p.fail(o, key, "not a valid key (use dot-separated letters, digits, _ and -)")
		return
	}
	p.entries = append(p.entries, entry{o: o, key: key, raw: strings.TrimSpace(val)})
}

// include reads the files matching pattern, as cuttlefish does: relative paths are
// relative to the including file's directory, globs expand in name order, and a
// pattern matching nothing includes nothing (the stock conf ends with
// "include conf.d/*.conf" whether or not conf.d holds files).
func (p *parser) include(o origin, pattern string, depth int) {
	if pattern == "" {
		p.fail(o, "", "include needs a file or glob, e.g. include conf.d/*.conf")
		return
	}
	if depth >= maxIncludeDepth {
		p.fail(o, "", "include %s: more than %d levels of include (a cycle?)", pattern, maxIncludeDepth)
		return
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(o.source), pattern)
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		p.fail(o, "", "include %s: %v", pattern, err)
		return
	}
	for _, f := range files {
		if abs, _ := filepath.Abs(f); p.reading[abs] {
			p.fail(o, "", "include %s: includes itself (cycle)", f)
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			p.fail(o, "", "include %s: %v", f, err)
			continue
		}
		if st, err := fh.Stat(); err == nil && st.IsDir() {
			fh.Close()
			continue
		}
		p.read(fh, f, depth+1)
		fh.Close()
	}
}

// finish validates the file settings (the last of a repeated key wins, as in
// cuttlefish), applies the environment, then runs the checks spanning several keys.
// It returns the config, or nil when there were errors.
func (p *parser) finish(environ []string) *Config {
	env := p.envEntries(environ)
	fromEnv := map[string]bool{}
	for _, e := range env {
		fromEnv[e.key] = true
	}
	last := map[string]int{}
	for i, e := range p.entries {
		if prev, dup := last[e.key]; dup {
			// VerneMQ's Docker entrypoint appends its settings to the stock conf, so a
			// repeated key is normal there: keep the last, as cuttlefish does, and say so once.
			p.warn(e.o, e.key, fmt.Sprintf("also set at %s; the later value (this line) is used", p.entries[prev].o))
		}
		last[e.key] = i
	}
	for i, e := range p.entries {
		if last[e.key] == i && !fromEnv[e.key] {
			p.set(e.o, e.key, e.raw)
		}
	}
	for _, e := range env {
		p.set(e.o, e.key, e.raw)
	}
	p.crossCheck()
	if len(p.errs) > 0 {
		return nil
	}
	return p.c
}

// envEntries turns DOCKER_VERNEMQ_<KEY> variables into settings; they override the file.
// Two variables naming one key (they differ only in case) are an error: which wins would be arbitrary.
func (p *parser) envEntries(environ []string) []entry {
	sorted := append([]string(nil), environ...)
	sort.Strings(sorted) // deterministic error order
	seen := map[string]origin{}
	var out []entry
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
		if prev, dup := seen[key]; dup {
			p.fail(o, key, "set twice (first at %s); keep one", prev)
			continue
		}
		seen[key] = o
		out = append(out, entry{o: o, key: key, raw: strings.TrimSpace(val)})
	}
	return out
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
	if hint, ok := removedKey(key); ok {
		p.fail(o, key, "%s", hint)
		return
	}
	if hint, ok := ignoredKey(key); ok {
		p.warn(o, key, "accepted and ignored: "+hint)
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
			p.fail(o, key, "unknown key (vmq-admin show lists every key; or remove the line)")
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
