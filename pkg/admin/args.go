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
	for rest := argv[n:]; len(rest) > 0; {
		used, err := cmd.take(req, rest)
		if err != nil {
			return nil, nil, err
		}
		rest = rest[used:]
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

// take adds the first of toks (what follows the command path) to req and says how many
// tokens it used: a flag that takes a value and has no =value takes the next token, as
// VerneMQ's clique does (-n vmq_acl, --name vmq_acl), unless it looks like a flag or key=value.
func (c *Command) take(req *Request, toks []string) (int, error) {
	tok := toks[0]
	switch {
	case tok == "--" || tok == "-":
		return 0, fmt.Errorf("%s: stray %q; flags look like --name or --name=value", c.Path, tok)
	case strings.HasPrefix(tok, "--"):
		name, val, hasVal := strings.Cut(tok[2:], "=")
		i := slices.IndexFunc(c.Flags, func(p Param) bool { return p.Name == name })
		if !c.AnyFlags && i < 0 {
			return 0, fmt.Errorf("%s has no flag --%s; see vmq-admin %s --help", c.Path, name, c.Path)
		}
		if !hasVal && i >= 0 {
			return c.flagValue(req, c.Flags[i], toks), nil
		}
		req.setFlag(name, val)
	case strings.HasPrefix(tok, "-"):
		short, val, hasVal := strings.Cut(tok[1:], "=")
		i := slices.IndexFunc(c.Flags, func(p Param) bool { return p.Short != "" && p.Short == short })
		if i < 0 && !hasVal && len(short) > 1 {
			// -nvmq_acl: a one-letter flag with its value attached (clique).
			i = slices.IndexFunc(c.Flags, func(p Param) bool { return p.Short == short[:1] && p.Value != "" })
			if i >= 0 {
				req.setFlag(c.Flags[i].Name, short[1:])
				return 1, nil
			}
		}
		if i < 0 {
			return 0, fmt.Errorf("%s has no flag -%s; see vmq-admin %s --help", c.Path, short, c.Path)
		}
		if !hasVal {
			return c.flagValue(req, c.Flags[i], toks), nil
		}
		req.setFlag(c.Flags[i].Name, val)
	case strings.Contains(tok, "="):
		key, val, _ := strings.Cut(tok, "=")
		if !c.AnyArgs && !slices.ContainsFunc(c.Args, func(p Param) bool { return p.Name == key }) {
			return 0, fmt.Errorf("%s takes no argument %s=; see vmq-admin %s --help", c.Path, key, c.Path)
		}
		req.Args[key] = val
	default:
		if c.Words == "" {
			return 0, fmt.Errorf("%s: unexpected %q; arguments look like key=value and flags like --name; see vmq-admin %s --help", c.Path, tok, c.Path)
		}
		req.Words = append(req.Words, tok)
	}
	return 1, nil
}

// flagValue sets flag p given without =value, from the next token when p takes a value and
// the next token is neither a flag nor key=value; it returns the tokens used.
func (c *Command) flagValue(req *Request, p Param, toks []string) int {
	if p.Value != "" && len(toks) > 1 && !strings.HasPrefix(toks[1], "-") && !strings.Contains(toks[1], "=") {
		req.setFlag(p.Name, toks[1])
		return 2
	}
	req.setFlag(p.Name, "")
	return 1
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
