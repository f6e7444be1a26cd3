// Package bridge is vmq_bridge: each bridge is an MQTT client of a remote broker that
// forwards the out topics of this node there and publishes the in topics here.
//
// Locally the bridge is an ordinary MQTT 5 client of its own node over an in-process
// connection (Config.Dial); remotely it is paho.mqtt.golang (MQTT 3.1, 3.1.1, with the
// try_private bridge levels) or paho.golang (MQTT 5). Outgoing messages wait in a buffer
// (memory, or segment files with persistent_queue) until the remote broker acknowledged
// them, so a connection lost mid-batch loses nothing: the batch is sent again after the
// reconnect. While the remote is away the buffer holds max_outgoing_buffered_messages;
// beyond that messages are dropped and counted.
package bridge

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/metrics"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// Bridge is one running bridge.
type Bridge struct {
	cfg  Config
	log  *slog.Logger
	dial func(ctx context.Context) (net.Conn, error)
	out  store

	mu        sync.Mutex
	connected bool
	pending   []pendingMsg // local deliveries held unacknowledged while the buffer is full
	wake      chan struct{}
	local     atomic.Pointer[localClient]
	dropped   atomic.Uint64

	pubOut, pubIn [3]*metrics.Counter
	drops         *metrics.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type pendingMsg struct {
	m   Msg
	ack func()
}

// Info is one row of vmq-admin bridge show.
type Info struct {
	Name, Endpoint        string
	BufferSize, BufferMax int
	Dropped               uint64
	Pending               int // VerneMQ's "MQTT process mailbox len": deliveries waiting for buffer space
	Connected             bool
}

// New opens the bridge's buffer (queue_dir when persistent) and registers its metrics
// under VerneMQ's names: <name>_vmq_bridge_publish_{out,in}_{0,1,2} and
// vmq_bridge_dropped_msgs{bridge="<name>"}. dial connects to this node.
func New(cfg Config, dial func(ctx context.Context) (net.Conn, error), reg *metrics.Registry, log *slog.Logger) (*Bridge, error) {
	b := &Bridge{cfg: cfg, dial: dial, log: log.With("bridge", cfg.Name, "endpoint", cfg.Addr), wake: make(chan struct{}, 1)}
	if cfg.Persistent {
		s, err := openDiskStore(cfg.QueueDir, cfg.SegmentSize)
		if err != nil {
			return nil, fmt.Errorf("bridge %s: %w", cfg.Name, err)
		}
		b.out = s
	} else {
		b.out = &memStore{}
	}
	for q := range 3 {
		b.pubOut[q] = reg.Counter(fmt.Sprintf("%s_vmq_bridge_publish_out_%d", cfg.Name, q),
			fmt.Sprintf("The number of QoS %d messages the bridge has (re)-published.", q), nil)
		b.pubIn[q] = reg.Counter(fmt.Sprintf("%s_vmq_bridge_publish_in_%d", cfg.Name, q),
			fmt.Sprintf("The number of QoS %d messages the bridge has consumed.", q), nil)
	}
	b.drops = reg.Counter("vmq_bridge_dropped_msgs", "The number of dropped messages (queue full).",
		map[string]string{"bridge": cfg.Name})
	return b, nil
}

// Start runs the local and the remote connection until Close.
func (b *Bridge) Start(ctx context.Context) {
	ctx, b.cancel = context.WithCancel(ctx)
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.runLocal(ctx) }()
	go func() { defer b.wg.Done(); b.runRemote(ctx) }()
}

// Close stops both connections and closes the buffer (a persistent one keeps its content).
func (b *Bridge) Close() error {
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	return b.out.Close()
}

// Info reports the buffer for vmq-admin bridge show.
func (b *Bridge) Info() Info {
	b.mu.Lock()
	pending, connected := len(b.pending), b.connected
	b.mu.Unlock()
	return Info{Name: b.cfg.Name, Endpoint: b.cfg.Addr, BufferSize: b.out.Len(), BufferMax: b.cfg.MaxBuffered,
		Dropped: b.dropped.Load(), Pending: pending, Connected: connected}
}

// limit is how many messages the buffer takes: max_outgoing_buffered_messages while the
// remote is away; while connected at least two batches, so 0 (no buffering) still flows.
func (b *Bridge) limit() int {
	if b.connected {
		return max(b.cfg.MaxBuffered, 2*b.cfg.BatchSize)
	}
	return b.cfg.MaxBuffered
}

// --- local side ---

func (b *Bridge) runLocal(ctx context.Context) {
	var subs []paho.SubscribeOptions
	for _, t := range b.cfg.Topics {
		if t.Direction != "in" {
			subs = append(subs, paho.SubscribeOptions{Topic: t.LocalPrefix + t.Pattern, QoS: t.QoS, NoLocal: true, RetainAsPublished: true})
		}
	}
	delay := 50 * time.Millisecond
	for ctx.Err() == nil {
		nc, err := b.dial(ctx)
		var lc *localClient
		if err == nil {
			lc, err = connectLocal(ctx, nc, "vmq_bridge."+b.cfg.Name, subs, b.fromLocal)
		}
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("bridge can't connect to its own node; retrying", "error", err, "retry_in", delay)
			}
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, 5*time.Second)
			continue
		}
		delay = 50 * time.Millisecond
		b.local.Store(lc)
		select {
		case <-lc.done():
			b.local.Store(nil)
			b.log.Warn("bridge lost its connection to its own node; reconnecting")
		case <-ctx.Done():
			b.local.Store(nil)
			lc.close()
			return
		}
	}
}

// fromLocal takes a delivery of an out topic into the buffer. It never blocks (a blocked
// local reader would stall the acknowledgements of the in direction): a full buffer
// holds QoS 1/2 deliveries unacknowledged, which stops the node sending more, while
// connected, and drops what does not fit while the remote is away.
func (b *Bridge) fromLocal(pr paho.PublishReceived) {
	p := pr.Packet
	ack := func() {
		if p.QoS > 0 {
			pr.Client.Ack(p)
		}
	}
	t, ok := b.match(p.Topic, "out")
	if !ok {
		ack()
		return
	}
	// Copies of topic and payload: the packet's own read buffer is several times larger, and a
	// buffered message would keep all of it (760 B per 64-byte message before, about 180 after).
	m := Msg{Topic: strings.Clone(t.RemotePrefix + strings.TrimPrefix(p.Topic, t.LocalPrefix)), Payload: bytes.Clone(p.Payload), QoS: t.QoS, Retain: t.Retain && p.Retain}
	var acks []func()
	b.mu.Lock()
	switch {
	case len(b.pending) == 0 && b.out.Len() < b.limit():
		if err := b.out.Push(m); err != nil {
			b.log.Error("bridge buffer write failed; message dropped", "error", err)
			b.drop()
		}
		acks = append(acks, ack)
	case b.connected && p.QoS > 0 && len(b.pending) < localRecvMax:
		b.pending = append(b.pending, pendingMsg{m: m, ack: ack})
	default:
		b.drop()
		acks = append(acks, ack)
	}
	b.mu.Unlock()
	for _, a := range acks {
		a()
	}
	b.signal()
}

func (b *Bridge) drop() {
	b.dropped.Add(1)
	b.drops.Inc()
}

func (b *Bridge) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// admitPending moves held deliveries into the buffer as far as it has room, dropping the
// rest when the remote is away; their acknowledgements go out after the lock.
func (b *Bridge) admitPending() {
	var acks []func()
	b.mu.Lock()
	for len(b.pending) > 0 {
		pm := b.pending[0]
		if b.out.Len() < b.limit() {
			if err := b.out.Push(pm.m); err != nil {
				b.log.Error("bridge buffer write failed; message dropped", "error", err)
				b.drop()
			}
		} else if b.connected {
			break
		} else {
			b.drop()
		}
		acks = append(acks, pm.ack)
		b.pending = b.pending[1:]
	}
	b.mu.Unlock()
	for _, a := range acks {
		a()
	}
}

// match finds the first topic of direction dir (or both) whose filter matches topic: the
// local filter for out, the remote one for in.
func (b *Bridge) match(topic, dir string) (config.BridgeTopic, bool) {
	for _, t := range b.cfg.Topics {
		if t.Direction != dir && t.Direction != "both" {
			continue
		}
		f := t.LocalPrefix + t.Pattern
		if dir == "in" {
			f = t.RemotePrefix + t.Pattern
		}
		if topics.Match(f, topic) {
			return t, true
		}
	}
	return config.BridgeTopic{}, false
}

// fromRemote publishes a message of an in topic on this node and acknowledges it to the
// remote broker after this node acknowledged it.
func (b *Bridge) fromRemote(ctx context.Context, m Msg, ack func()) {
	t, ok := b.match(m.Topic, "in")
	if !ok {
		ack()
		return
	}
	b.pubIn[min(m.QoS, 2)].Inc()
	lm := Msg{Topic: t.LocalPrefix + strings.TrimPrefix(m.Topic, t.RemotePrefix), Payload: m.Payload, QoS: m.QoS, Retain: t.Retain && m.Retain}
	for ctx.Err() == nil {
		if lc := b.local.Load(); lc != nil {
			err := lc.publish(ctx, lm)
			if err == nil {
				ack()
				return
			}
			b.log.Warn("bridge can't publish locally; retrying", "topic", lm.Topic, "error", err)
		}
		// The local connection is being re-established (rare: it is in-process).
		if !sleep(ctx, 50*time.Millisecond) {
			return
		}
	}
}

// --- remote side ---

func (b *Bridge) runRemote(ctx context.Context) {
	var subs []remoteSub
	for _, t := range b.cfg.Topics {
		if t.Direction != "out" {
			subs = append(subs, remoteSub{filter: t.RemotePrefix + t.Pattern, qos: t.QoS})
		}
	}
	in := func(m Msg, ack func()) { b.fromRemote(ctx, m, ack) }
	delay := b.cfg.RestartTimeout
	for ctx.Err() == nil {
		r, err := connectRemote(ctx, &b.cfg, in)
		if err == nil {
			if err = r.subscribe(ctx, subs); err != nil {
				r.close()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Warn("bridge can't connect to the remote broker", "error", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, 8*b.cfg.RestartTimeout)
			continue
		}
		delay = b.cfg.RestartTimeout
		b.log.Info("bridge connected", "client_id", b.cfg.ClientID, "mqtt_version", b.cfg.MQTTVersion, "buffered", b.out.Len())
		b.setConnected(true)
		err = b.sendLoop(ctx, r)
		b.setConnected(false)
		r.close()
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("bridge disconnected; buffering", "error", err, "buffered", b.out.Len(), "retry_in", delay)
		if !sleep(ctx, delay) {
			return
		}
	}
}

func (b *Bridge) setConnected(c bool) {
	b.mu.Lock()
	b.connected = c
	b.mu.Unlock()
	b.admitPending() // held deliveries go in, or are dropped once the remote is away
}

// sendLoop sends the buffer in batches of outgoing_batch_size until the connection fails.
func (b *Bridge) sendLoop(ctx context.Context, r remote) error {
	for {
		batch, err := b.out.Peek(b.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("reading the buffer: %w", err)
		}
		if len(batch) == 0 {
			select {
			case <-b.wake:
				continue
			case <-r.lost():
				return errLost
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		refused, err := r.send(ctx, batch)
		if err != nil {
			return err
		}
		if refused > 0 {
			b.log.Warn("remote broker refused messages; dropped", "count", refused)
			for range refused {
				b.drop()
			}
		}
		for _, m := range batch {
			b.pubOut[min(m.QoS, 2)].Inc()
		}
		if err := b.out.Pop(len(batch)); err != nil {
			return fmt.Errorf("bridge buffer: %w", err)
		}
		b.admitPending()
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
