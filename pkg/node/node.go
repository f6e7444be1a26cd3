// Package node wires one broker node together from its configuration: start
// order (store, sessions, plugins, listeners), run-time settings and graceful stop.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/auth"
	"github.com/vernemq-go/vernemq/pkg/auth/webhooks"
	"github.com/vernemq-go/vernemq/pkg/bridge"
	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/cluster"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/conn"
	"github.com/vernemq-go/vernemq/pkg/logging"
	"github.com/vernemq-go/vernemq/pkg/lograte"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/poller"
	"github.com/vernemq-go/vernemq/pkg/store"
	"github.com/vernemq-go/vernemq/pkg/workers"
)

// Repeated log lines that clients or peers can cause: 10 of each message per 10 s.
const (
	edgeLogBurst  = 10
	edgeLogWindow = 10 * time.Second
)

// Node is one running broker.
type Node struct {
	Cfg     *config.Config
	Log     *slog.Logger
	Reg     *metrics.Registry
	Metrics *metrics.Broker
	Broker  *broker.Broker
	Auth    *auth.Chain
	Server  *conn.Server
	Store   *store.Store
	// Logs are the log outputs vmq-admin log shows and sets; nil when the caller built Log
	// itself (then the log commands say so). Set before Start.
	Logs *logging.Logs

	// edgeLog logs what clients and other nodes can trigger at will (refused logins and
	// connections, bad packets): each message at most edgeLogBurst times per edgeLogWindow.
	edgeLog *slog.Logger

	mu        sync.Mutex
	listeners []*mqttListener
	bridges   []*bridge.Bridge
	bridgeCtx context.Context // the node's run context, for vmq-admin bridge start
	bridgeMu  sync.Mutex      // one bridge start (restart) at a time
	closers   []func() error
	workers   *workers.Pool // runs connection goroutines (listeners, resumed readers); set by Start
	started   time.Time
	cancel    context.CancelFunc

	cluster  atomic.Pointer[cluster.Cluster] // nil unless listener.vmq.clustering is set
	webhooks atomic.Pointer[webhooks.Plugin] // nil unless vmq_webhooks runs
	plugins  appPlugins                      // the application plugins running (plugins.go)
	// clusterTLS is listener.vmqs's certificate, key and CA (nil with listener.vmq or no cluster).
	clusterTLS atomic.Pointer[tlsFiles]
	web        atomic.Pointer[httpListeners] // the HTTP listeners, once startAdmin made them (certificate reloads)
	// ready is closed when the start is complete: the listeners bind before the node
	// contacts its cluster but hand no connection to the server until then.
	ready     chan struct{}
	adminExec func(ctx context.Context, argv []string) []byte // vmq-admin commands from other nodes (set by startAdmin)
}

// New builds a node from cfg; nothing listens until Start.
func New(cfg *config.Config, log *slog.Logger) (*Node, error) {
	n := &Node{Cfg: cfg, Log: log, Reg: metrics.NewRegistry(), ready: make(chan struct{})}
	n.edgeLog = slog.New(lograte.New(log.Handler(), edgeLogBurst, edgeLogWindow))
	n.Metrics = metrics.NewBroker(n.Reg)
	metrics.RegisterSystem(n.Reg, n.Metrics.RouterMemory, n.Metrics.RetainMemory)
	st, err := openStore(cfg, log)
	if err != nil {
		return nil, err
	}
	n.Store = st
	n.Auth = auth.NewChain(func() bool { return cfg.Bool("allow_anonymous") }, n.edgeLog)
	n.Broker = broker.New(broker.Options{Node: cfg.String("nodename"), Metrics: n.Metrics, Log: log, Store: st,
		Deliver: &deliverHook{chain: n.Auth, ctx: context.Background()}})
	n.Server = conn.NewServer(n.Broker, n.Auth, n.Metrics, n.edgeLog, conn.DefaultSettings())
	n.Server.Throttle = auth.NewThrottle()
	n.Reg.Gauge("client_failed_logins", "Logins refused by the auth chain (every source).", nil).Func(func() int64 { return int64(n.Server.Throttle.Failed.Load()) })
	n.Reg.Gauge("client_failed_login_throttled", "CONNECTs refused because their source reached failed_login_limit.", nil).Func(func() int64 { return int64(n.Server.Throttle.Throttled.Load()) })
	n.wireHooks()
	n.apply()
	cfg.OnChange(func(key, value string) {
		n.apply()
		if key == "persistent_client_expiration" {
			n.Broker.ApplyClientExpiration(uint32(cfg.Duration(key) / time.Second))
		}
		n.Log.Info("setting changed", "key", key, "value", value)
	})
	return n, nil
}

// Start restores the sessions from the store (opened, and its data dir locked, by New),
// starts the plugins, binds every listener and the admin socket, and only then joins the
// cluster: a start that fails on a local resource never contacts the cluster (no member
// that joins and dies, no netsplit on the others). Clients are served once all is up.
func (n *Node) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(ctx)
	n.started = time.Now()
	if err := n.restore(ctx); err != nil {
		return err
	}
	if err := n.startPlugins(ctx); err != nil {
		return err
	}
	// A few waiting workers per core: enough for the connections that start between two
	// that end; the rest end after their connection (TestIdleClientsParkAndResume).
	n.workers = workers.New(4 * runtime.GOMAXPROCS(0))
	n.addCloser(func() error { n.workers.Close(); return nil })
	if p, err := poller.New(n.workers.Go); err == nil {
		n.Server.EnableParking(p)
		n.addCloser(p.Close) // closers run after the clients are disconnected
	} else {
		n.Log.Info("idle connections keep their reader goroutine", "reason", err)
	}
	if err := n.startListeners(ctx); err != nil {
		n.stopListeners()
		return err
	}
	if err := n.startBridges(ctx); err != nil {
		return fmt.Errorf("vmq_bridge: %w", err)
	}
	if err := n.startAdmin(ctx); err != nil {
		return err
	}
	if err := n.startCluster(ctx); err != nil {
		return err
	}
	close(n.ready)
	go n.Broker.RunRetries(ctx)
	go n.sweepCerts(ctx)
	n.Log.Info("node started", "nodename", n.Broker.Node(), "listeners", len(n.listeners))
	return nil
}

// Stop stops accepting, disconnects clients (v5 clients are told 0x8B), hands the
// persistent sessions to the other cluster nodes, leaves the cluster and closes the store.
func (n *Node) Stop(ctx context.Context) error {
	n.bridgeMu.Lock() // no bridge start after this
	n.stopBridges()
	n.mu.Lock()
	n.bridgeCtx = nil
	n.mu.Unlock()
	n.bridgeMu.Unlock()
	n.Log.Info("stopping node: closing listeners")
	n.stopListeners()
	n.Log.Info("stopping node: disconnecting clients", "connections", n.Server.Count())
	err := n.Server.Shutdown(ctx, packets.ServerShuttingDown)
	if err != nil {
		n.Log.Warn("not every connection ended in time", "error", err)
	}
	n.handOverOnStop()
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.Log.Info("node stopped")
	return errors.Join(errs...)
}

// Set changes a run-time setting, validated by the conf schema (vmq-admin set).
func (n *Node) Set(key, value string) error {
	return n.Cfg.Set(key, value)
}

// Uptime is how long the node has run.
func (n *Node) Uptime() time.Duration { return time.Since(n.started) }

// apply pushes the configuration into the router and the connection settings.
func (n *Node) apply() {
	c := n.Cfg
	n.Broker.SetLimits(sessionLimits(c))
	pce := uint32(c.Duration("persistent_client_expiration") / time.Second)
	willCap := int64(-1)
	if d := c.Duration("max_last_will_delay"); d > 0 {
		willCap = int64(d / time.Second)
	}
	n.Broker.SetSettings(broker.Settings{
		SharedPolicy:                 c.String("shared_subscription_policy"),
		SuppressLWTOnSessionTakeover: c.Bool("suppress_lwt_on_session_takeover"),
		MaxSubscriptionsPerClient:    int(c.Int("max_subscriptions_per_client")),
		RetryInterval:                c.Duration("retry_interval"),
	})
	st := conn.DefaultSettings()
	st.MaxClientIDSize = int(c.Int("max_client_id_size"))
	st.MaxMessageSize = int(c.Bytes("max_message_size"))
	st.MaxConnectSize = int(c.Bytes("max_connect_message_size"))
	st.TopicMaxDepth = int(c.Int("topic_max_depth"))
	st.ReceiveMaxBroker = uint16(c.Int("receive_max_broker"))
	st.TopicAliasMaxBroker = uint16(c.Int("topic_alias_max_broker"))
	st.TopicAliasMaxClient = uint16(c.Int("topic_alias_max_client"))
	st.ReceiveMaxClient = uint16(c.Int("receive_max_client"))
	st.KeepaliveAsWarning = c.Bool("logging.keepalive_as_warning")
	st.MaxMessageRate = int(c.Int("max_message_rate"))
	st.DisconnectOnUnauthorizedPublishV3 = c.Bool("disconnect_on_unauthorized_publish_v3")
	st.ConnectTimeout = c.Duration("mqtt_connect_timeout")
	st.PersistentClientExpiration = pce
	st.MaxLastWillDelay = willCap
	st.ParkIdleAfter = c.Duration("park_idle_connections_after")
	st.MaxKeepAlive = uint16(c.Duration("max_keepalive") / time.Second)
	st.SessionBinding = c.Bool("session_binding")
	st.UniformAuthFailure = c.Bool("uniform_auth_failure")
	n.Server.Throttle.Set(int(c.Int("failed_login_limit")), c.Duration("failed_login_window"))
	n.Server.SetSettings(st)
}

func sessionLimits(c *config.Config) sessionLimitsT {
	return sessionLimitsT{
		MaxOnline:         int(c.Int("max_online_messages")),
		MaxOffline:        int(c.Int("max_offline_messages")),
		LIFO:              c.String("queue_type") == "lifo",
		MaxInflight:       int(c.Int("max_inflight_messages")),
		OverrideMaxOnline: c.Bool("override_max_online_messages"),
		UpgradeQoS:        c.Bool("upgrade_outgoing_qos"),
	}
}

func (n *Node) addCloser(f func() error) { n.closers = append(n.closers, f) }

// syncWait bounds how long a starting cluster node waits for the others' session tables
// before it serves clients (a member that does not answer must not keep it down).
const syncWait = 10 * time.Second

var errNoListener = fmt.Errorf("no MQTT listener configured: add e.g. listener.tcp.default = 127.0.0.1:1883")
