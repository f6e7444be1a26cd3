package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/session"
)

// SysTree publishes every metric under $SYS/<nodename>/ each systree_interval.
type SysTree struct {
	Cfg    *config.Config
	Broker *broker.Broker
	Reg    *metrics.Registry
	Node   string
	wake   chan struct{}
}

// NewSysTree returns a publisher; Run starts it.
func NewSysTree(cfg *config.Config, b *broker.Broker, reg *metrics.Registry, node string) *SysTree {
	return &SysTree{Cfg: cfg, Broker: b, Reg: reg, Node: node, wake: make(chan struct{}, 1)}
}

// Poke makes Run re-read systree_enabled and systree_interval now (after vmq-admin set).
func (t *SysTree) Poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends; systree_enabled = off or systree_interval = 0 pause it.
func (t *SysTree) Run(ctx context.Context) {
	for {
		d := t.Cfg.Duration("systree_interval")
		var tick <-chan time.Time
		var timer *time.Timer
		if t.Cfg.Bool("systree_enabled") && d > 0 {
			timer = time.NewTimer(d)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-t.wake:
			if timer != nil {
				timer.Stop()
			}
		case <-tick:
			t.PublishOnce()
		}
	}
}

// PublishOnce publishes each metric once: mqtt_publish_received → $SYS/<node>/mqtt/publish/received,
// label values appended as further levels; the payload is the decimal value.
func (t *SysTree) PublishOnce() int {
	mp := t.Cfg.String("systree_mountpoint")
	qos := byte(t.Cfg.Int("systree_qos"))
	retain := t.Cfg.Bool("systree_retain")
	n := 0
	for _, s := range t.Reg.Snapshot() {
		t.Broker.Publish(&session.Message{
			Mountpoint: mp,
			Topic:      SysTopic(t.Node, s),
			Payload:    []byte(strconv.FormatFloat(s.Value, 'f', -1, 64)),
			QoS:        qos,
			Retain:     retain,
		})
		n++
	}
	return n
}

// SysTopic is the $SYS topic of one sample.
func SysTopic(node string, s metrics.Sample) string {
	topic := "$SYS/" + node + "/" + strings.ReplaceAll(s.Name, "_", "/")
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		topic += "/" + s.Labels[k]
	}
	return topic
}
