package cluster

import "github.com/vernemq-go/vernemq/pkg/metrics"

// linkGauge is cluster_link_up{peer=node}: 1 while the data link to node is connected, else 0.
func (c *Cluster) linkGauge(node string) *metrics.Gauge {
	return c.o.Registry.Gauge("cluster_link_up", "1 while the outgoing data link to the peer node is connected, else 0.",
		map[string]string{"peer": node})
}
