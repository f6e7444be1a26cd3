// Package metrics holds every counter and gauge of a node under VerneMQ's metric
// names; the admin socket, the Prometheus endpoint and $SYS all read this one registry.
package metrics

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Kind tells a counter (only grows) from a gauge.
type Kind int

const (
	CounterKind Kind = iota
	GaugeKind
)

// Counter is a monotonically increasing value; only ResetCounters sets it back to zero.
type Counter struct{ v atomic.Uint64 }

func (c *Counter) Inc()              { c.v.Add(1) }
func (c *Counter) Add(n uint64)      { c.v.Add(n) }
func (c *Counter) Value() uint64     { return c.v.Load() }
func (g *Gauge) Set(n int64)         { g.v.Store(n) }
func (g *Gauge) Add(n int64)         { g.v.Add(n) }
func (g *Gauge) Value() int64        { return g.v.Load() }
func (g *Gauge) Func(f func() int64) { g.fn = f }

// Read is the gauge's value as exported: computed when the gauge has a Func.
func (g *Gauge) Read() int64 {
	if g.fn != nil {
		return g.fn()
	}
	return g.v.Load()
}

// Gauge is a value that goes up and down, or is computed when read.
type Gauge struct {
	v  atomic.Int64
	fn func() int64
}

// Desc describes one metric for exporters.
type Desc struct {
	Name   string
	Help   string
	Kind   Kind
	Labels map[string]string
}

// Sample is a metric read at one moment.
type Sample struct {
	Desc
	Value float64
}

// Registry holds named counters and gauges; labelled variants are separate entries.
type Registry struct {
	mu       sync.RWMutex
	counters map[string]*counterEntry
	gauges   map[string]*gaugeEntry
}

type counterEntry struct {
	d  Desc
	c  *Counter
	fn func() uint64 // set for a counter computed when read (CounterFunc)
}

type gaugeEntry struct {
	d Desc
	g *Gauge
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{counters: map[string]*counterEntry{}, gauges: map[string]*gaugeEntry{}}
}

func key(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	ks := make([]string, 0, len(labels))
	for k := range labels {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	s := name
	for _, k := range ks {
		s += "|" + k + "=" + labels[k]
	}
	return s
}

// Counter returns the counter of name and labels, creating it on first use.
func (r *Registry) Counter(name, help string, labels map[string]string) *Counter {
	k := key(name, labels)
	r.mu.RLock()
	e := r.counters[k]
	r.mu.RUnlock()
	if e != nil {
		return e.c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e = r.counters[k]; e == nil {
		e = &counterEntry{d: Desc{Name: name, Help: help, Kind: CounterKind, Labels: labels}, c: &Counter{}}
		r.counters[k] = e
	}
	return e.c
}

// CounterFunc registers a counter whose value fn computes when read: a count kept
// elsewhere (the Go runtime, the OS, another counter) under a VerneMQ name. fn must only grow.
func (r *Registry) CounterFunc(name, help string, labels map[string]string, fn func() uint64) {
	k := key(name, labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counters[k] = &counterEntry{d: Desc{Name: name, Help: help, Kind: CounterKind, Labels: labels}, c: &Counter{}, fn: fn}
}

// Gauge returns the gauge of name and labels, creating it on first use.
func (r *Registry) Gauge(name, help string, labels map[string]string) *Gauge {
	k := key(name, labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.gauges[k]
	if e == nil {
		e = &gaugeEntry{d: Desc{Name: name, Help: help, Kind: GaugeKind, Labels: labels}, g: &Gauge{}}
		r.gauges[k] = e
	}
	return e.g
}

// ResetCounters sets every counter the node counts itself to zero (vmq-admin metrics
// reset, VerneMQ's vmq_metrics:reset_counters). Gauges keep their values: they describe
// live state (connections, sessions, memory). Counters computed when read (CounterFunc)
// are left alone: the system_* ones read the OS and Go runtime, which VerneMQ does not
// reset either, and the others follow the stored counters they are computed from.
// Each counter is zeroed with one atomic store, so an Inc at the same moment lands
// either before the reset (and is cleared) or after it (and counts); none is torn.
func (r *Registry) ResetCounters() {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.counters {
		if e.fn == nil {
			e.c.v.Store(0)
		}
	}
}

// Snapshot reads every metric, sorted by name then labels.
func (r *Registry) Snapshot() []Sample {
	r.mu.RLock()
	out := make([]Sample, 0, len(r.counters)+len(r.gauges))
	var funcs []*counterEntry
	for _, e := range r.counters {
		if e.fn != nil {
			funcs = append(funcs, e)
			continue
		}
		out = append(out, Sample{Desc: e.d, Value: float64(e.c.Value())})
	}
	gauges := make([]*gaugeEntry, 0, len(r.gauges))
	for _, e := range r.gauges {
		gauges = append(gauges, e)
	}
	r.mu.RUnlock()
	// Computed values are read outside the lock: they may take other locks or read /proc.
	for _, e := range funcs {
		out = append(out, Sample{Desc: e.d, Value: float64(e.fn())})
	}
	for _, e := range gauges {
		out = append(out, Sample{Desc: e.d, Value: float64(e.g.Read())})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return key("", out[i].Labels) < key("", out[j].Labels)
	})
	return out
}
