// Package admin is the one registry of vmq-admin commands: each command's path,
// help, key=value arguments, --flags and handler. The node serves it on a Unix
// socket (for vmq-admin) and on its HTTP listeners as /api/v1/<path>; vmq-admin
// builds its command tree from the same descriptions.
package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Param is one key=value argument or --flag of a command.
type Param struct {
	Name     string `json:"name"`
	Short    string `json:"short,omitempty"` // one letter, for -x
	Help     string `json:"help"`
	Required bool   `json:"required,omitempty"`
	Value    string `json:"value,omitempty"` // placeholder of a flag's value ("N"); empty for on/off flags
	Default  string `json:"default,omitempty"`
}

// Command is one vmq-admin command.
type Command struct {
	Path      string  `json:"path"` // words separated by one space: "session show"
	Help      string  `json:"help"` // one line
	Long      string  `json:"long,omitempty"`
	Args      []Param `json:"args,omitempty"`
	Flags     []Param `json:"flags,omitempty"`
	AnyFlags  bool    `json:"any_flags,omitempty"`   // accepts --<field>[=value] beyond Flags (field selection and filters)
	AnyArgs   bool    `json:"any_args,omitempty"`    // accepts any key=value (set)
	Words     string  `json:"words,omitempty"`       // placeholder of bare words it takes ("key"); empty = none
	NoWordsOK bool    `json:"no_words_ok,omitempty"` // the words may be left out (show lists every key)
	Streaming bool    `json:"streaming,omitempty"`   // writes lines while it runs (trace)
	Run       Handler `json:"-"`
}

// Handler runs a command.
type Handler func(ctx context.Context, req *Request) Result

// Request is a parsed command line.
type Request struct {
	Path     string
	Args     map[string]string
	Flags    map[string]string // a flag given without value maps to ""; the last value wins
	FlagList []FlagValue       // every flag in the order given (--client_id --client_id=x selects and filters)
	Words    []string
	// Out writes one line of a streaming command; never nil inside a handler.
	Out func(line string)
	// fromPeer: another cluster node forwarded the command; it runs here only, never fans out again.
	fromPeer bool
}

// FlagValue is one flag as given.
type FlagValue struct{ Name, Value string }

// Flag reports whether flag name was given, and its value.
func (r *Request) Flag(name string) (string, bool) {
	v, ok := r.Flags[name]
	return v, ok
}

// Result is what a command returns: a table, a text, or an error.
type Result struct {
	Type    string     `json:"type"` // "table", "text" or "error"
	Headers []string   `json:"headers,omitempty"`
	Rows    [][]string `json:"rows,omitempty"`
	Text    string     `json:"text,omitempty"`
	Note    string     `json:"note,omitempty"` // shown after a table (e.g. a cut by --limit)
	Error   string     `json:"error,omitempty"`
}

// Table returns a table result.
func Table(headers []string, rows [][]string) Result {
	if rows == nil {
		rows = [][]string{}
	}
	return Result{Type: "table", Headers: headers, Rows: rows}
}

// Text returns a text result.
func Text(format string, a ...any) Result {
	return Result{Type: "text", Text: fmt.Sprintf(format, a...)}
}

// Errorf returns an error result; the message should say what to do.
func Errorf(format string, a ...any) Result {
	return Result{Type: "error", Error: fmt.Sprintf(format, a...)}
}

// Registry holds the commands.
type Registry struct {
	cmds map[string]*Command
}

// NewRegistry returns an empty registry; New returns one with the built-in commands.
func NewRegistry() *Registry { return &Registry{cmds: map[string]*Command{}} }

// Register adds c, replacing a command with the same path (plugins and cluster add theirs).
func (r *Registry) Register(c Command) {
	c.Path = strings.Join(strings.Fields(c.Path), " ")
	r.cmds[c.Path] = &c
}

// Commands lists the commands sorted by path.
func (r *Registry) Commands() []Command {
	out := make([]Command, 0, len(r.cmds))
	for _, c := range r.cmds {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Command) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Lookup returns the command of path, or nil.
func (r *Registry) Lookup(path string) *Command { return r.cmds[path] }

// Exec parses argv ("session", "show", "--limit=5") and runs the command; out
// receives the lines of streaming commands (nil discards them).
func (r *Registry) Exec(ctx context.Context, argv []string, out func(string)) Result {
	cmd, req, err := r.Parse(argv)
	if err != nil {
		return Errorf("%v", err)
	}
	if out == nil {
		out = func(string) {}
	}
	req.Out = out
	return r.run(ctx, cmd, req)
}

func (r *Registry) run(ctx context.Context, cmd *Command, req *Request) Result {
	if cmd.Run == nil {
		return Errorf("%q is not available on this node", cmd.Path)
	}
	return guarded(cmd.Path, func() Result { return cmd.Run(ctx, req) })
}

// guarded runs a command's handler, turning a panic into an error answer: a bug in one
// command must not stop the node. Every goroutine that runs a handler goes through it.
func guarded(path string, run func() Result) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Errorf("command %q failed: %v (this is a bug; the node's log may say more)", path, p)
		}
	}()
	return run()
}
