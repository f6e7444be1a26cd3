package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Chain is the ordered plugin list plus the notification worker. It is safe
// for concurrent use; Add and Remove may run while sessions use the chain.
type Chain struct {
	allowAnonymous func() bool
	log            *slog.Logger

	mu      sync.Mutex // serialises Add/Remove/Close; readers use plugins
	plugins atomic.Pointer[[]Plugin]

	ctx    context.Context // handed to notification hooks; cancelled by Close
	cancel context.CancelFunc
	queue  chan func()
	stop   chan struct{} // closed by Close: drain and exit
	done   chan struct{} // closed when the worker exits
	closed atomic.Bool

	dropped atomic.Uint64

	// deliverWanted caches whether a plugin wants on_deliver calls, so that a delivery
	// costs one atomic load when none does (Refresh recomputes it).
	deliverWanted atomic.Bool
}

// notifyQueueLen bounds the notifications waiting for the worker.
const notifyQueueLen = 8192

// NewChain builds a chain asking plugins in the given (priority) order.
// allowAnonymous is read on every Register so a live config change applies;
// nil means off. log nil discards.
func NewChain(allowAnonymous func() bool, log *slog.Logger, plugins ...Plugin) *Chain {
	if allowAnonymous == nil {
		allowAnonymous = func() bool { return false }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Chain{
		allowAnonymous: allowAnonymous,
		log:            log,
		ctx:            ctx,
		cancel:         cancel,
		queue:          make(chan func(), notifyQueueLen),
		stop:           make(chan struct{}),
		done:           make(chan struct{}),
	}
	ps := append([]Plugin(nil), plugins...)
	c.plugins.Store(&ps)
	c.Refresh()
	go c.worker()
	return c
}

// Refresh recomputes what the chain caches about its plugins' hooks; a plugin whose
// HookWanter answers change (webhooks registered at run time) calls it.
func (c *Chain) Refresh() {
	want := false
	for _, p := range c.list() {
		if _, ok := p.(OnDeliverHook); ok {
			w, asks := p.(HookWanter)
			want = want || !asks || w.WantsHook("on_deliver")
		}
	}
	c.deliverWanted.Store(want)
}

// DeliverWanted reports whether any plugin wants on_deliver calls now.
func (c *Chain) DeliverWanted() bool { return c.deliverWanted.Load() }

func (c *Chain) list() []Plugin { return *c.plugins.Load() }

// Add appends p at the end of the chain (lowest priority).
func (c *Chain) Add(p Plugin) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.list()
	for _, q := range old {
		if q.Name() == p.Name() {
			return fmt.Errorf("plugin %q is already in the chain; remove it first", p.Name())
		}
	}
	ps := append(append(make([]Plugin, 0, len(old)+1), old...), p)
	c.plugins.Store(&ps)
	c.Refresh()
	return nil
}

// Remove takes the named plugin out of the chain and returns it (nil if
// absent). The caller decides whether to Close it.
func (c *Chain) Remove(name string) Plugin {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.list()
	for i, q := range old {
		if q.Name() == name {
			ps := append(append(make([]Plugin, 0, len(old)-1), old[:i]...), old[i+1:]...)
			c.plugins.Store(&ps)
			c.Refresh()
			return q
		}
	}
	return nil
}

// Plugins describes the chain in order for `vmq-admin plugin show`.
func (c *Chain) Plugins() []PluginInfo {
	ps := c.list()
	out := make([]PluginInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, PluginInfo{Name: p.Name(), Hooks: hookNames(p)})
	}
	return out
}

// Forget tells plugins caching per-client state that the client is gone for good.
func (c *Chain) Forget(mountpoint, clientID string) {
	for _, p := range c.list() {
		if f, ok := p.(Forgetter); ok {
			f.Forget(mountpoint, clientID)
		}
	}
}

// Close runs the queued notifications, stops the worker and closes every
// plugin implementing io.Closer. Later notifications are dropped.
func (c *Chain) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.stop)
	<-c.done
	c.cancel() // after the drain, so drained hooks still get a live context
	return ClosePlugins(c.list())
}

// ClosePlugins closes every plugin of ps implementing io.Closer; it returns all errors joined.
func ClosePlugins(ps []Plugin) error {
	var errs []error
	for _, p := range ps {
		if cl, ok := p.(io.Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close plugin %s: %w", p.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Immediate is implemented by plugins whose authorization hooks answer from memory,
// without I/O (file ACLs, database ACLs cached at register): a connection's reader may
// call them while it holds its session's answers back (corked).
type Immediate interface{ Immediate() }

// MayBlock reports whether auth_on_publish, auth_on_subscribe, on_unsubscribe or on_auth_m5 may wait
// on I/O: a plugin that has one of them is not Immediate.
func (c *Chain) MayBlock() bool {
	for _, p := range c.list() {
		if _, ok := p.(Immediate); ok {
			continue
		}
		switch p.(type) {
		case PublishAuthorizer, SubscribeAuthorizer, OnUnsubscribeHook, OnAuthHook:
			return true
		}
	}
	return false
}

// call runs one hook, turning a panic into an Error decision.
func (c *Chain) call(p Plugin, hook string, f func() Decision) (d Decision) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("plugin hook panicked", "plugin", p.Name(), "hook", hook, "panic", r)
			d = Decision{Result: Error, Reason: fmt.Sprintf("plugin %s crashed in %s", p.Name(), hook)}
		}
	}()
	return f()
}
