package admin

import (
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vernemq-go/vernemq/pkg/metrics"
)

// PromCollector exposes a metrics.Registry to Prometheus as <namespace><name>{node="...",labels...}.
type PromCollector struct {
	Reg       *metrics.Registry
	Namespace string // prometheus_namespace, "vernemq_" by default
	Node      string
}

// Describe sends nothing: the collector is unchecked because labelled metrics appear at first use.
func (c PromCollector) Describe(chan<- *prometheus.Desc) {}

// Collect reads one snapshot of the registry.
func (c PromCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.Reg.Snapshot() {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			if k != "node" { // the node label is ours
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		vals := make([]string, len(keys))
		for i, k := range keys {
			vals[i] = s.Labels[k]
		}
		desc := prometheus.NewDesc(c.Namespace+s.Name, s.Help, keys, prometheus.Labels{"node": c.Node})
		vt := prometheus.CounterValue
		if s.Kind == metrics.GaugeKind {
			vt = prometheus.GaugeValue
		}
		m, err := prometheus.NewConstMetric(desc, vt, s.Value, vals...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- m
	}
}

// PrometheusHandler serves GET /metrics: the node's metrics plus Go runtime and process collectors.
func PrometheusHandler(c PromCollector) http.Handler {
	pr := prometheus.NewRegistry()
	pr.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(pr, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
