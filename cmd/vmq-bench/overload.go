package main

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// overloadResult is what unpaced publishers achieved in the window.
type overloadResult struct {
	Sent, Received int64
	SentRate       float64
	Delivered      float64 // msg/s received within the window
	Dropped        int64   // broker-counted drops from $SYS; -1 when the broker publishes none
	PeakRSSKiB     int64
	BrokerCores    float64
	GenCores       float64
}

// dropWatch follows $SYS counters whose topic mentions "drop" (Mosquitto, mochi publish them every second).
type dropWatch struct {
	c     *client
	mu    sync.Mutex
	first map[string]int64
	last  map[string]int64
}

func watchDrops(t target) *dropWatch {
	c, err := dial(t, "bench-sys", 5*time.Second)
	if err != nil {
		return nil
	}
	if err := c.subscribe("$SYS/#", 0, 5*time.Second); err != nil {
		c.close()
		return nil
	}
	w := &dropWatch{c: c, first: map[string]int64{}, last: map[string]int64{}}
	go func() {
		_ = c.readLoop(func(p packets.Packet) {
			pub, ok := p.(*packets.Publish)
			if !ok || !strings.Contains(pub.Topic, "drop") {
				return
			}
			v, err := strconv.ParseInt(strings.TrimSpace(string(pub.Payload)), 10, 64)
			if err != nil {
				return
			}
			w.mu.Lock()
			if _, seen := w.first[pub.Topic]; !seen {
				w.first[pub.Topic] = v
			}
			w.last[pub.Topic] = v
			w.mu.Unlock()
		})
	}()
	return w
}

// mark restarts the baseline at the current values.
func (w *dropWatch) mark() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, v := range w.last {
		w.first[k] = v
	}
}

// total is the largest growth of any drop counter since mark, -1 when none was seen.
func (w *dropWatch) total() int64 {
	if w == nil {
		return -1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.last) == 0 {
		return -1
	}
	var best int64
	for k, v := range w.last {
		best = max(best, v-w.first[k])
	}
	return best
}

// overload runs unpaced publishers for dur and measures delivery, drops and peak memory.
func overload(t target, f flow, tag string, dur time.Duration, pid int) (overloadResult, error) {
	drops := watchDrops(t)
	if drops != nil {
		defer drops.c.close()
		// $SYS publishes once a second: wait for a first value so the baseline is real.
		for deadline := time.Now().Add(2500 * time.Millisecond); time.Now().Before(deadline) && drops.total() < 0; {
			time.Sleep(100 * time.Millisecond)
		}
		drops.mark()
	}
	r, err := newRig(t, f, tag)
	if err != nil {
		return overloadResult{}, err
	}
	r.reset(1)
	var res overloadResult
	var sent atomic.Int64
	stop := make(chan struct{})
	var peak atomic.Int64
	go func() { // poll memory: peak RSS over the window
		for {
			peak.Store(max(peak.Load(), rssKiB(pid)))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	m := startCPU(pid)
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := range r.pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent.Add(r.blast(i, end))
		}()
	}
	wg.Wait()
	res.Received, _ = r.tally()
	res.BrokerCores, res.GenCores, _ = m.stop()
	close(stop)
	res.Sent = sent.Load()
	res.SentRate = float64(res.Sent) / dur.Seconds()
	res.Delivered = float64(res.Received) / dur.Seconds()
	res.PeakRSSKiB = max(peak.Load(), rssKiB(pid))
	// Drops are counted once the broker has given up on them: let $SYS catch up.
	r.drain(3 * time.Second)
	if drops != nil {
		time.Sleep(1100 * time.Millisecond) // one $SYS interval, so the last counter covers the window
	}
	res.Dropped = drops.total()
	r.close()
	return res, nil
}

// blast publishes as fast as the socket (and for QoS 1 the ack window) allows until end.
func (r *rig) blast(i int, end time.Time) int64 {
	payload := make([]byte, payloadSize)
	pkt := &packets.Publish{QoS: r.f.qos, Topic: r.f.topic(i), Payload: payload}
	c := r.pubs[i]
	_ = c.conn.SetWriteDeadline(end.Add(500 * time.Millisecond))
	var id uint16
	var n int64
	for time.Now().Before(end) {
		for range 32 {
			fill(payload, 1)
			ok, err := r.publish(i, pkt, &id, false)
			if err != nil {
				return n
			}
			if !ok {
				break
			}
			n++
		}
		if err := c.flush(); err != nil {
			return n
		}
		if r.f.qos > 0 && r.inflight[i].Load() >= window {
			select { // window full: wait for an ack instead of spinning
			case <-r.acked:
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return n
}
