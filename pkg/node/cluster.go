package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/cluster"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/listener"
	"github.com/vernemq-go/vernemq/pkg/packets"
)

// deadNodeGraceEnv overrides how long a failed member keeps its subscriptions (a Go duration).
const deadNodeGraceEnv = "VMQ_CLUSTER_DEAD_NODE_GRACE"

// startCluster joins the node to its cluster when listener.vmq.<name> is configured:
// the data link listens there, serf gossips on its port+1, and cluster.discovery_node
// (if set) is joined in the background until it answers.
func (n *Node) startCluster(ctx context.Context) error {
	var addr string
	var serverTLS, clientTLS *tls.Config
	for _, lc := range n.Cfg.Listeners() {
		if lc.Type == "vmq" || lc.Type == "vmqs" {
			addr = lc.Addr
			if lc.Type == "vmqs" {
				var err error
				var kp *listener.KeyPair
				if serverTLS, clientTLS, kp, err = clusterTLS(lc); err != nil {
					return fmt.Errorf("listener.vmqs.%s: %w", lc.Name, err)
				}
				n.clusterTLS.Store(&tlsFiles{cfg: lc, kp: kp})
			}
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
		ServerTLS:      serverTLS,
		ClientTLS:      clientTLS,
	})
	if err != nil {
		return err
	}
	if n.adminExec != nil {
		cl.SetAdminHandler(n.adminExec)
	}
	if err := cl.Start(); err != nil {
		return err
	}
	n.cluster.Store(cl)
	n.Server.Allowed = cl.Allowed // allow_*_during_netsplit
	n.Server.AllowRegister = func(mountpoint, clientID string, override *bool) bool {
		return cl.AllowedRegister(broker.SessionID{Mountpoint: mountpoint, ClientID: clientID}, override)
	}
	n.addCloser(func() error {
		n.cluster.Store(nil)
		return cl.Close()
	})
	joined := false
	if seed := n.Cfg.String("cluster.discovery_node"); seed != "" {
		joined = n.joinFirst(ctx, cl, seed)
	}
	cl.WaitSynced(syncWait, joined)
	return nil
}

// joinFirst makes the first attempt to join seed during the start (so that the node
// serves clients with the cluster's session tables), for at most joinFirstWait; while
// it fails, joinUntil goes on in the background.
func (n *Node) joinFirst(ctx context.Context, cl *cluster.Cluster, seed string) bool {
	res := make(chan error, 1)
	go func() { res <- cl.Join(seed) }()
	select {
	case err := <-res:
		if err == nil {
			n.Log.Info("joined cluster", "discovery_node", seed)
			return true
		}
		n.Log.Warn("cluster join failed; retrying", "discovery_node", seed, "error", err)
		go n.joinUntil(ctx, cl, seed)
	case <-time.After(joinFirstWait):
		go func() {
			if err := <-res; err != nil {
				n.joinUntil(ctx, cl, seed)
			}
		}()
	}
	return false
}

// joinFirstWait bounds the start's wait for the first join (an address that drops packets costs serf 10 s per try).
const joinFirstWait = 5 * time.Second

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
		cl.Drain(kill, cluster.DrainWait)
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

// vernemqClusteringPort is VerneMQ's default listener.vmq.clustering port.
const vernemqClusteringPort = "44053"

// clusterJoinNamed accepts VerneMQ's node-name form (VerneMQ@host, or VerneMQ@host:port;
// without a port VerneMQ's default clustering port 44053) as well as host:port, and
// refuses this node's own name.
func (n *Node) clusterJoinNamed(discovery string) error {
	if at := strings.LastIndexByte(discovery, '@'); at >= 0 {
		if discovery == n.Broker.Node() {
			return fmt.Errorf("%s is this node: give the name of a node of the cluster to join", discovery)
		}
		host := discovery[at+1:]
		if h, p, err := net.SplitHostPort(host); err == nil {
			discovery = net.JoinHostPort(h, p)
		} else {
			discovery = net.JoinHostPort(host, vernemqClusteringPort)
		}
	}
	return n.ClusterJoin(discovery)
}

// handOverOnStop is the cluster part of a graceful stop, once the clients are
// disconnected: the persistent sessions go to the remaining nodes (bounded by
// cluster.stop_handover_timeout); Close then leaves the gossip before closing the links.
func (n *Node) handOverOnStop() {
	cl := n.Cluster()
	if cl == nil {
		return
	}
	wait := n.Cfg.Duration("cluster.stop_handover_timeout")
	if wait <= 0 {
		return
	}
	cl.Drain(false, wait)
}

// clusterTLS builds the mutual TLS of listener.vmqs (VerneMQ's TLS cluster listener): each
// node presents certfile/keyfile and accepts only peers whose certificate chains to cafile,
// both ways. Peers are dialled by the address in their gossip tags, often an IP, so the
// chain is checked against the cluster's own CA but not the host name; the cookie
// handshake inside the TLS session then proves the node name. The files are read again
// when they change (kp, as the other TLS listeners'): new links use them, links up keep theirs.
func clusterTLS(lc config.Listener) (server, client *tls.Config, kp *listener.KeyPair, err error) {
	if lc.CAFile == "" {
		return nil, nil, nil, errors.New("a TLS cluster listener needs cafile: the CA that signed every node's certificate")
	}
	if kp, err = listener.LoadKeyPairCA(lc.CertFile, lc.KeyFile, lc.CAFile); err != nil {
		return nil, nil, nil, err
	}
	// Verified here rather than by crypto/tls (ClientCAs, RootCAs), whose pools are fixed
	// in the config: the CA last loaded decides.
	server = &tls.Config{GetCertificate: kp.GetCertificate, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, kp.Pool(), x509.ExtKeyUsageClientAuth)
		}}
	client = &tls.Config{GetClientCertificate: kp.GetClientCertificate, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true, // the chain is verified below, against the cluster CA only
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, kp.Pool(), x509.ExtKeyUsageServerAuth)
		}}
	return server, client, kp, nil
}

// verifyChain checks a peer's certificate chain against the cluster CA, for usage.
func verifyChain(raw [][]byte, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(raw) == 0 {
		return errors.New("cluster peer sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("cluster peer certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return fmt.Errorf("cluster peer certificate not signed by the cluster CA (cafile): %w", err)
	}
	return nil
}
