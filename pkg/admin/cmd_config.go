package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

func configCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path:    "set",
		Help:    "Change run-time settings: set key=value [key=value ...] (lost on restart)",
		Long:    "Only keys marked run-time in the schema can change; others need an edit of vernemq.conf and a restart.",
		Flags:   changeFlags("change"),
		AnyArgs: true,
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Config != nil, "settings"); !ok {
				return res
			}
			if len(req.Args) == 0 {
				return Errorf("set needs key=value, e.g. vmq-admin set max_offline_messages=5000")
			}
			return changeOn(ctx, b, req, func(req *Request) Result { return setLocal(b, req) })
		},
	})
	r.Register(Command{
		Path:      "show",
		Help:      "Show current settings: show key [key ...]; without a key, every key with its value and whether set can change it",
		Words:     "key",
		NoWordsOK: true,
		Flags: []Param{
			{Name: "node", Value: "NODE", Help: "node to ask"},
			{Name: "all", Help: "ask every running cluster node (one row each)"},
		},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Config != nil, "settings"); !ok {
				return res
			}
			nodes, err := targetNodes(b, req)
			if err != nil {
				return Errorf("%v", err)
			}
			results := onNodes(ctx, b, nodes, req, func(ctx context.Context, req *Request) Result { return showLocal(b, req) })
			if len(results) == 1 {
				return results[0]
			}
			if msg := failedOn(nodes, results); msg != "" {
				return Errorf("show %s", msg)
			}
			out := results[0]
			for _, res := range results[1:] {
				out.Rows = append(out.Rows, res.Rows...)
			}
			return out
		},
	})
}

// setLocal changes the settings of req on this node.
func setLocal(b *Backend, req *Request) Result {
	keys := make([]string, 0, len(req.Args))
	for k := range req.Args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []string
	for _, k := range keys {
		if err := b.Config.Set(k, req.Args[k]); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return Errorf("%s", strings.Join(errs, "\n"))
	}
	return Text("Done")
}

// showLocal shows the settings of req on this node, in one row.
func showLocal(b *Backend, req *Request) Result {
	keys := b.Config.Keys()
	if len(req.Words) == 0 {
		rows := make([][]string, 0, len(keys))
		for _, k := range keys {
			rows = append(rows, []string{k.Name, k.Value, strconv.FormatBool(k.Runtime)})
		}
		return Table([]string{"key", "value", "runtime"}, rows)
	}
	known := map[string]string{}
	for _, k := range keys {
		known[k.Name] = k.Value
	}
	row := []string{b.NodeName}
	for _, w := range req.Words {
		v, ok := known[w]
		if !ok {
			if v, ok = b.Config.Raw(w); !ok {
				return Errorf("unknown setting %q; `vmq-admin show` without a key lists every key", w)
			}
		}
		row = append(row, v)
	}
	return Table(append([]string{"node"}, req.Words...), [][]string{row})
}
