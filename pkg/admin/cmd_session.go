package admin

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// sessionTable has VerneMQ's session show fields that this broker knows.
var sessionTable = FieldTable{
	Noun: "sessions",
	Fields: []string{"client_id", "is_online", "mountpoint", "peer_host", "peer_port", "user", "queue_size",
		"offline_messages", "online_messages", "protocol", "clean_session", "session_started_at", "topic", "qos"},
	Default:  []string{"client_id", "is_online", "mountpoint", "peer_host", "peer_port", "user"},
	Limit:    100,
	Reserved: []string{"rowtimeout"},
}

// VerneMQ takes the mountpoint of a session command as a flag (-m/--mountpoint=mp); this
// broker took it as mountpoint=mp: both work.
var (
	mountpointArg  = Param{Name: "mountpoint", Help: "mountpoint of the session (default none); also -m/--mountpoint="}
	mountpointFlag = Param{Name: "mountpoint", Short: "m", Value: "MP", Help: "mountpoint of the session (default none)"}
	cleanupFlag    = Param{Name: "cleanup", Short: "c", Help: "also delete the session: its subscriptions and queued messages"}
)

// mountpointOf is the mountpoint a session command names, as mountpoint=mp or a flag.
func mountpointOf(req *Request) string {
	if mp, ok := req.Args["mountpoint"]; ok {
		return mp
	}
	mp, _ := req.Flag("mountpoint")
	return mp
}

// disconnect kicks the session id on this node (v5 clients are told 0x98), or with cleanup
// deletes it with its subscriptions and queue; false when it is not here.
func disconnect(b *Backend, id broker.SessionID, cleanup bool) bool {
	s := b.Broker.Session(id)
	if s == nil {
		return false
	}
	if cleanup {
		b.Broker.Forget(id)
	} else {
		s.Kick(packets.AdministrativeAction)
	}
	return true
}

func sessionCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "session show",
		Help: "List sessions: --<field> picks columns, --<field>=value or --<field>=~regex filters",
		Long: "Fields: " + strings.Join(sessionTable.Fields, ", ") + ".\nDefault columns: " +
			strings.Join(sessionTable.Default, ", ") + ". Selecting or filtering on topic or qos gives one row per subscription.",
		Flags:    append(append(sessionTable.Params(), Param{Name: "rowtimeout", Value: "MS", Help: "accepted for VerneMQ compatibility; ignored"}), clusterFlags...),
		AnyFlags: true,
		Run:      clusterWide(b, func(ctx context.Context, req *Request) Result { return sessionShow(ctx, b, req) }),
	})
	r.Register(Command{
		Path: "session disconnect",
		Help: "Disconnect a client (v5 clients are told 0x98 administrative action)",
		Args: []Param{
			{Name: "client-id", Required: true, Help: "client id of the session"},
			mountpointArg,
		},
		Flags: []Param{cleanupFlag, mountpointFlag},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "sessions"); !ok {
				return res
			}
			id := broker.SessionID{Mountpoint: mountpointOf(req), ClientID: req.Args["client-id"]}
			_, cleanup := req.Flag("cleanup")
			if disconnect(b, id, cleanup) {
				return Text("Done")
			}
			if !req.fromPeer && b.Nodes != nil && b.Remote != nil {
				return elsewhere(ctx, b, req, id)
			}
			return Errorf("no session %s; see vmq-admin session show --client_id --mountpoint", describeID(id))
		},
	})
	r.Register(Command{
		Path: "session disconnect clients",
		Help: "Disconnect several clients of this node (v5 clients are told 0x98 administrative action)",
		Args: []Param{
			{Name: "client-ids", Required: true, Help: "client ids, separated by commas"},
			mountpointArg,
		},
		Flags: []Param{cleanupFlag, mountpointFlag},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "sessions"); !ok {
				return res
			}
			_, cleanup := req.Flag("cleanup")
			var missing []string
			for _, cid := range strings.Split(req.Args["client-ids"], ",") {
				if cid = strings.TrimSpace(cid); cid == "" {
					continue
				}
				if !disconnect(b, broker.SessionID{Mountpoint: mountpointOf(req), ClientID: cid}, cleanup) {
					missing = append(missing, strconv.Quote(cid))
				}
			}
			if len(missing) > 0 {
				return Errorf("no session on this node for %s (the others are disconnected); see vmq-admin session show --client_id", strings.Join(missing, ", "))
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "session disconnect batch",
		Help: "Disconnect count of this node's connected clients, so they reconnect through the load balancer (to rebalance after adding a node)",
		Args: []Param{{Name: "count", Required: true, Help: "how many clients to disconnect"}},
		Flags: []Param{cleanupFlag, mountpointFlag,
			{Name: "filter-client-ids", Short: "f", Value: "IDS", Help: "only these client ids (commas)"},
			{Name: "node", Short: "n", Value: "NAME", Help: "disconnect on the named cluster node instead of this one"},
			clusterFlags[0]},
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "sessions"); !ok {
				return res
			}
			count, err := strconv.Atoi(req.Args["count"])
			if err != nil || count < 0 {
				return Errorf("count=%q is not a number of clients", req.Args["count"])
			}
			mp, mpSet := req.Flag("mountpoint")
			only := map[string]bool{}
			if f, ok := req.Flag("filter-client-ids"); ok {
				for _, cid := range strings.Split(f, ",") {
					only[strings.TrimSpace(cid)] = true
				}
			}
			_, cleanup := req.Flag("cleanup")
			var picked []broker.SessionID
			b.Broker.Sessions(func(s *session.Session) bool {
				if len(picked) >= count {
					return false
				}
				if s.Online() && (!mpSet || s.ID.Mountpoint == mp) && (len(only) == 0 || only[s.ID.ClientID]) {
					picked = append(picked, s.ID)
				}
				return true
			})
			for _, id := range picked {
				disconnect(b, id, cleanup)
			}
			return Text("Disconnected %d of %d", len(picked), count)
		}),
	})
	r.Register(Command{
		Path: "session unsubscribe",
		Help: "Remove a subscription of a session",
		Args: []Param{
			{Name: "client-id", Required: true, Help: "client id of the session"},
			{Name: "topic", Required: true, Help: "topic filter as subscribed"},
			mountpointArg,
		},
		Flags: []Param{mountpointFlag},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil, "sessions"); !ok {
				return res
			}
			id := broker.SessionID{Mountpoint: mountpointOf(req), ClientID: req.Args["client-id"]}
			s := b.Broker.Session(id)
			if s == nil {
				return Errorf("no session %s; see vmq-admin session show --client_id --mountpoint", describeID(id))
			}
			if had := b.Broker.Unsubscribe(s, []string{req.Args["topic"]}); !had[0] {
				return Errorf("%s has no subscription %q; see vmq-admin session show --client-id=%s --topic", describeID(id), req.Args["topic"], id.ClientID)
			}
			return Text("Done")
		},
	})
	r.Register(Command{
		Path: "session reauthorize",
		Help: "Ask auth_on_subscribe again for a session's subscriptions and remove those refused now",
		Long: "Use it after changing an ACL file or database: a subscription made before the change stays\n" +
			"until its client reconnects otherwise. Prints Unchanged, or the filters removed.",
		Args: []Param{
			{Name: "username", Required: true, Help: "user name the plugins are asked for"},
			{Name: "client-id", Required: true, Help: "client id of the session"},
			mountpointArg,
		},
		Flags: []Param{mountpointFlag},
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Broker != nil && b.Reauthorize != nil, "sessions"); !ok {
				return res
			}
			id := broker.SessionID{Mountpoint: mountpointOf(req), ClientID: req.Args["client-id"]}
			removed, found := b.Reauthorize(ctx, id, req.Args["username"])
			if !found && !req.fromPeer && b.Nodes != nil && b.Remote != nil {
				return elsewhere(ctx, b, req, id)
			}
			if !found {
				return Errorf("no session %s; see vmq-admin session show --client_id --mountpoint", describeID(id))
			}
			if len(removed) == 0 {
				return Text("Unchanged")
			}
			return Text("Removed: %s", strings.Join(removed, ", "))
		},
	})
}

// elsewhere runs a session command on the other running nodes: the session lives on one
// node, wherever its client connected.
func elsewhere(ctx context.Context, b *Backend, req *Request, id broker.SessionID) Result {
	var others []string
	for _, n := range b.Nodes() {
		if n != b.NodeName {
			others = append(others, n)
		}
	}
	var errs []string
	for i, res := range onNodes(ctx, b, others, req, nil) {
		if res.Type != "error" {
			return res
		}
		if !strings.HasPrefix(res.Error, "no session") {
			errs = append(errs, others[i]+": "+res.Error)
		}
	}
	if len(errs) > 0 {
		return Errorf("no session %s on this node, and not every other node could be asked: %s", describeID(id), strings.Join(errs, "; "))
	}
	return Errorf("no session %s on any node; see vmq-admin session show --client_id --mountpoint", describeID(id))
}

func describeID(id broker.SessionID) string {
	if id.Mountpoint == "" {
		return strconv.Quote(id.ClientID)
	}
	return strconv.Quote(id.ClientID) + " on mountpoint " + strconv.Quote(id.Mountpoint)
}

func sessionShow(ctx context.Context, b *Backend, req *Request) Result {
	if res, ok := ready(b.Broker != nil, "sessions"); !ok {
		return res
	}
	q, err := sessionTable.Parse(req)
	if err != nil {
		return Errorf("%v", err)
	}
	perSub := q.Uses("topic") || q.Uses("qos")
	c := sessionTable.Collect(q)
	var all []*session.Session
	b.Broker.Sessions(func(s *session.Session) bool { all = append(all, s); return true })
	// A stable order keeps --limit meaningful between runs.
	slices.SortFunc(all, func(x, y *session.Session) int {
		return strings.Compare(x.ID.Mountpoint+"\x00"+x.ID.ClientID, y.ID.Mountpoint+"\x00"+y.ID.ClientID)
	})
	for _, s := range all {
		if ctxDone(ctx) {
			break
		}
		row := sessionRow(s)
		if !perSub {
			if !c.Add(row) {
				break
			}
			continue
		}
		subs := s.Subs()
		slices.SortFunc(subs, func(x, y session.Sub) int { return strings.Compare(x.Filter, y.Filter) })
		more := true
		for _, sub := range subs {
			row["topic"], row["qos"] = sub.Filter, strconv.Itoa(int(sub.Options.QoS))
			if more = c.Add(row); !more {
				break
			}
		}
		if !more {
			break
		}
	}
	return c.Result()
}

func sessionRow(s *session.Session) map[string]string {
	info, _ := s.Info()
	online := s.Online()
	host, port := "", ""
	if info.Peer != nil {
		host, port, _ = net.SplitHostPort(info.Peer.String())
	}
	user := info.Username
	if user == "" {
		user = "undefined" // as VerneMQ prints an absent username
	}
	qlen := s.QueueLen()
	onlineMsgs, offlineMsgs := 0, 0
	if online {
		onlineMsgs = qlen
	} else {
		offlineMsgs = qlen
	}
	started := ""
	if !info.Connected.IsZero() {
		started = strconv.FormatInt(info.Connected.UnixMilli(), 10)
	}
	return map[string]string{
		"client_id":          s.ID.ClientID,
		"is_online":          strconv.FormatBool(online),
		"mountpoint":         s.ID.Mountpoint,
		"peer_host":          host,
		"peer_port":          port,
		"user":               user,
		"queue_size":         strconv.Itoa(qlen + s.InflightLen()),
		"offline_messages":   strconv.Itoa(offlineMsgs),
		"online_messages":    strconv.Itoa(onlineMsgs),
		"protocol":           strconv.Itoa(int(info.Protocol)),
		"clean_session":      strconv.FormatBool(info.CleanStart),
		"session_started_at": started,
	}
}
