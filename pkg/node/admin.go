package node

import (
	"context"
	"os"
	"path/filepath"

	"github.com/vernemq-go/vernemq/pkg/admin"
	"github.com/vernemq-go/vernemq/pkg/conn"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// Version is the one version of the build: vernemq version, vmq-admin node status and
// /status.json report it. make sets it at link time (-ldflags "-X
// github.com/vernemq-go/vernemq/pkg/node.Version=$(git describe --tags --always --dirty)");
// a plain go build falls back to the commit Go recorded (see version.go).
var Version = "dev"

// mqttTypeNames are VerneMQ's listener type names in listener show.
var mqttTypeNames = map[string]string{"tcp": "mqtt", "ssl": "mqtts", "ws": "mqttws", "wss": "mqttwss"}

// startAdmin serves the vmq-admin commands on the admin socket and the HTTP
// listeners (API, /metrics, health, status) and starts the $SYS publisher.
func (n *Node) startAdmin(ctx context.Context) error {
	keys, err := admin.OpenKeyStore(filepath.Join(n.Cfg.String("platform_data_dir"), "api-keys"))
	if err != nil {
		return err
	}
	web := &httpListeners{}
	b := n.adminBackend(ctx, keys, web)
	reg := admin.New(b)
	if cl := n.Cluster(); cl != nil {
		cl.SetAdminHandler(reg.ExecForPeer) // other nodes' --all / --node= requests
	}
	closeSock, err := admin.ServeUnix(ctx, n.Cfg.String("admin.socket"), os.FileMode(n.Cfg.Int("admin.socket_mode")), reg, n.Log)
	if err != nil {
		return err
	}
	n.addCloser(closeSock)
	n.Log.Info("admin socket ready", "path", n.Cfg.String("admin.socket"))
	if err := n.startHTTP(ctx, reg, b, keys, web); err != nil {
		return err
	}
	n.startSysTree(ctx)
	return nil
}

// adminBackend gives the commands what they need of this node.
func (n *Node) adminBackend(ctx context.Context, keys *admin.KeyStore, web *httpListeners) *admin.Backend {
	b := &admin.Backend{
		NodeName:    n.Broker.Node(),
		Version:     Version,
		Config:      n.Cfg,
		Broker:      n.Broker,
		Metrics:     n.Reg,
		Keys:        keys,
		Uptime:      n.Uptime,
		Connections: n.Server.Count,
		Listeners: func() []admin.ListenerInfo {
			var out []admin.ListenerInfo
			for _, l := range n.Listeners() {
				out = append(out, admin.ListenerInfo{
					Type: mqttTypeNames[l.Type], Name: l.Name, Status: l.Status, Address: l.Address, Port: l.Port,
					Mountpoint: l.Mountpoint, MaxConns: l.MaxConns, ActiveConns: l.ActiveConns,
				})
			}
			return append(out, web.infos()...)
		},
		StopListener:  n.StopListener,
		StartListener: func(address string, port int) error { return n.StartListener(ctx, address, port) },
		Plugins: func() []admin.PluginInfo {
			var out []admin.PluginInfo
			for _, p := range n.Auth.Plugins() {
				out = append(out, admin.PluginInfo{Name: p.Name, Hooks: p.Hooks})
			}
			return out
		},
		Cluster: func() []admin.Member {
			var out []admin.Member
			for _, m := range n.ClusterMembers() {
				out = append(out, admin.Member{Node: m.Name, Running: m.Running})
			}
			return out
		},
		ClusterJoin:  n.clusterJoinNamed,
		ClusterLeave: n.ClusterLeave,
		Nodes: func() []string {
			var out []string
			for _, m := range n.ClusterMembers() {
				if m.Running {
					out = append(out, m.Name)
				}
			}
			return out
		},
		Remote: func(ctx context.Context, node string, argv []string) (admin.Result, error) {
			cl := n.Cluster()
			if cl == nil {
				return admin.Result{}, errNotClustered
			}
			data, err := cl.AdminCall(ctx, node, argv)
			if err != nil {
				return admin.Result{}, err
			}
			return admin.DecodeResult(data)
		},
		Trace: func(mountpoint, clientID string, fn func(dir string, p packets.Packet)) func() {
			return n.Server.Trace(mountpoint, clientID, conn.TraceFunc(fn))
		},
	}
	n.wireWebhooks(b)
	n.wireBridges(b)
	return b
}

// startSysTree publishes the metrics under $SYS/<nodename>/ until the node stops.
func (n *Node) startSysTree(ctx context.Context) {
	st := admin.NewSysTree(n.Cfg, n.Broker, n.Reg, n.Broker.Node())
	n.Cfg.OnChange(func(key, _ string) {
		if key == "systree_enabled" || key == "systree_interval" {
			st.Poke()
		}
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Run(ctx)
	}()
	n.addCloser(func() error {
		cancel()
		<-done
		return nil
	})
}
