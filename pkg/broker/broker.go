// Package broker is the router of one node: the registry of sessions, the
// subscription index, retained messages, and the delivery of each PUBLISH to
// local session queues and (once per node) to remote nodes.
package broker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Shared-subscription policies (shared_subscription_policy).
const (
	PolicyPreferLocal = "prefer_local"
	PolicyLocalOnly   = "local_only"
	PolicyRandom      = "random"
	// PolicyPreferOnlineBeforeLocal prefers a remote online member over a local offline one.
	PolicyPreferOnlineBeforeLocal = "prefer_online_before_local"
)

// Settings are router options that may change at run time.
type Settings struct {
	SharedPolicy                 string
	SuppressLWTOnSessionTakeover bool
	MaxSubscriptionsPerClient    int           // 0 = unlimited
	RetryInterval                time.Duration // retry_interval: resend unacknowledged QoS 1/2 to 3.x clients
}

// Remote is the cluster seen from the router: it forwards to other nodes.
type Remote interface {
	// Forward sends m once to node, which delivers it to its own matching subscribers.
	Forward(node string, m *session.Message)
	// ForwardShared sends m to node for delivery to one chosen shared-subscription member.
	ForwardShared(node string, m *session.Message, sub topics.SubscriberID, d session.Delivery)
}

// Options configure a Broker.
type Options struct {
	Node    string
	Metrics *metrics.Broker
	Log     *slog.Logger
	Store   Store // nil keeps everything in memory
	// Deliver is the on_deliver hook every session is given (nil: none).
	Deliver session.DeliverHook
}

// Broker routes messages between the sessions of one node and the cluster.
type Broker struct {
	node    string
	m       *metrics.Broker
	log     *slog.Logger
	store   Store
	index   *topics.Index
	limits  atomic.Pointer[session.Limits]
	set     atomic.Pointer[Settings]
	remote  atomic.Pointer[remoteBox]
	reg     registry
	retain  retained
	results sync.Pool
	persist *persister
	hooks   atomic.Pointer[Hooks]
	env     session.Env // shared by all sessions
}

type remoteBox struct{ r Remote }

// New returns a broker with VerneMQ's default limits.
func New(o Options) *Broker {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewBroker(metrics.NewRegistry())
	}
	b := &Broker{node: o.Node, m: o.Metrics, log: o.Log, store: o.Store, index: topics.NewIndex()}
	b.persist = newPersister(b, o.Store)
	b.env = session.Env{Limits: &b.limits, Metrics: b.m, Persist: b.persist.forSession(), OnDrop: b.onDrop, Deliver: o.Deliver}
	b.reg.sessions = map[topics.SubscriberID]*entry{}
	b.reg.online = map[*session.Session]struct{}{}
	b.retain.byMP = map[string]map[string]*session.Message{}
	b.limits.Store(&session.Limits{MaxOnline: 1000, MaxOffline: 1000, MaxInflight: 20})
	b.set.Store(&Settings{SharedPolicy: PolicyPreferLocal})
	b.hooks.Store(&Hooks{})
	b.results.New = func() any { return new(topics.Result) }
	o.Metrics.QueueProcesses.Func(func() int64 { return int64(b.reg.len()) })
	o.Metrics.RouterSubscriptions.Func(func() int64 { return int64(b.index.Len()) })
	o.Metrics.RetainMessages.Func(func() int64 { return int64(b.retain.len()) })
	o.Metrics.RouterMemory.Func(b.index.Memory)
	o.Metrics.RetainMemory.Func(b.retain.memory)
	return b
}

// Node is this node's name.
func (b *Broker) Node() string { return b.node }

// Metrics returns the broker's metrics.
func (b *Broker) Metrics() *metrics.Broker { return b.m }

// SetLimits replaces the queue limits; every session sees them on its next use.
func (b *Broker) SetLimits(l session.Limits) { b.limits.Store(&l) }

// Limits returns the current queue limits.
func (b *Broker) Limits() session.Limits { return *b.limits.Load() }

// SetSettings replaces the router settings.
func (b *Broker) SetSettings(s Settings) { b.set.Store(&s) }

// Settings returns the router settings.
func (b *Broker) Settings() Settings { return *b.set.Load() }

// SetRemote connects the router to the cluster (nil for a single node).
func (b *Broker) SetRemote(r Remote) { b.remote.Store(&remoteBox{r}) }

func (b *Broker) remoteNodes() Remote {
	if rb := b.remote.Load(); rb != nil {
		return rb.r
	}
	return nil
}

// Index exposes the subscription index (the cluster replicates remote entries into it).
func (b *Broker) Index() *topics.Index { return b.index }

func shuffle[T any](s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := rand.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// RunRetries resends unacknowledged QoS 1/2 messages of connected 3.x clients every
// retry_interval (or the session's own) until ctx ends (a scan of the connected sessions
// once a second).
func (b *Broker) RunRetries(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var snap []*session.Session
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			snap = b.retryScan(snap, b.Settings().RetryInterval, now)
		}
	}
}

// retryScan is one pass of RunRetries over a snapshot of the connected sessions taken into snap's
// storage, which it returns for the next pass: a fresh snapshot per second was 8 bytes per
// session of garbage each second, which on a node of idle offline sessions made the heap
// grow to its goal and stay there (issue 19).
func (b *Broker) retryScan(snap []*session.Session, interval time.Duration, now time.Time) []*session.Session {
	b.reg.mu.Lock()
	snap = snap[:0]
	for s := range b.reg.online {
		snap = append(snap, s)
	}
	b.reg.mu.Unlock()
	for _, s := range snap {
		iv := interval
		if own := s.Limits().RetryInterval; own > 0 {
			iv = own // the client's retry_interval modifier
		}
		s.RetryUnacked(iv, now)
	}
	clear(snap) // no session is kept alive by the buffer
	return snap
}
