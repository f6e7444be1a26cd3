package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// clusterFlags are VerneMQ's --all and --node= of the show commands.
var clusterFlags = []Param{
	{Name: "all", Help: "gather the answer from every running cluster node (tables get a node column)"},
	{Name: "node", Value: "NAME", Help: "ask the named cluster node instead of this one"},
}

// peerCommands may be run by another cluster node on this one: the read-only show commands,
// and the writes that run cluster-wide: set, log level and metrics reset with --all or
// --node=, and session disconnect and reauthorize for a client on another node. The data
// link is authenticated by the cookie.
var peerCommands = map[string]bool{"session show": true, "metrics show": true, "listener show": true, "node status": true,
	"set": true, "show": true, "session disconnect": true, "session reauthorize": true,
	"session disconnect batch": true, "log show config": true, "log level": true, "metrics reset": true,
	"tls show": true, "tls check": true}

// clustered wraps a show command so --all and --node= send it to other nodes.
func clustered(b *Backend, run Handler) Handler {
	return func(ctx context.Context, req *Request) Result {
		nodes, err := targetNodes(b, req)
		if err != nil {
			return Errorf("%v", err)
		}
		if _, all := req.Flag("all"); all && b.Nodes != nil && b.Remote != nil {
			return mergeResults(nodes, onNodes(ctx, b, nodes, req, run), true)
		}
		// --node=NAME, --node=<this node>, --all on a single node, or neither: one answer as it is.
		return onNodes(ctx, b, nodes, req, run)[0]
	}
}

// clusterWide is clustered, but without --all or --node= it still answers for the whole
// cluster, in the command's own table shape (no node column), as VerneMQ's session show does.
func clusterWide(b *Backend, run Handler) Handler {
	c := clustered(b, run)
	return func(ctx context.Context, req *Request) Result {
		_, one := req.Flag("node")
		_, all := req.Flag("all")
		if one || all || req.fromPeer || b.Nodes == nil || b.Remote == nil || len(b.Nodes()) < 2 {
			return c(ctx, req)
		}
		return gather(ctx, b, run, req, false)
	}
}

// changeFlags are --node= and --all of a command that changes nodes (changeOn).
func changeFlags(verb string) []Param {
	return []Param{
		{Name: "node", Value: "NODE", Help: "node to " + verb},
		{Name: "all", Help: verb + " every running cluster node; an error names the nodes that failed"},
	}
}

// changeOn runs a command that changes this node (set, log level, metrics reset) here, or
// with --node=NAME / --all on those nodes; an error names the nodes where it failed.
func changeOn(ctx context.Context, b *Backend, req *Request, local func(*Request) Result) Result {
	nodes, err := targetNodes(b, req)
	if err != nil {
		return Errorf("%v", err)
	}
	if len(nodes) == 1 && nodes[0] == b.NodeName {
		return local(req)
	}
	results := onNodes(ctx, b, nodes, req, func(ctx context.Context, req *Request) Result { return local(req) })
	if msg := failedOn(nodes, results); msg != "" {
		return Errorf("%s %s", req.Path, msg)
	}
	return Text("Done")
}

// targetNodes are the nodes --all (every running node) or --node=NAME name; this node without them.
func targetNodes(b *Backend, req *Request) ([]string, error) {
	node, one := req.Flag("node")
	_, all := req.Flag("all")
	switch {
	case all && one:
		return nil, fmt.Errorf("give either --all or --node=NAME, not both")
	case one && node == "":
		return nil, fmt.Errorf("--node needs a node name, e.g. --node=VerneMQ@10.0.0.2; see vmq-admin cluster show")
	case one && node != b.NodeName:
		if b.Remote == nil {
			return nil, fmt.Errorf("this node is not clustered: --node=%s cannot be reached", node)
		}
		return []string{node}, nil
	case all && b.Nodes != nil && b.Remote != nil:
		return runningNodes(b), nil
	}
	return []string{b.NodeName}, nil
}

// runningNodes is every running cluster node, this one included, in name order.
func runningNodes(b *Backend) []string {
	nodes := b.Nodes()
	if !slices.Contains(nodes, b.NodeName) {
		nodes = append(nodes, b.NodeName)
	}
	slices.Sort(nodes)
	return nodes
}

// onNodes runs req (without --all/--node) on each node at once, this one through run, and
// returns the answers in the order of nodes; a node that cannot be asked answers an error.
func onNodes(ctx context.Context, b *Backend, nodes []string, req *Request, run Handler) []Result {
	local := stripClusterFlags(req)
	argv := requestArgv(local)
	results := make([]Result, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n == b.NodeName {
				// A goroutine of its own: the registry's recover does not reach it.
				results[i] = guarded(req.Path, func() Result { return run(ctx, local) })
				return
			}
			res, err := b.Remote(ctx, n, argv)
			if err != nil {
				res = Errorf("%v", err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	return results
}

// failedOn names the nodes whose result is an error, or "" when none is.
func failedOn(nodes []string, results []Result) string {
	var failed []string
	for i, res := range results {
		if res.Type == "error" {
			failed = append(failed, nodes[i]+": "+res.Error)
		}
	}
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf("failed on %d of %d nodes: %s", len(failed), len(nodes), strings.Join(failed, "; "))
}

// stripClusterFlags returns req without --all and --node, as the local command and peers see it.
func stripClusterFlags(req *Request) *Request {
	out := *req
	out.Flags = map[string]string{}
	out.FlagList = nil
	for _, fv := range req.FlagList {
		if fv.Name != "all" && fv.Name != "node" {
			out.setFlag(fv.Name, fv.Value)
		}
	}
	return &out
}

// requestArgv rebuilds a command line from a parsed request (flags keep their order).
func requestArgv(req *Request) []string {
	argv := strings.Fields(req.Path)
	keys := make([]string, 0, len(req.Args))
	for k := range req.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, k+"="+req.Args[k])
	}
	for _, fv := range req.FlagList {
		if fv.Value == "" {
			argv = append(argv, "--"+fv.Name)
		} else {
			argv = append(argv, "--"+fv.Name+"="+fv.Value)
		}
	}
	return append(argv, req.Words...)
}

// gather runs req on every running node at once and merges the answers in node order
// (tables with a node column first when withNode).
func gather(ctx context.Context, b *Backend, run Handler, req *Request, withNode bool) Result {
	nodes := runningNodes(b)
	return mergeResults(nodes, onNodes(ctx, b, nodes, req, run), withNode)
}

// mergeResults puts tables under one header with a node column first, and texts one
// section per node; a node's error becomes a note (or a section) instead of failing all.
func mergeResults(nodes []string, results []Result, withNode bool) Result {
	var headers []string
	rows := [][]string{}
	var notes, texts []string
	table, failed := false, 0
	for i, res := range results {
		n := nodes[i]
		switch res.Type {
		case "table":
			if headers == nil {
				headers = append([]string{"node"}, res.Headers...)
			} else if !slices.Equal(headers[1:], res.Headers) {
				notes = append(notes, fmt.Sprintf("node %s answered with other columns (%s); its rows are left out", n, strings.Join(res.Headers, ", ")))
				continue
			}
			table = true
			for _, r := range res.Rows {
				rows = append(rows, append([]string{n}, r...))
			}
			if !withNode {
				for j := len(rows) - len(res.Rows); j < len(rows); j++ {
					rows[j] = rows[j][1:]
				}
			}
			if res.Note != "" {
				notes = append(notes, "node "+n+": "+res.Note)
			}
		case "text":
			texts = append(texts, "# node "+n+"\n"+res.Text)
		default:
			failed++
			notes = append(notes, "node "+n+": "+res.Error)
			texts = append(texts, "# node "+n+"\nError: "+res.Error)
		}
	}
	if failed == len(results) {
		return Errorf("%s", strings.Join(notes, "; "))
	}
	if table {
		if !withNode {
			headers = headers[1:]
		}
		res := Table(headers, rows)
		res.Note = strings.Join(notes, "\n")
		return res
	}
	return Text("%s", strings.Join(texts, "\n"))
}

// ExecForPeer runs a command another cluster node asked for and returns its result
// as JSON (the node's cluster AdminHandler). Only read-only show commands are served.
func (r *Registry) ExecForPeer(ctx context.Context, argv []string) []byte {
	res := r.execForPeer(ctx, argv)
	out, err := json.Marshal(res)
	if err != nil {
		out, _ = json.Marshal(Errorf("encoding the result failed: %v", err))
	}
	return out
}

func (r *Registry) execForPeer(ctx context.Context, argv []string) Result {
	cmd, req, err := r.Parse(argv)
	if err != nil {
		return Errorf("%v", err)
	}
	if !peerCommands[cmd.Path] {
		return Errorf("%q cannot be run from another node; run it on that node", cmd.Path)
	}
	if _, ok := req.Flag("all"); ok {
		return Errorf("a forwarded command cannot fan out again (--all)")
	}
	if _, ok := req.Flag("node"); ok {
		return Errorf("a forwarded command cannot be forwarded again (--node)")
	}
	req.Out = func(string) {}
	req.fromPeer = true
	return r.run(ctx, cmd, req)
}

// DecodeResult reads the JSON ExecForPeer wrote (for Backend.Remote).
func DecodeResult(data []byte) (Result, error) {
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return Result{}, fmt.Errorf("bad admin result from peer: %v", err)
	}
	if res.Type != "table" && res.Type != "text" && res.Type != "error" {
		return Result{}, fmt.Errorf("bad admin result from peer: type %q", res.Type)
	}
	return res, nil
}
