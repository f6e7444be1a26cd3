package node

import (
	"context"
	"fmt"
	"net"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/bridge"
	"github.com/vernemq-go/vernemq/pkg/conn"
)

// bridgesOn reports whether plugins.vmq_bridge is on.
func (n *Node) bridgesOn() bool {
	for _, p := range n.Cfg.Plugins() {
		if p.Name == "vmq_bridge" {
			return true
		}
	}
	return false
}

// startBridges starts every vmq_bridge.tcp/ssl.<name> when plugins.vmq_bridge is on. Each
// bridge reaches this node over an in-process connection served like a listener's.
func (n *Node) startBridges(ctx context.Context) error {
	if !n.bridgesOn() {
		return nil
	}
	n.mu.Lock()
	n.bridgeCtx = ctx
	n.mu.Unlock()
	cfgs, err := bridge.FromConfig(n.Cfg)
	if err != nil {
		return err
	}
	if len(cfgs) == 0 {
		n.Log.Warn("vmq_bridge is on but no vmq_bridge.tcp.<name> or vmq_bridge.ssl.<name> is configured")
	}
	for _, c := range cfgs {
		peer := conn.Peer{Listener: bridge.LocalListener, Type: "bridge", Mountpoint: c.Mountpoint}
		dial := func(dctx context.Context) (net.Conn, error) {
			client, server := net.Pipe()
			p := peer
			p.Addr = server.LocalAddr()
			go n.Server.Serve(ctx, server, p)
			return client, nil
		}
		b, err := bridge.New(c, dial, n.Reg, n.Log)
		if err != nil {
			n.stopBridges()
			return err
		}
		b.Start(ctx)
		n.mu.Lock()
		n.bridges = append(n.bridges, b)
		n.mu.Unlock()
		n.Log.Info("bridge started", "bridge", c.Name, "endpoint", c.Addr, "type", c.Type, "topics", len(c.Topics))
	}
	return nil
}

// stopBridges stops the bridges first on the way down, so their buffers close cleanly.
func (n *Node) stopBridges() {
	n.mu.Lock()
	bs := n.bridges
	n.bridges = nil
	n.mu.Unlock()
	for _, b := range bs {
		if err := b.Close(); err != nil {
			n.Log.Warn("bridge did not close cleanly", "error", err)
		}
	}
}

// RestartBridges is vmq-admin bridge start: every bridge is stopped (its buffer closed
// cleanly, a persistent queue kept on disk) and the configured ones start again, as
// VerneMQ's vmq_bridge_sup:change_config does with the plugin's configuration.
func (n *Node) RestartBridges() error {
	n.bridgeMu.Lock()
	defer n.bridgeMu.Unlock()
	n.mu.Lock()
	ctx := n.bridgeCtx
	n.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return fmt.Errorf("the node is not running")
	}
	n.stopBridges()
	return n.startBridges(ctx)
}

// Bridges lists the running bridges (vmq-admin bridge show).
func (n *Node) Bridges() []bridge.Info {
	n.mu.Lock()
	bs := append([]*bridge.Bridge(nil), n.bridges...)
	n.mu.Unlock()
	out := make([]bridge.Info, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.Info())
	}
	return out
}

func (n *Node) wireBridges(b *admin.Backend) {
	b.Bridges = func() ([]admin.BridgeInfo, bool) {
		if !n.bridgesOn() {
			return nil, false
		}
		var out []admin.BridgeInfo
		for _, i := range n.Bridges() {
			out = append(out, admin.BridgeInfo{Name: i.Name, Endpoint: i.Endpoint, BufferSize: i.BufferSize,
				BufferMax: i.BufferMax, Dropped: i.Dropped, Mailbox: i.Pending})
		}
		return out, true
	}
	b.BridgeStart = func() (bool, error) {
		if !n.bridgesOn() {
			return false, nil
		}
		return true, n.RestartBridges()
	}
}
