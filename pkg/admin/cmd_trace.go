package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

func traceCommands(r *Registry, b *Backend) {
	traces := &traceSet{}
	r.Register(Command{
		Path: "trace client",
		Help: "Print the MQTT packets of one client live (Ctrl-C stops)",
		Args: []Param{{Name: "client-id", Required: true, Help: "client id to trace"}},
		Flags: []Param{
			{Name: "mountpoint", Value: "MP", Help: "mountpoint of the client (default none)"},
			{Name: "rate-max", Value: "N", Default: "10", Help: "print at most N packets per rate interval"},
			{Name: "rate-interval", Value: "MS", Default: "100", Help: "rate interval in milliseconds"},
			{Name: "trunc-payload", Value: "N", Default: "200", Help: "print at most N payload bytes"},
			{Name: "trace-timeout", Value: "S", Default: "0", Help: "stop after S seconds; 0 runs until interrupted (over HTTP: 10)"},
		},
		Streaming: true,
		Run:       func(ctx context.Context, req *Request) Result { return traceClient(ctx, b, req, traces.running()) },
	})
	r.Register(Command{
		Path: "trace stop_all",
		Help: "Stop every running trace client of this node",
		Run: func(ctx context.Context, req *Request) Result {
			traces.stopAll()
			return Text("Done")
		},
	})
}

// traceSet lets trace stop_all end the traces started before it.
type traceSet struct {
	mu   sync.Mutex
	stop chan struct{} // closed by stopAll; the traces running now wait on it
}

func (t *traceSet) running() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop == nil {
		t.stop = make(chan struct{})
	}
	return t.stop
}

func (t *traceSet) stopAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		close(t.stop)
		t.stop = nil // traces started from now on get a new channel
	}
}

type traceEvent struct {
	at  time.Time
	dir string
	p   packets.Packet
}

func intFlag(req *Request, name string, def int) (int, error) {
	v, ok := req.Flag(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--%s=%q is not a number >= 0", name, v)
	}
	return n, nil
}

func traceClient(ctx context.Context, b *Backend, req *Request, stopped <-chan struct{}) Result {
	if res, ok := ready(b.Trace != nil, "tracing"); !ok {
		return res
	}
	var vals [4]int
	for i, f := range []struct {
		name string
		def  int
	}{{"rate-max", 10}, {"rate-interval", 100}, {"trunc-payload", 200}, {"trace-timeout", 0}} {
		n, err := intFlag(req, f.name, f.def)
		if err != nil {
			return Errorf("%v", err)
		}
		vals[i] = n
	}
	rateMax, interval, trunc, timeout := vals[0], time.Duration(max(vals[1], 1))*time.Millisecond, vals[2], vals[3]
	mp, _ := req.Flag("mountpoint")
	cid := req.Args["client-id"]

	events := make(chan traceEvent, 1024)
	var overflow atomic.Int64
	stop := b.Trace(mp, cid, func(dir string, p packets.Packet) {
		select {
		case events <- traceEvent{time.Now(), dir, p}:
		default:
			overflow.Add(1) // never block the client's connection
		}
	})
	defer stop()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	req.Out(fmt.Sprintf("Starting trace for client %q (at most %d packets per %s); new connections of it are traced too", cid, rateMax, interval))
	windowStart, inWindow, dropped := time.Now(), 0, 0
	for {
		select {
		case <-ctx.Done():
			return Text("Trace stopped")
		case <-stopped:
			return Text("Trace stopped (trace stop_all)")
		case <-deadline:
			return Text("Trace stopped after %ds", timeout)
		case ev := <-events:
			if ev.at.Sub(windowStart) >= interval {
				if dropped > 0 {
					req.Out(fmt.Sprintf("%d packets not shown (rate limit --rate-max=%d)", dropped, rateMax))
				}
				windowStart, inWindow, dropped = ev.at, 0, 0
			}
			if inWindow >= rateMax {
				dropped++
				continue
			}
			inWindow++
			req.Out(formatTrace(ev, cid, trunc))
			if n := overflow.Swap(0); n > 0 {
				req.Out(fmt.Sprintf("%d packets not shown (trace buffer full)", n))
			}
		}
	}
}

// formatTrace prints one packet in the style of VerneMQ's tracer.
func formatTrace(ev traceEvent, cid string, trunc int) string {
	verb := "RECV"
	if ev.dir == "out" {
		verb = "SEND"
	}
	return fmt.Sprintf("%s MQTT %s: CID: %q %s", ev.at.Format("15:04:05.000"), verb, cid, describePacket(ev.p, trunc))
}

func describePacket(p packets.Packet, trunc int) string {
	switch p := p.(type) {
	case *packets.Publish:
		payload := p.Payload
		suffix := ""
		if len(payload) > trunc {
			payload, suffix = payload[:trunc], "..."
		}
		return fmt.Sprintf("PUBLISH(d%d, q%d, r%d, m%d, %q) with payload:\n    %q%s",
			b2i(p.Dup), p.QoS, b2i(p.Retain), p.PacketID, p.Topic, payload, suffix)
	case *packets.Subscribe:
		var fs []string
		for _, s := range p.Subscriptions {
			fs = append(fs, fmt.Sprintf("q:%d, t: %q", s.Options.QoS, s.Filter))
		}
		return fmt.Sprintf("SUBSCRIBE(m%d) with topics:\n    %s", p.PacketID, strings.Join(fs, "\n    "))
	case *packets.Suback:
		return fmt.Sprintf("SUBACK(m%d, codes %v)", p.PacketID, p.ReasonCodes)
	case *packets.Unsubscribe:
		return fmt.Sprintf("UNSUBSCRIBE(m%d) with topics: %q", p.PacketID, p.Filters)
	case *packets.Ack:
		return fmt.Sprintf("%s(m%d)", p.Kind, p.PacketID)
	case *packets.Connack:
		return fmt.Sprintf("CONNACK(sp: %d, rc: %d)", b2i(p.SessionPresent), p.ReasonCode)
	case nil:
		return "?"
	}
	return p.Type().String() + "()"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
