package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/metrics"
)

func metricsCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "metrics show",
		Help: "Print every metric as `counter.name = value`; --<label>=<value> keeps labelled samples that match",
		Long: "Samples of one metric with different labels are summed unless a label filter picks some of them.",
		Flags: []Param{
			{Name: "with-descriptions", Short: "d", Help: "print each metric's description above it"},
			{Name: "aggregate", Short: "a", Help: "sum the samples of each metric (the default)"},
			clusterFlags[0], clusterFlags[1],
		},
		AnyFlags: true,
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Metrics != nil, "metrics"); !ok {
				return res
			}
			return Text("%s", formatMetrics(b.Metrics.Snapshot(), req))
		}),
	})
	r.Register(Command{
		Path: "metrics reset",
		Help: "Set every counter of this node to zero (gauges keep their values)",
		Long: "As VerneMQ's metrics reset: the counters the broker, the cluster and the plugins count go to 0 and count on; " +
			"gauges (connections, sessions, subscriptions, retained messages, memory) describe live state and stay, and the " +
			"system_* counters read from the OS and the Go runtime are not reset. Prometheus sees a counter reset, which rate() " +
			"and increase() handle.",
		Flags: changeFlags("reset"),
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Metrics != nil, "metrics"); !ok {
				return res
			}
			return changeOn(ctx, b, req, func(*Request) Result {
				b.Metrics.ResetCounters()
				return Text("Done")
			})
		},
	})
}

// formatMetrics renders samples as VerneMQ's metrics show does.
func formatMetrics(samples []metrics.Sample, req *Request) string {
	filters := map[string]string{}
	for name, v := range req.Flags {
		if name != "with-descriptions" && name != "aggregate" {
			filters[name] = v
		}
	}
	_, withDesc := req.Flag("with-descriptions")
	type agg struct {
		kind  metrics.Kind
		help  string
		value float64
	}
	var order []string
	sums := map[string]*agg{}
	for _, s := range samples {
		if !labelsMatch(s.Labels, filters) {
			continue
		}
		a := sums[s.Name]
		if a == nil {
			a = &agg{kind: s.Kind, help: s.Help}
			sums[s.Name] = a
			order = append(order, s.Name)
		}
		a.value += s.Value
	}
	var sb strings.Builder
	for _, name := range order {
		a := sums[name]
		kind := "counter"
		if a.kind == metrics.GaugeKind {
			kind = "gauge"
		}
		if withDesc {
			fmt.Fprintf(&sb, "# %s\n", a.help)
		}
		fmt.Fprintf(&sb, "%s.%s = %s\n", kind, name, strconv.FormatFloat(a.value, 'f', -1, 64))
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// labelsMatch keeps a sample when every filter names one of its labels with that value.
func labelsMatch(labels, filters map[string]string) bool {
	for k, v := range filters {
		if labels[k] != v {
			return false
		}
	}
	return true
}
