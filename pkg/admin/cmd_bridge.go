package admin

import (
	"context"
	"strconv"
)

// BridgeInfo is one row of bridge show.
type BridgeInfo struct {
	Name       string
	Endpoint   string // host:port
	BufferSize int
	BufferMax  int
	Dropped    uint64
	Mailbox    int // deliveries held while the buffer is full (VerneMQ: the MQTT process mailbox)
}

const bridgesOff = "vmq_bridge is not enabled on this node: set plugins.vmq_bridge = on and vmq_bridge.tcp.<name> = host:port " +
	"(or vmq_bridge.ssl.<name>) in vernemq.conf and restart the node"

func bridgeCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path: "bridge show",
		Help: "Show the bridges: name, endpoint, buffer size, buffer max, buffer dropped msgs, MQTT process mailbox len",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.Bridges != nil, "bridges"); !ok {
				return res
			}
			infos, on := b.Bridges()
			if !on {
				return Errorf("%s", bridgesOff)
			}
			var rows [][]string
			for _, i := range infos {
				rows = append(rows, []string{i.Name, i.Endpoint, strconv.Itoa(i.BufferSize), strconv.Itoa(i.BufferMax),
					strconv.FormatUint(i.Dropped, 10), strconv.Itoa(i.Mailbox)})
			}
			return Table([]string{"name", "endpoint", "buffer size", "buffer max", "buffer dropped msgs", "MQTT process mailbox len"}, rows)
		},
	})
	r.Register(Command{
		Path: "bridge start",
		Help: "Start the VerneMQ bridges: stop every bridge and start the configured ones again (VerneMQ's bridge start)",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.BridgeStart != nil, "bridges"); !ok {
				return res
			}
			on, err := b.BridgeStart()
			if !on {
				return Errorf("%s", bridgesOff)
			}
			if err != nil {
				return Errorf("bridge start: %v", err)
			}
			return Text("VerneMQ Bridges restarted.")
		},
	})
}
