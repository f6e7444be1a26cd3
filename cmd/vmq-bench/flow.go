package main

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// payloadSize is the message size of every scenario (the 64 bytes).
const payloadSize = 64

// flow is one publish/subscribe shape: fan-in, shared fan-in or fan-out.
type flow struct {
	pubs, subs int
	qos        byte
	filter     string             // subscription filter of every subscriber
	topic      func(i int) string // topic of publisher i
	fanout     bool               // every subscriber gets every message
}

// sink is one subscriber's tally for the current step; mu is uncontended (one reader goroutine).
type sink struct {
	mu   sync.Mutex
	n    int64
	h    hist
	step uint32
}

// rig is a connected flow: publishers, subscribers and their read loops.
type rig struct {
	f        flow
	t        target
	pubs     []*client
	subs     []*client
	sinks    []*sink
	inflight []atomic.Int32 // unacked QoS 1 publishes per publisher
	acked    chan struct{}  // nudges unpaced QoS 1 publishers when acks arrive
	wg       sync.WaitGroup
}

// connectMany dials n clean-session clients, par at a time, naming them prefix-<i>.
func connectMany(t target, prefix string, n, par int, timeout time.Duration) ([]*client, error) {
	return connectManyFn(n, par, func(i int) (*client, error) { return dial(t, fmt.Sprintf("%s-%d", prefix, i), timeout) })
}

func newRig(t target, f flow, tag string) (*rig, error) {
	r := &rig{f: f, t: t, inflight: make([]atomic.Int32, f.pubs), acked: make(chan struct{}, 1)}
	var err error
	if r.subs, err = connectMany(t, tag+"-sub", f.subs, 50, 10*time.Second); err != nil {
		return nil, err
	}
	for _, c := range r.subs {
		if err := c.subscribe(f.filter, f.qos, 10*time.Second); err != nil {
			closeAll(r.subs)
			return nil, err
		}
	}
	if r.pubs, err = connectMany(t, tag+"-pub", f.pubs, 50, 10*time.Second); err != nil {
		closeAll(r.subs)
		return nil, err
	}
	for _, c := range r.subs {
		s := &sink{}
		r.sinks = append(r.sinks, s)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			_ = c.readLoop(func(p packets.Packet) { s.take(p) })
		}()
	}
	for i, c := range r.pubs {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			_ = c.readLoop(func(p packets.Packet) {
				if a, ok := p.(*packets.Ack); ok && a.Kind == packets.PUBACK {
					r.inflight[i].Add(-1)
					select {
					case r.acked <- struct{}{}:
					default:
					}
				}
			})
		}()
	}
	return r, nil
}

// take counts a message of the current step and records its latency.
func (s *sink) take(p packets.Packet) {
	pub, ok := p.(*packets.Publish)
	if !ok || len(pub.Payload) < 12 {
		return
	}
	now := time.Now().UnixNano()
	sent := int64(binary.BigEndian.Uint64(pub.Payload))
	step := binary.BigEndian.Uint32(pub.Payload[8:])
	s.mu.Lock()
	if step == s.step {
		s.n++
		s.h.add(time.Duration(now - sent))
	}
	s.mu.Unlock()
}

// reset starts a new step: older messages still in flight are ignored.
func (r *rig) reset(step uint32) {
	for _, s := range r.sinks {
		s.mu.Lock()
		s.step, s.n, s.h = step, 0, hist{}
		s.mu.Unlock()
	}
}

// tally returns messages received in this step and their merged latency histogram.
func (r *rig) tally() (int64, *hist) {
	var n int64
	h := &hist{}
	for _, s := range r.sinks {
		s.mu.Lock()
		n += s.n
		h.merge(&s.h)
		s.mu.Unlock()
	}
	return n, h
}

func (r *rig) close() {
	closeAll(r.pubs)
	closeAll(r.subs)
	r.wg.Wait()
}

// drain waits until the received count stops growing (300 ms quiet) or max passes.
func (r *rig) drain(max time.Duration) {
	deadline := time.Now().Add(max)
	last, quietSince := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		n, _ := r.tally()
		if n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) > 300*time.Millisecond {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fill writes the timestamp and step header into a payload buffer.
func fill(p []byte, step uint32) {
	binary.BigEndian.PutUint64(p, uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint32(p[8:], step)
}

// window is how many QoS 1 publishes a publisher keeps unacked (below every peer's receive maximum).
const window = 500

// publish sends one message from publisher i; false when the QoS 1 window is full.
func (r *rig) publish(i int, pkt *packets.Publish, id *uint16, flush bool) (bool, error) {
	if r.f.qos > 0 {
		if r.inflight[i].Load() >= window {
			return false, nil
		}
		*id++
		if *id == 0 {
			*id = 1
		}
		pkt.PacketID = *id
		r.inflight[i].Add(1)
	}
	return true, r.pubs[i].send(pkt, flush)
}
