package node

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/cluster"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// deadNodeGraceEnv overrides how long a failed member keeps its subscriptions (a Go duration).
const deadNodeGraceEnv = "VMQ_CLUSTER_DEAD_NODE_GRACE"

// startCluster joins the node to its cluster when listener.vmq.<name> is configured:
// the data link listens there, serf gossips on its port+1, and cluster.discovery_node
// (if set) is joined in the background until it answers.
func (n *Node) startCluster(ctx context.Context) error {
	var addr string
	for _, lc := range n.Cfg.Listeners() {
		if lc.Type == "vmq" {
			addr = lc.Addr
			break
		}
	}
	if addr == "" {
		return nil
	}
	grace := 30 * time.Second
	if v := os.Getenv(deadNodeGraceEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New(deadNodeGraceEnv + ": not a duration like 30s")
		}
		grace = d
	}
	cl, err := cluster.New(cluster.Options{
		Broker:         n.Broker,
		Node:           n.Cfg.String("nodename"),
		Cookie:         n.Cfg.String("distributed_cookie"),
		DataAddr:       addr,
		DataDir:        n.Cfg.String("platform_data_dir"),
		OutgoingBuffer: n.Cfg.Bytes("outgoing_clustering_buffer_size"),
		IncomingMax:    int(n.Cfg.Bytes("incoming_clustering_buffer_size")),
		DeadNodeGrace:  grace,
		Registry:       n.Reg,
		Log:            n.edgeLog,
		Setting:        n.Cfg.Bool,
		OnLeaveRequest: func(kill bool) { n.leaveCluster(kill) },
	})
	if err != nil {
		return err
	}
	if err := cl.Start(); err != nil {
		return err
	}
	n.cluster.Store(cl)
	n.Server.Allowed = cl.Allowed // allow_*_during_netsplit
	n.addCloser(func() error {
		n.cluster.Store(nil)
		return cl.Close()
	})
	if seed := n.Cfg.String("cluster.discovery_node"); seed != "" {
		go n.joinUntil(ctx, cl, seed)
	}
	return nil
}

// joinUntil retries the discovery node for a minute, since cluster nodes often start together.
func (n *Node) joinUntil(ctx context.Context, cl *cluster.Cluster, seed string) {
	for i := 0; i < 60; i++ {
		err := cl.Join(seed)
		if err == nil {
			n.Log.Info("joined cluster", "discovery_node", seed)
			return
		}
		n.Log.Warn("cluster join failed; retrying", "discovery_node", seed, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	n.Log.Error("gave up joining the cluster; use vmq-admin cluster join", "discovery_node", seed)
}

// leaveCluster is this node's graceful `cluster leave`: stop accepting clients,
// disconnect them, hand the persistent sessions with their offline queues to the
// remaining nodes (with kill: discard every session), then leave the gossip.
func (n *Node) leaveCluster(kill bool) {
	n.stopListeners()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	n.Server.Shutdown(sctx, packets.UseAnotherServer) // v5 clients are told to reconnect elsewhere
	cancel()
	if cl := n.Cluster(); cl != nil {
		cl.Drain(kill)
		if err := cl.Leave("", kill); err != nil {
			n.Log.Warn("cluster leave failed", "error", err)
		}
	}
}

var errNotClustered = errors.New("this node is not clustered: configure listener.vmq.clustering = ip:port")

// Cluster returns the node's cluster, or nil when listener.vmq is not configured.
func (n *Node) Cluster() *cluster.Cluster {
	return n.cluster.Load()
}

// ClusterJoin joins the cluster of the node at addr (vmq-admin cluster join discovery-node=).
func (n *Node) ClusterJoin(addr string) error {
	cl := n.Cluster()
	if cl == nil {
		return errNotClustered
	}
	return cl.Join(addr)
}

// ClusterLeave makes node leave (vmq-admin cluster leave node= [--kill_sessions]).
func (n *Node) ClusterLeave(node string, killSessions bool) error {
	cl := n.Cluster()
	if cl == nil {
		return errNotClustered
	}
	if node == "" || node == n.Broker.Node() {
		go n.leaveCluster(killSessions)
		return nil
	}
	return cl.Leave(node, killSessions)
}

// ClusterMembers lists the cluster's nodes (vmq-admin cluster show); just this one when not clustered.
func (n *Node) ClusterMembers() []cluster.Member {
	if cl := n.Cluster(); cl != nil {
		return cl.Members()
	}
	return []cluster.Member{{Name: n.Broker.Node(), Running: true}}
}

// clusterJoinNamed accepts VerneMQ's node-name form (VerneMQ@host, joined on this node's
// clustering port) as well as host:port.
func (n *Node) clusterJoinNamed(discovery string) error {
	if at := strings.LastIndexByte(discovery, '@'); at >= 0 {
		host := discovery[at+1:]
		port := "44053"
		for _, l := range n.Cfg.Listeners() {
			if l.Type == "vmq" {
				if _, p, err := net.SplitHostPort(l.Addr); err == nil && p != "0" {
					port = p
				}
			}
		}
		discovery = net.JoinHostPort(host, port)
	}
	return n.ClusterJoin(discovery)
}
