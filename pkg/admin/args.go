package admin

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Parse finds the command named by the leading words of argv and reads the rest
// as VerneMQ does: key=value arguments, --flag[=value] (or -x) flags, bare words.
func (r *Registry) Parse(argv []string) (*Command, *Request, error) {
	n := 0
	for n < len(argv) && !strings.HasPrefix(argv[n], "-") && !strings.Contains(argv[n], "=") {
		n++
	}
	var cmd *Command
	for i := n; i > 0; i-- {
		if c := r.cmds[strings.Join(argv[:i], " ")]; c != nil {
			cmd, n = c, i
			break
		}
	}
	if cmd == nil {
		return nil, nil, r.unknown(argv[:n])
	}
	req := &Request{Path: cmd.Path, Args: map[string]string{}, Flags: map[string]string{}}
	for _, tok := range argv[n:] {
		if err := cmd.take(req, tok); err != nil {
			return nil, nil, err
		}
	}
	for _, a := range cmd.Args {
		if _, ok := req.Args[a.Name]; a.Required && !ok {
			return nil, nil, fmt.Errorf("%s needs %s=<value> (%s); see vmq-admin %s --help", cmd.Path, a.Name, a.Help, cmd.Path)
		}
	}
	if cmd.Words != "" && !cmd.NoWordsOK && len(req.Words) == 0 {
		return nil, nil, fmt.Errorf("%s needs at least one %s; see vmq-admin %s --help", cmd.Path, cmd.Words, cmd.Path)
	}
	return cmd, req, nil
}

// take adds one token after the command path to req.
func (c *Command) take(req *Request, tok string) error {
	switch {
	case tok == "--" || tok == "-":
		return fmt.Errorf("%s: stray %q; flags look like --name or --name=value", c.Path, tok)
	case strings.HasPrefix(tok, "--"):
		name, val, _ := strings.Cut(tok[2:], "=")
		if !c.AnyFlags && !slices.ContainsFunc(c.Flags, func(p Param) bool { return p.Name == name }) {
			return fmt.Errorf("%s has no flag --%s; see vmq-admin %s --help", c.Path, name, c.Path)
		}
		req.setFlag(name, val)
	case strings.HasPrefix(tok, "-"):
		short, val, _ := strings.Cut(tok[1:], "=")
		i := slices.IndexFunc(c.Flags, func(p Param) bool { return p.Short != "" && p.Short == short })
		if i < 0 {
			return fmt.Errorf("%s has no flag -%s; see vmq-admin %s --help", c.Path, short, c.Path)
		}
		req.setFlag(c.Flags[i].Name, val)
	case strings.Contains(tok, "="):
		key, val, _ := strings.Cut(tok, "=")
		if !c.AnyArgs && !slices.ContainsFunc(c.Args, func(p Param) bool { return p.Name == key }) {
			return fmt.Errorf("%s takes no argument %s=; see vmq-admin %s --help", c.Path, key, c.Path)
		}
		req.Args[key] = val
	default:
		if c.Words == "" {
			return fmt.Errorf("%s: unexpected %q; arguments look like key=value and flags like --name; see vmq-admin %s --help", c.Path, tok, c.Path)
		}
		req.Words = append(req.Words, tok)
	}
	return nil
}

func (r *Request) setFlag(name, val string) {
	r.FlagList = append(r.FlagList, FlagValue{name, val})
	r.Flags[name] = val
}

// unknown explains a command path that is not registered, listing sub-commands of a group.
func (r *Registry) unknown(words []string) error {
	prefix := strings.Join(words, " ")
	var subs []string
	for path := range r.cmds {
		if rest, ok := strings.CutPrefix(path, prefix+" "); ok || prefix == "" {
			if prefix == "" {
				rest = path
			}
			first, _, _ := strings.Cut(rest, " ")
			if !slices.Contains(subs, first) {
				subs = append(subs, first)
			}
		}
	}
	slices.Sort(subs)
	switch {
	case prefix == "":
		return fmt.Errorf("no command given; commands: %s", strings.Join(subs, ", "))
	case len(subs) > 0:
		return fmt.Errorf("%q needs a sub-command: %s", prefix, strings.Join(subs, ", "))
	}
	return fmt.Errorf("unknown command %q; run vmq-admin --help for the list", prefix)
}

// QueryArgv turns an HTTP API request (/api/v1/session/show?--limit=5&client-id=x)
// into the argv Exec takes, keeping the order of the query.
func QueryArgv(path, rawQuery string) ([]string, error) {
	var argv []string
	for _, w := range strings.Split(strings.Trim(path, "/"), "/") {
		if w != "" {
			argv = append(argv, w)
		}
	}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, hasVal := strings.Cut(part, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("bad query key %q: %v", part, err)
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, fmt.Errorf("bad query value %q: %v", part, err)
		}
		switch {
		case strings.HasPrefix(k, "-") && hasVal && v != "":
			argv = append(argv, k+"="+v)
		case strings.HasPrefix(k, "-") || !hasVal:
			argv = append(argv, k) // a flag without value, or a bare word (show key)
		default:
			argv = append(argv, k+"="+v)
		}
	}
	return argv, nil
}
