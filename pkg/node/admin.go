package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

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
	n.web.Store(web)
	b := n.adminBackend(ctx, keys, web)
	reg := admin.New(b)
	n.adminExec = reg.ExecForPeer // other nodes' --all / --node= requests, once clustered
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
		Reauthorize: n.Server.Reauthorize,
		ReloadCerts: n.ReloadCerts,
		TLSCerts:    func() []admin.CertInfo { return n.tlsCerts(web) },
		Metrics:     n.Reg,
		Keys:        keys,
		Logs:        n.Logs,
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
			out = append(out, web.infos()...)
			return append(out, n.clusterListenerInfo()...)
		},
		StopListener: func(address string, port int, kill bool) error {
			if err := n.notStoppable(web, address, port); err != nil {
				return err
			}
			return n.StopListener(address, port, kill)
		},
		StartListener: func(address string, port int) error {
			if err := n.notStoppable(web, address, port); err != nil {
				return err
			}
			return n.StartListener(ctx, address, port)
		},
		CreateListener: func(typ, address string, port int, opts map[string]string) error {
			return n.CreateListener(ctx, typ, address, port, opts)
		},
		DeleteListener: func(address string, port int) error {
			if err := n.notStoppable(web, address, port); err != nil {
				return err
			}
			return n.DeleteListener(address, port)
		},
		Plugins: func() []admin.PluginInfo {
			var out []admin.PluginInfo
			for _, p := range n.Auth.Plugins() {
				out = append(out, admin.PluginInfo{Name: p.Name, Hooks: p.Hooks})
			}
			return out
		},
		PluginEnable:  n.EnablePlugin,
		PluginDisable: n.DisablePlugin,
		Cluster: func() []admin.Member {
			var out []admin.Member
			for _, m := range n.ClusterMembers() {
				out = append(out, admin.Member{Node: m.Name, Running: m.Running})
			}
			return out
		},
		NotReady: func() []string {
			if cl := n.Cluster(); cl != nil {
				return cl.NotReady()
			}
			return nil
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

// clusterListenerInfo is the listener show row of listener.vmq.clustering (VerneMQ lists it as type vmq).
func (n *Node) clusterListenerInfo() []admin.ListenerInfo {
	cl := n.Cluster()
	if cl == nil {
		return nil
	}
	host, port, _ := net.SplitHostPort(cl.DataAddr())
	typ, name := "vmq", "clustering"
	for _, lc := range n.Cfg.Listeners() {
		if lc.Type == "vmq" || lc.Type == "vmqs" {
			typ, name = lc.Type, lc.Name
			break
		}
	}
	return []admin.ListenerInfo{{Type: typ, Name: name, Status: "running", Address: host, Port: port}}
}

// notStoppable explains why listener stop/start refuses a listener that listener show
// prints but that cannot stop at run time: the cluster's data link and the HTTP listeners.
func (n *Node) notStoppable(web *httpListeners, address string, port int) error {
	at := net.JoinHostPort(address, strconv.Itoa(port))
	for _, l := range n.clusterListenerInfo() {
		if net.JoinHostPort(l.Address, l.Port) == at {
			return fmt.Errorf("%s is the cluster listener (listener.%s.%s): it carries the other nodes' data links and cannot stop at run time; use vmq-admin cluster leave", at, l.Type, l.Name)
		}
	}
	for _, l := range web.infos() {
		if net.JoinHostPort(l.Address, l.Port) == at {
			return fmt.Errorf("%s is an HTTP listener (listener.%s.%s): only MQTT listeners stop and start at run time", at, l.Type, l.Name)
		}
	}
	return nil
}
