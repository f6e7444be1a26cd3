package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NodeStatus is what node status and /status.json report.
type NodeStatus struct {
	Node          string `json:"node"`
	Version       string `json:"version"`
	Uptime        string `json:"uptime"`
	Connections   int    `json:"num_connections"`
	Online        int    `json:"num_online"`
	Offline       int    `json:"num_offline"`
	Sessions      int    `json:"num_sessions"`
	Subscriptions int    `json:"num_subscriptions"`
	Retained      int    `json:"num_retained"`
	MsgIn         int64  `json:"msg_in"`
	MsgOut        int64  `json:"msg_out"`
	QueueIn       int64  `json:"queue_in"`
	QueueOut      int64  `json:"queue_out"`
	QueueDrop     int64  `json:"queue_drop"`
	QueueUnhandle int64  `json:"queue_unhandled"`
	MatchesLocal  int64  `json:"matches_local"`
	MatchesRemote int64  `json:"matches_remote"`
}

// Status gathers the node's figures (node status, /status.json).
func (b *Backend) Status() NodeStatus {
	st := NodeStatus{Node: b.NodeName, Version: b.Version}
	if b.Uptime != nil {
		st.Uptime = b.Uptime().Truncate(time.Second).String()
	}
	if b.Connections != nil {
		st.Connections = b.Connections()
	}
	if b.Broker != nil {
		// Counted by the registry: the status page polls this, and a walk over a million
		// sessions held the lock connects wait for.
		st.Sessions, st.Online = b.Broker.SessionCounts()
		st.Offline = st.Sessions - st.Online
	}
	if b.Metrics != nil {
		m := map[string]float64{}
		for _, s := range b.Metrics.Snapshot() {
			m[s.Name] += s.Value
		}
		st.Subscriptions, st.Retained = int(m["router_subscriptions"]), int(m["retain_messages"])
		st.MsgIn, st.MsgOut = int64(m["mqtt_publish_received"]), int64(m["mqtt_publish_sent"])
		st.QueueIn, st.QueueOut = int64(m["queue_message_in"]), int64(m["queue_message_out"])
		st.QueueDrop, st.QueueUnhandle = int64(m["queue_message_drop"]), int64(m["queue_message_unhandled"])
		st.MatchesLocal, st.MatchesRemote = int64(m["router_matches_local"]), int64(m["router_matches_remote"])
	}
	return st
}

func statusCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path:  "node status",
		Help:  "Show this node's name, uptime, version and counts",
		Flags: clusterFlags,
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			st := b.Status()
			i := strconv.Itoa
			n := func(v int64) string { return strconv.FormatInt(v, 10) }
			rows := [][]string{
				{"nodename", st.Node}, {"uptime", st.Uptime}, {"version", st.Version},
				{"connections", i(st.Connections)}, {"num_online", i(st.Online)}, {"num_offline", i(st.Offline)},
				{"sessions", i(st.Sessions)}, {"num_subscriptions", i(st.Subscriptions)}, {"num_retained", i(st.Retained)},
				{"msg_in", n(st.MsgIn)}, {"msg_out", n(st.MsgOut)}, {"queue_in", n(st.QueueIn)}, {"queue_out", n(st.QueueOut)},
				{"queue_drop", n(st.QueueDrop)}, {"queue_unhandled", n(st.QueueUnhandle)},
				{"matches_local", n(st.MatchesLocal)}, {"matches_remote", n(st.MatchesRemote)},
			}
			return Table([]string{"Status", "Value"}, rows)
		}),
	})
	r.Register(Command{
		Path: "node ping",
		Help: "Answer pong when the node runs (what vernemq ping and container health checks ask)",
		Run:  func(ctx context.Context, req *Request) Result { return Text("pong") },
	})
	clusterShow := func(ctx context.Context, req *Request) Result {
		members := []Member{{Node: b.NodeName, Running: true}}
		if b.Cluster != nil {
			members = b.Cluster()
		}
		var rows [][]string
		for _, m := range members {
			rows = append(rows, []string{m.Node, strconv.FormatBool(m.Running)})
		}
		return Table([]string{"Node", "Running"}, rows)
	}
	r.Register(Command{Path: "cluster show", Help: "List the cluster's nodes and whether each runs", Run: clusterShow})
	// VerneMQ 1.x's name, still in operators' scripts.
	r.Register(Command{Path: "cluster status", Help: "The same as cluster show (VerneMQ's older name)", Run: clusterShow})
	r.Register(Command{
		Path: "node stop",
		Help: "Stop the MQTT service: every MQTT listener stops and its clients are disconnected",
		Long: "As VerneMQ's node stop, the process keeps running (vmq-admin, the HTTP listeners and the cluster\n" +
			"link stay up): sessions go offline and keep their subscriptions and queued messages until\n" +
			"vmq-admin node start. To end the process, use vernemq stop or SIGTERM.",
		Run: func(ctx context.Context, req *Request) Result {
			return eachMQTTListener(b, "running", func(l ListenerInfo, port int) error { return b.StopListener(l.Address, port, true) })
		},
	})
	r.Register(Command{
		Path: "node start",
		Help: "Start the MQTT service again after node stop: every stopped MQTT listener starts",
		Run: func(ctx context.Context, req *Request) Result {
			return eachMQTTListener(b, "stopped", func(l ListenerInfo, port int) error { return b.StartListener(l.Address, port) })
		},
	})
	r.Register(Command{
		Path: "cluster join",
		Help: "Join this node to the cluster of another node",
		Long: "discovery-node is the other node's listener.vmq.clustering address (host:port) or its VerneMQ node name (VerneMQ@host, on VerneMQ's default clustering port 44053, or VerneMQ@host:port).",
		Args: []Param{{Name: "discovery-node", Required: true, Help: "address or name of a cluster node"}},
		Run: func(ctx context.Context, req *Request) Result {
			if b.ClusterJoin == nil {
				return Errorf("this node has no cluster listener: set listener.vmq.clustering = ip:port and restart")
			}
			if err := b.ClusterJoin(req.Args["discovery-node"]); err != nil {
				return Errorf("%v", err)
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path:  "cluster leave",
		Help:  "Make a node leave the cluster gracefully (its listeners stop; with --kill_sessions its clients are disconnected)",
		Args:  []Param{{Name: "node", Required: true, Help: "name of the node that leaves"}},
		Flags: []Param{{Name: "kill_sessions", Short: "k", Help: "disconnect the leaving node's clients"}},
		Run: func(ctx context.Context, req *Request) Result {
			if b.ClusterLeave == nil {
				return Errorf("this node has no cluster listener: nothing to leave")
			}
			_, kill := req.Flags["kill_sessions"]
			if err := b.ClusterLeave(req.Args["node"], kill); err != nil {
				return Errorf("leave failed: %v", err)
			}
			return Text("Done")
		},
	})
}

// eachMQTTListener runs do for each MQTT listener (not HTTP, not the cluster's) in status.
func eachMQTTListener(b *Backend, status string, do func(l ListenerInfo, port int) error) Result {
	if res, ok := ready(b.Listeners != nil && b.StopListener != nil && b.StartListener != nil, "listener control"); !ok {
		return res
	}
	var failed []string
	for _, l := range b.Listeners() {
		if !isMQTTType(l.Type) || l.Status != status {
			continue
		}
		port, err := strconv.Atoi(l.Port)
		if err == nil {
			err = do(l, port)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s %s:%s: %v", l.Type, l.Address, l.Port, err))
		}
	}
	if len(failed) > 0 {
		return Errorf("%s", strings.Join(failed, "; "))
	}
	return Text("Done")
}
