package admin

import (
	"context"
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

// PublishOnce publishes each metric once, as VerneMQ's $SYS tree does: one topic per
// name, mqtt_publish_received → $SYS/<node>/mqtt/publish/received, the payload the decimal
// sum over its labels (mqtt_version, reason_code...), which never become topic levels.
func (t *SysTree) PublishOnce() int {
	mp := t.Cfg.String("systree_mountpoint")
	qos := byte(t.Cfg.Int("systree_qos"))
	retain := t.Cfg.Bool("systree_retain")
	n := 0
	samples := t.Reg.Snapshot() // sorted by name: a name's samples are adjacent
	for i := 0; i < len(samples); {
		name, sum := samples[i].Name, 0.0
		for ; i < len(samples) && samples[i].Name == name; i++ {
			sum += samples[i].Value
		}
		t.Broker.Publish(&session.Message{
			Mountpoint: mp,
			Topic:      SysTopic(t.Node, name),
			Payload:    []byte(strconv.FormatFloat(sum, 'f', -1, 64)),
			QoS:        qos,
			Retain:     retain,
		})
		n++
	}
	return n
}

// SysTopic is the $SYS topic of a metric name.
func SysTopic(node, name string) string {
	return "$SYS/" + node + "/" + strings.ReplaceAll(name, "_", "/")
}
