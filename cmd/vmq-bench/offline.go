package main

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// persistentConnect is a 3.1.1 CONNECT with clean_session=false, so the broker keeps the
// session, its subscriptions and its QoS 1 queue while the client is away.
func persistentConnect(t target, id string) *packets.Connect {
	return &packets.Connect{ProtocolName: "MQTT", ProtocolLevel: t.Version, CleanStart: false, KeepAlive: keepAlive, ClientID: id}
}

// connectManyFn dials n clients par at a time with mk; the first failure stops it.
func connectManyFn(n, par int, mk func(i int) (*client, error)) ([]*client, error) {
	cs := make([]*client, n)
	done, err := forEach(n, par, time.Time{}, "", func(i int) error {
		c, err := mk(i)
		cs[i] = c
		return err
	})
	if err != nil {
		closeAll(cs)
		return nil, fmt.Errorf("%d of %d connections made, then: %w", done, n, err)
	}
	return cs, nil
}

// parkSessions creates n persistent sessions prefix-<i> subscribed at QoS 1 to topic(i), then
// disconnects them: from then on the broker queues their messages offline.
func parkSessions(t target, prefix string, n int, topic func(int) string) error {
	cs, err := connectManyFn(n, 50, func(i int) (*client, error) {
		c, err := dialConnect(t, persistentConnect(t, prefix+"-"+strconv.Itoa(i)), 10*time.Second)
		if err != nil {
			return nil, err
		}
		if err := c.subscribe(topic(i), 1, 10*time.Second); err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	closeAll(cs)
	return nil
}

// ackCounter is a set of QoS 1 publishers whose PUBACKs are counted.
type ackCounter struct {
	pubs     []*client
	inflight []atomic.Int32
	acked    atomic.Int64
	nudge    chan struct{}
	wg       sync.WaitGroup
}

// newAckCounter takes over connected clients cs as publishers and starts their read loops.
func newAckCounter(cs []*client) *ackCounter {
	a := &ackCounter{pubs: cs, inflight: make([]atomic.Int32, len(cs)), nudge: make(chan struct{}, 1)}
	for i, c := range a.pubs {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_ = c.readLoop(func(p packets.Packet) {
				if ack, ok := p.(*packets.Ack); ok && ack.Kind == packets.PUBACK {
					a.inflight[i].Add(-1)
					a.acked.Add(1)
					select {
					case a.nudge <- struct{}{}:
					default:
					}
				}
			})
		}()
	}
	return a
}

func (a *ackCounter) close() {
	closeAll(a.pubs)
	a.wg.Wait()
}

// blast has publisher i send QoS 1 messages to topics(i, k) (k counts its messages) with at most
// window unacked, until end or until limit messages were sent (limit 0: no limit). It returns
// how many it sent.
func (a *ackCounter) blast(i int, end time.Time, limit int64, topic func(i int, k int64) string) int64 {
	payload := make([]byte, payloadSize)
	pkt := &packets.Publish{QoS: 1, Payload: payload}
	c := a.pubs[i]
	_ = c.conn.SetWriteDeadline(end.Add(time.Second))
	var id uint16
	var n int64
	for time.Now().Before(end) && (limit == 0 || n < limit) {
		for range 32 {
			if a.inflight[i].Load() >= window || (limit > 0 && n >= limit) {
				break
			}
			fill(payload, 1)
			id++
			if id == 0 {
				id = 1
			}
			pkt.PacketID, pkt.Topic = id, topic(i, n)
			a.inflight[i].Add(1)
			if err := c.send(pkt, false); err != nil {
				return n
			}
			n++
		}
		if err := c.flush(); err != nil {
			return n
		}
		if a.inflight[i].Load() >= window {
			select { // window full: wait for an ack instead of spinning
			case <-a.nudge:
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return n
}

// offlineResult is what scenario 8 measured.
type offlineResult struct {
	Acked, Sent  int64
	Rate         float64 // acknowledged msg/s over the window
	PeakRSSKiB   int64
	BrokerCores  float64
	GenCores     float64
	SetupSeconds float64 // parking the sessions
	Session0     int     // messages session 0 got back on reconnect (proof they were queued)
}

// offlineEnqueue parks subs persistent sessions on offline/<i>, then pubs unpaced QoS 1 publishers
// spread their messages over those topics for dur; every PUBACK means one message stored for an
// offline session (on this broker: committed to the store first).
func offlineEnqueue(t target, tag string, subs, pubs int, dur time.Duration, pid int) (offlineResult, error) {
	var res offlineResult
	start := time.Now()
	topic := func(i int) string { return "offline/" + strconv.Itoa(i) }
	if err := parkSessions(t, tag+"-osub", subs, topic); err != nil {
		return res, fmt.Errorf("park %d persistent sessions: %w", subs, err)
	}
	res.SetupSeconds = time.Since(start).Seconds()
	topics := make([]string, subs)
	for i := range topics {
		topics[i] = topic(i)
	}
	cs, err := connectMany(t, tag+"-opub", pubs, 50, 10*time.Second)
	if err != nil {
		return res, err
	}
	a := newAckCounter(cs)
	defer a.close()
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
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
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Publisher i walks the topics with stride pubs, so all sessions fill evenly.
			sent.Add(a.blast(i, end, 0, func(i int, k int64) string { return topics[(i+int(k)*pubs)%subs] }))
		}()
	}
	wg.Wait()
	res.Acked = a.acked.Load() // acks of the window only: later ones are not counted
	res.BrokerCores, res.GenCores, _ = m.stop()
	close(stop)
	res.Sent = sent.Load()
	res.Rate = float64(res.Acked) / dur.Seconds()
	res.PeakRSSKiB = max(peak.Load(), rssKiB(pid))
	// Session 0 should hold about acked/subs messages: read them back (bounded) as a check.
	want := int(res.Acked/int64(subs)) + pubs
	if n, _, _, err := drainSession(t, tag+"-osub-0", want, time.Now().Add(15*time.Second)); err == nil {
		res.Session0 = n
	}
	return res, nil
}
