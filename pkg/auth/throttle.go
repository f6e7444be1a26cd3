package auth

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxThrottleSources bounds the failure table: beyond it, sources that are not already
// counted are not counted until expired entries make room (the node's memory, not the
// attacker, sets the limit; one entry is ~64 bytes).
const maxThrottleSources = 100_000

// Throttle counts failed logins per source address (failed_login_limit within
// failed_login_window) and refuses a source that reached the limit until its window
// ends, without asking the plugins: password guessing costs the attacker a window per
// limit, and the plugins (bcrypt, databases, webhooks) are not its amplifier.
type Throttle struct {
	limit  atomic.Int64
	window atomic.Int64 // ns

	mu      sync.Mutex
	sources map[netip.Addr]*failures
	swept   time.Time // last sweep of a full table

	Failed    atomic.Uint64 // failed logins counted
	Throttled atomic.Uint64 // CONNECTs refused because their source reached the limit
}

type failures struct {
	start time.Time
	n     int64
}

// NewThrottle returns a throttle that is off until Set gives it a limit.
func NewThrottle() *Throttle { return &Throttle{sources: map[netip.Addr]*failures{}} }

// Set changes the limit (0 = off) and the window.
func (t *Throttle) Set(limit int, window time.Duration) {
	t.limit.Store(int64(limit))
	t.window.Store(int64(window))
}

// Blocked reports whether the source of addr has reached the limit in its current window.
func (t *Throttle) Blocked(addr net.Addr, now time.Time) bool {
	limit := t.limit.Load()
	src, ok := source(addr)
	if limit <= 0 || !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.sources[src]
	if f == nil || now.Sub(f.start) >= time.Duration(t.window.Load()) {
		return false
	}
	if f.n >= limit {
		t.Throttled.Add(1)
		return true
	}
	return false
}

// Fail counts one failed login of addr's source.
func (t *Throttle) Fail(addr net.Addr, now time.Time) {
	t.Failed.Add(1)
	src, ok := source(addr)
	if t.limit.Load() <= 0 || !ok {
		return
	}
	window := time.Duration(t.window.Load())
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.sources[src]
	if f != nil && now.Sub(f.start) >= window {
		f.start, f.n = now, 0
	}
	if f == nil {
		if len(t.sources) >= maxThrottleSources {
			// A full table is swept at most once a second: a sweep per failure would
			// let a flood of sources make every failure cost the whole table.
			if now.Sub(t.swept) < time.Second {
				return
			}
			t.swept = now
			for k, v := range t.sources {
				if now.Sub(v.start) >= window {
					delete(t.sources, k)
				}
			}
			if len(t.sources) >= maxThrottleSources {
				return
			}
		}
		f = &failures{start: now}
		t.sources[src] = f
	}
	f.n++
}

// Sources is the number of sources counted (expired ones included until pruned).
func (t *Throttle) Sources() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sources)
}

// source is the IP of addr (the PROXY source when the listener reads one).
func source(addr net.Addr) (netip.Addr, bool) {
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	case nil:
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}
