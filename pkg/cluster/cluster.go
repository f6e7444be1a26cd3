// Package cluster joins broker nodes into one cluster, as VerneMQ does: serf
// membership (gossip encrypted with a key derived from distributed_cookie), one
// authenticated, framed, batched TCP data link per peer to its
// listener.vmq.clustering address, replication of every node's session table
// (subscriptions) and of retained messages, and session migration between nodes.
package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/metrics"
)

// Options configure a Cluster.
type Options struct {
	Broker   *broker.Broker
	Node     string // nodename: unique in the cluster
	Cookie   string // distributed_cookie
	DataAddr string // listener.vmq.clustering host:port the data link listens on
	// GossipAddr is serf's host:port; "" means DataAddr's host and port+1.
	GossipAddr     string
	DataDir        string        // platform_data_dir: the serf snapshot lives in DataDir/cluster
	OutgoingBuffer int64         // outgoing_clustering_buffer_size, bytes per peer
	IncomingMax    int           // incoming_clustering_buffer_size, largest accepted frame
	DeadNodeGrace  time.Duration // a failed member is removed after this; 0 = 30s
	SyncInterval   time.Duration // anti-entropy period; 0 = 2s
	Registry       *metrics.Registry
	Log            *slog.Logger
	// Setting reads a boolean conf key at run time (allow_*_during_netsplit); nil = all off.
	Setting func(key string) bool
	// OnLeaveRequest is called when `cluster leave` names this node from another node.
	OnLeaveRequest func(killSessions bool)
	// TLS (listener.vmqs): the data link is mutual TLS, ServerTLS for the connections of
	// the others, ClientTLS for ours to them; nil = plain TCP (listener.vmq).
	ServerTLS, ClientTLS *tls.Config
}

// Member is one cluster node as `vmq-admin cluster show` lists it.
type Member struct {
	Name    string
	Running bool
}

// Cluster is this node's view of, and links to, the other nodes.
type Cluster struct {
	o      Options
	b      *broker.Broker
	log    *slog.Logger
	serf   *serf.Serf
	ln     net.Listener
	events chan serf.Event
	key    []byte
	stop   chan struct{}
	wg     sync.WaitGroup

	sent, received, dropped    *metrics.Counter
	netsplitDetected, resolved *metrics.Counter

	mu     sync.Mutex
	links  map[string]*link
	failed map[string]*time.Timer // failed members waiting out DeadNodeGrace: the netsplit
	closed bool
	// down is the sorted names of c.failed, replaced under mu whenever it changes, so
	// Allowed (every PUBLISH, SUBSCRIBE, CONNECT) reads it with no lock (docs/locks.md).
	down atomic.Pointer[[]string]

	tab      table
	mig      migrations
	ret      retainSync
	reg      registrations
	mv       movedSessions
	adm      adminCalls // remote vmq-admin commands (admin.go)
	refusals refusals
	// rejoining: serf rejoins the members of its snapshot at start (see WaitSynced).
	rejoining bool
	syncing   atomicBool
	inMu      sync.Mutex
	in        map[net.Conn]struct{}
}

// New validates o and prepares a cluster; Start opens the sockets.
func New(o Options) (*Cluster, error) {
	if o.Broker == nil || o.Node == "" || o.DataAddr == "" {
		return nil, errors.New("cluster: Broker, Node and DataAddr are required")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = metrics.NewRegistry()
	}
	if o.OutgoingBuffer <= 0 {
		o.OutgoingBuffer = 64 << 20
	}
	if o.IncomingMax <= 0 {
		o.IncomingMax = 64 << 20
	}
	if o.DeadNodeGrace <= 0 {
		o.DeadNodeGrace = 30 * time.Second
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 2 * time.Second
	}
	if o.Setting == nil {
		o.Setting = func(string) bool { return false }
	}
	r := o.Registry
	c := &Cluster{
		o: o, b: o.Broker, log: o.Log.With("component", "cluster"), key: linkKey(o.Cookie),
		stop: make(chan struct{}), links: map[string]*link{}, failed: map[string]*time.Timer{},
		in:               map[net.Conn]struct{}{},
		sent:             r.Counter("cluster_bytes_sent", "Bytes sent to other nodes on the data link.", nil),
		received:         r.Counter("cluster_bytes_received", "Bytes received from other nodes on the data link.", nil),
		dropped:          r.Counter("cluster_bytes_dropped", "Bytes dropped because a peer's outgoing buffer was full.", nil),
		netsplitDetected: r.Counter("netsplit_detected", "Times a cluster member was detected as failed.", nil),
		resolved:         r.Counter("netsplit_resolved", "Times a failed cluster member came back.", nil),
	}
	c.tab.init(c)
	c.mig.init()
	c.ret.init()
	o.Broker.TrackRetainedChanges() // the retained messages restored before are no local changes
	c.reg.init()
	c.mv.init()
	c.refusals.init(r)
	c.down.Store(new([]string))
	return c, nil
}

// gossipAddr returns serf's bind host and port.
func (c *Cluster) gossipAddr() (string, int, error) {
	addr := c.o.GossipAddr
	if addr == "" {
		host, port, err := net.SplitHostPort(c.o.DataAddr)
		if err != nil {
			return "", 0, fmt.Errorf("listener.vmq.clustering %q: %w", c.o.DataAddr, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p >= 65535 {
			return "", 0, fmt.Errorf("listener.vmq.clustering %q: needs a fixed port below 65535 (gossip uses port+1)", c.o.DataAddr)
		}
		return host, p + 1, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("cluster gossip address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("cluster gossip address %q: bad port", addr)
	}
	return host, p, nil
}

// Start listens on the data address, starts serf (rejoining the members in its
// snapshot) and the replication loops. The broker's Remote and hooks are set.
func (c *Cluster) Start() error {
	ln, err := net.Listen("tcp", c.o.DataAddr)
	if err != nil {
		return fmt.Errorf("listener.vmq.clustering %s: %w%s", c.o.DataAddr, err, inUseHint(err))
	}
	c.ln = ln
	if c.o.ServerTLS != nil {
		c.ln = tls.NewListener(ln, c.o.ServerTLS)
	}
	host, port, err := c.gossipAddr()
	if err != nil {
		ln.Close()
		return err
	}
	conf := serf.DefaultConfig()
	// serf re-contacts failed members every 30 s by default: a healed netsplit would take up to
	// that long to merge. 5 s bounds convergence after a partition to ~10 s (docs/clustering.md).
	conf.ReconnectInterval = 5 * time.Second
	conf.Init()
	conf.NodeName = c.o.Node
	conf.Tags = map[string]string{"vmq": ln.Addr().String()}
	conf.MemberlistConfig = memberlist.DefaultLANConfig()
	conf.MemberlistConfig.BindAddr = host
	conf.MemberlistConfig.BindPort = port
	conf.MemberlistConfig.AdvertisePort = port
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		conf.MemberlistConfig.AdvertiseAddr = host
	}
	conf.MemberlistConfig.SecretKey = GossipKey(c.o.Cookie)
	conf.MemberlistConfig.GossipVerifyIncoming = true
	conf.MemberlistConfig.GossipVerifyOutgoing = true
	logw := slogWriter{c.log}
	conf.MemberlistConfig.Logger = log.New(logw, "", 0)
	conf.Logger = log.New(logw, "", 0)
	conf.LogOutput = nil
	conf.MemberlistConfig.LogOutput = nil
	if c.o.DataDir != "" {
		dir := filepath.Join(c.o.DataDir, "cluster")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			ln.Close()
			return fmt.Errorf("cluster snapshot directory: %w", err)
		}
		conf.SnapshotPath = filepath.Join(dir, "serf.snapshot")
		// A graceful stop leaves the gossip too (so that the others do not take it for a
		// netsplit), and serf would then not rejoin from its snapshot at the next start.
		// Only `cluster leave` is meant to be final: it leaves a marker file.
		_, err := os.Stat(c.leftMarker())
		conf.RejoinAfterLeave = errors.Is(err, fs.ErrNotExist)
		if st, err := os.Stat(conf.SnapshotPath); err == nil && st.Size() > 0 && conf.RejoinAfterLeave {
			c.rejoining = true
		}
		if !conf.RejoinAfterLeave {
			c.log.Info("this node left its cluster with cluster leave: not rejoining the members of its snapshot (use cluster join)")
		}
	}
	c.events = make(chan serf.Event, 256)
	conf.EventCh = c.events
	s, err := serf.Create(conf)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cluster gossip on %s:%d (listener.vmq.clustering's port+1): %w%s", host, port, err, inUseHint(err))
	}
	c.serf = s
	c.installHooks()
	c.b.SetRemote(c)
	c.wg.Add(3)
	go c.accept()
	go c.eventLoop()
	go c.syncLoop()
	c.log.Info("cluster started", "data", ln.Addr().String(), "gossip", net.JoinHostPort(host, strconv.Itoa(port)))
	return nil
}

// Join joins the cluster of the node at addr (host:port): its listener.vmq.clustering
// address (its gossip port, port+1, is tried first) or its gossip address. It refuses
// this node's own addresses.
func (c *Cluster) Join(addr string) error {
	if c.isSelf(addr) {
		return fmt.Errorf("cluster join %s: that is this node's own address; give another node's listener.vmq.clustering address", addr)
	}
	tries := []string{addr}
	if host, port, e := net.SplitHostPort(addr); e == nil {
		if p, e := strconv.Atoi(port); e == nil && p < 65535 {
			tries = []string{net.JoinHostPort(host, strconv.Itoa(p+1)), addr}
		}
	}
	var first error
	for _, a := range tries {
		n, err := c.serf.Join([]string{a}, true)
		if n > 0 {
			c.clearLeftMarker()
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return fmt.Errorf("cluster join %s: no node answered (tried its gossip port %s, then %s): %s; is it running, reachable, with the same distributed_cookie?",
		addr, tries[0], tries[len(tries)-1], joinCause(first))
}

// joinCause is the reason of serf's first failed attempt, without memberlist's multierror wrapping.
func joinCause(err error) string {
	if err == nil {
		return "no answer"
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "* "); ok {
			if _, cause, ok := strings.Cut(rest, ": "); ok && strings.HasPrefix(strings.ToLower(rest), "failed to join") {
				return cause
			}
			return rest
		}
	}
	return err.Error()
}

// isSelf reports whether addr (host:port) is this node's data or gossip address.
func (c *Cluster) isSelf(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || c.ln == nil {
		return false
	}
	p, _ := strconv.Atoi(port)
	own := c.ln.Addr().(*net.TCPAddr)
	_, gport, _ := c.gossipAddr()
	if p != own.Port && p != gport {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Equal(own.IP) || (own.IP.IsUnspecified() && isLocalIP(ip)) {
			return true
		}
	}
	return false
}

func isLocalIP(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// DataAddr is the bound address of the data link's listener (listener.vmq.clustering).
func (c *Cluster) DataAddr() string {
	if c.ln == nil {
		return c.o.DataAddr
	}
	return c.ln.Addr().String()
}

// Members lists every known node, this one included, and whether it is reachable.
// A node that left (or is leaving) lists only itself: it is no longer part of the others' cluster.
func (c *Cluster) Members() []Member {
	if st := c.serf.State(); st == serf.SerfLeaving || st == serf.SerfLeft {
		return []Member{{Name: c.o.Node, Running: true}}
	}
	var out []Member
	for _, m := range c.serf.Members() {
		if m.Status == serf.StatusLeft {
			continue
		}
		out = append(out, Member{Name: m.Name, Running: m.Status == serf.StatusAlive})
	}
	return out
}

// Consistent reports whether every member is reachable, VerneMQ's vmq_cluster:is_ready:
// while false, CONNECT, PUBLISH, SUBSCRIBE and UNSUBSCRIBE are refused unless the
// matching allow_*_during_netsplit is on (see Allowed). A member failed for longer than
// DeadNodeGrace has had its subscriptions removed and no longer counts.
func (c *Cluster) Consistent() bool {
	return len(c.unreachable()) == 0
}

// unreachable lists the failed members that make the cluster inconsistent: those serf
// reported failed (EventMemberFailed) and not alive, left or past DeadNodeGrace since.
// The slice is shared: callers must not change it.
func (c *Cluster) unreachable() []string {
	return *c.down.Load()
}

// publishDownLocked replaces the snapshot read by unreachable; the caller holds c.mu and
// has just changed c.failed.
func (c *Cluster) publishDownLocked() {
	down := make([]string, 0, len(c.failed))
	for name := range c.failed {
		down = append(down, name)
	}
	slices.Sort(down)
	c.down.Store(&down)
}

// netsplitOps are the operations a netsplit refuses, each unless allow_<op>_during_netsplit.
var netsplitOps = []string{"register", "publish", "subscribe", "unsubscribe"}

// Allowed tells the connection layer whether op ("register", "publish", "subscribe"
// or "unsubscribe") may proceed now: always while Consistent, else only when
// allow_<op>_during_netsplit is on. Refuse CONNECT with 0x88 (v5)/3 (v3) server
// unavailable, PUBLISH/SUBSCRIBE/UNSUBSCRIBE with 0x80 unspecified error (v5) or by
// disconnecting (v3 has no negative PUBACK). Every refusal is counted in
// netsplit_refused{op} and logged, at most once per refuseLogEvery and op. A non-nil
// override is the client's own allow_<op> (an auth_on_register modifier) in place of
// the setting.
func (c *Cluster) Allowed(op string, override *bool) bool {
	down := c.unreachable()
	if len(down) == 0 || allowSetting(c.o.Setting("allow_"+op+"_during_netsplit"), override) {
		return true
	}
	c.refusals.note(c, op, down)
	return false
}

// AllowedRegister decides a CONNECT of id while the cluster may be split: a client whose
// session lives on an unreachable member (serf says it failed, or its data link cannot
// connect: a crashed node is known so at once) is refused unless
// allow_register_during_netsplit is on, since registering it here would start a second
// session beside the one (and its queue) on that node. Every other client (a session on
// a reachable node, or none) registers at once, even during a netsplit: it needs no
// unreachable node. override is as Allowed's.
func (c *Cluster) AllowedRegister(id broker.SessionID, override *bool) bool {
	if allowSetting(c.o.Setting("allow_register_during_netsplit"), override) {
		return true
	}
	var down []string
	for _, o := range c.tab.owners(id) {
		if o != c.o.Node && c.peerUnreachable(o) {
			down = append(down, o)
		}
	}
	if len(down) == 0 {
		return true
	}
	c.refusals.note(c, "register", down)
	return false
}

func allowSetting(setting bool, override *bool) bool {
	if override != nil {
		return *override
	}
	return setting
}

// peerUnreachable reports whether node is failed (and its grace has not run out) or its
// data link cannot connect.
func (c *Cluster) peerUnreachable(node string) bool {
	if slices.Contains(c.unreachable(), node) {
		return true
	}
	c.mu.Lock()
	l := c.links[node]
	c.mu.Unlock()
	return l != nil && l.Unreachable()
}

// WaitSynced holds a starting node back, at most bound, until it holds the session
// table of every running member: a node that served clients before would route their
// publishes to its own subscribers only, and the others' would miss them. joined says
// the node has just joined a member; a node that rejoins from its snapshot waits up to
// rejoinWait for a member to answer.
func (c *Cluster) WaitSynced(bound time.Duration, joined bool) {
	c.syncing.set(true)
	defer c.syncing.set(false)
	start := time.Now()
	for {
		missing := c.unsynced()
		others := c.othersAlive()
		expect := joined || (c.rejoining && time.Since(start) < rejoinWait)
		if len(missing) == 0 && (others > 0 || !expect) {
			if others > 0 {
				c.log.Info("holding the session tables of every running member", "members", others, "took", time.Since(start).Round(time.Millisecond))
			}
			return
		}
		if time.Since(start) > bound {
			c.log.Warn("serving clients before holding every member's session table", "missing", strings.Join(missing, ","),
				"running_members", others, "waited", bound)
			return
		}
		time.Sleep(20 * time.Millisecond) // polls membership; bounded by bound
	}
}

// rejoinWait bounds the wait for a member of the snapshot to answer a rejoin (serf
// rejoins in the background; a reachable member answers within milliseconds).
const rejoinWait = 3 * time.Second

// othersAlive counts the running members besides this node.
func (c *Cluster) othersAlive() int {
	n := 0
	for _, m := range c.serf.Members() {
		if m.Name != c.o.Node && m.Status == serf.StatusAlive {
			n++
		}
	}
	return n
}

// unsynced lists the running members whose session table this node does not hold yet.
func (c *Cluster) unsynced() []string {
	var out []string
	for _, m := range c.serf.Members() {
		if m.Name == c.o.Node || m.Status != serf.StatusAlive {
			continue
		}
		c.tab.mu.Lock()
		_, ok := c.tab.nodes[m.Name]
		c.tab.mu.Unlock()
		if !ok {
			out = append(out, m.Name)
		}
	}
	return out
}

// NotReady gives the reasons this node refuses clients for cluster reasons now (nil when
// it does not): /health answers 503 with them, as a load balancer needs.
func (c *Cluster) NotReady() []string {
	if c.syncing.get() {
		return []string{"joining the cluster: waiting for the session tables of " + strings.Join(c.unsynced(), ", ")}
	}
	down := c.unreachable()
	if len(down) == 0 {
		return nil
	}
	var refused []string
	for _, op := range netsplitOps {
		if !c.o.Setting("allow_" + op + "_during_netsplit") {
			if op == "register" {
				op = "register of sessions on " + strings.Join(down, ", ") // see AllowedRegister
			}
			refused = append(refused, op)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("cluster not consistent: %s unreachable (for up to the grace period %v); refusing %s (allow_*_during_netsplit off)",
		strings.Join(down, ", "), c.o.DeadNodeGrace, strings.Join(refused, ", "))}
}

// refuseLogEvery bounds the log lines about refusals: one per op per period, with a count.
const refuseLogEvery = 10 * time.Second

// refusals counts and logs what a netsplit refuses.
type refusals struct {
	counters map[string]*metrics.Counter
	mu       sync.Mutex
	last     map[string]time.Time
	since    map[string]int // refusals not logged yet
}

func (r *refusals) init(reg *metrics.Registry) {
	r.counters = map[string]*metrics.Counter{}
	for _, op := range netsplitOps {
		r.counters[op] = reg.Counter("netsplit_refused", "Operations refused because the cluster is not consistent (a member unreachable) and allow_<op>_during_netsplit is off.", map[string]string{"op": op})
	}
	r.last, r.since = map[string]time.Time{}, map[string]int{}
}

func (r *refusals) note(c *Cluster, op string, down []string) {
	if ctr := r.counters[op]; ctr != nil {
		ctr.Inc()
	}
	r.mu.Lock()
	r.since[op]++
	now := time.Now()
	if now.Sub(r.last[op]) < refuseLogEvery {
		r.mu.Unlock()
		return
	}
	n := r.since[op]
	r.since[op], r.last[op] = 0, now
	r.mu.Unlock()
	c.log.Warn("refusing clients: the cluster is not consistent", "op", op, "refused", n,
		"unreachable", strings.Join(down, ","), "switch", "allow_"+op+"_during_netsplit", "log_every", refuseLogEvery)
}

// Leave makes node leave the cluster: this node leaves gracefully; another running
// node is asked to leave; a failed node is removed at once with its subscriptions.
func (c *Cluster) Leave(node string, killSessions bool) error {
	if node == "" || node == c.o.Node {
		if err := c.writeLeftMarker(); err != nil {
			return err
		}
		return c.serf.Leave()
	}
	for _, m := range c.serf.Members() {
		if m.Name != node {
			continue
		}
		if m.Status == serf.StatusAlive {
			return c.askLeave(node, killSessions)
		}
		if err := c.serf.RemoveFailedNodePrune(node); err != nil {
			return fmt.Errorf("cluster leave %s: %w", node, err)
		}
		c.removeNode(node)
		return nil
	}
	return fmt.Errorf("cluster leave: no member named %q (see cluster show)", node)
}

// Close is this node's graceful stop: it first tells the others that it goes (a serf
// leave, so that they drop it from membership at once instead of detecting a failure and
// refusing clients as in a netsplit), then closes every link. Unlike `cluster leave` the
// node rejoins the members of its snapshot when it starts again.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if err := c.serf.Leave(); err != nil {
		c.log.Warn("leaving the gossip before stopping failed; the others will detect a failure", "error", err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	links := c.links
	c.links = map[string]*link{}
	for _, t := range c.failed {
		t.Stop()
	}
	c.mu.Unlock()
	flushBy := time.Now().Add(closeFlush)
	for _, l := range links {
		l.flush(flushBy)
	}
	close(c.stop)
	err := c.serf.Shutdown()
	c.ln.Close()
	c.inMu.Lock()
	for conn := range c.in {
		conn.Close()
	}
	c.inMu.Unlock()
	for _, l := range links {
		l.close()
	}
	c.wg.Wait()
	return err
}

// slogWriter sends serf's and memberlist's log lines to the node's logger at debug level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Debug(msg)
	return len(p), nil
}

var _ io.Writer = slogWriter{}

// closeFlush bounds how long Close waits for the links to write what is queued.
const closeFlush = 2 * time.Second

// leftMarker is the file whose presence says this node left with `cluster leave`: it
// does not rejoin the members of its snapshot at start.
func (c *Cluster) leftMarker() string {
	return filepath.Join(c.o.DataDir, "cluster", "left")
}

func (c *Cluster) writeLeftMarker() error {
	if c.o.DataDir == "" {
		return nil
	}
	if err := os.WriteFile(c.leftMarker(), []byte(c.o.Node+"\n"), 0o644); err != nil {
		return fmt.Errorf("cluster leave: %w", err)
	}
	return nil
}

func (c *Cluster) clearLeftMarker() {
	if c.o.DataDir == "" {
		return
	}
	if err := os.Remove(c.leftMarker()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("cluster join: could not remove the left marker; the next start will not rejoin by itself", "error", err)
	}
}

// atomicBool is a flag read by other goroutines (/health).
type atomicBool struct{ v atomic.Bool }

func (b *atomicBool) set(v bool) { b.v.Store(v) }
func (b *atomicBool) get() bool  { return b.v.Load() }

// inUseHint says what to do when a cluster port is taken. VerneMQ's 44053 (and the gossip's
// 44054) lie in Linux's default ephemeral range, so a connection of this host's own, or one
// that closed in the last minute (TIME_WAIT), can hold it as well as another process.
func inUseHint(err error) string {
	// memberlist wraps the bind error with %v: its text is all that is left of it.
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
		return ""
	}
	return "; another process or a recent outgoing connection of this host (44053/44054 are in the ephemeral range, net.ipv4.ip_local_port_range) holds the port: stop it, wait a minute for TIME_WAIT, or set listener.vmq.clustering to another port (the gossip takes port+1), or reserve both with net.ipv4.ip_local_reserved_ports"
}
