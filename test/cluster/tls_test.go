package cluster_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// listener.vmqs.<name> with VerneMQ's TLS keys makes the data link mutual TLS with the
// cluster's CA: the nodes form a cluster and forward messages over it, the plain cookie
// handshake is not served any more, and a client without a certificate of the cluster
// CA is refused in the TLS handshake.
func TestTLSClusterLink(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real node processes")
	}
	dir := t.TempDir()
	ca := testpki.NewCA("cluster")
	caFile := filepath.Join(dir, "cluster-ca.pem")
	if err := ca.WriteCert(caFile); err != nil {
		t.Fatal(err)
	}
	files := func(name string) *[3]string {
		cert, key := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		if err := ca.NewPeer(name).Write(cert, key); err != nil {
			t.Fatal(err)
		}
		return &[3]string{cert, key, caFile}
	}
	aFiles := files("tlsA")
	a := startNodeAt(t, "tlsA", "tls-cookie", "", placement{tls: aFiles})
	b := startNodeAt(t, "tlsB", "tls-cookie", a.data, placement{tls: files("tlsB")})
	clusterOf(t, a, b)
	box := &inbox{}
	sub := connect(t, a.mqtt, "tls-sub", true, box)
	subscribe(t, sub, "tls/#", 1, box)
	untilReceived(t, connect(t, b.mqtt, "tls-pub", true, nil), "tls/x", box, "tls/x")
	if !a.logHas("cluster link up", "peer="+b.name) || !b.logHas("cluster link up", "peer="+a.name) {
		t.Fatalf("no data link up over TLS")
	}

	// The plain handshake (VMQ1 and a nonce, sent first by the listener) is gone: the port speaks TLS.
	c, err := net.DialTimeout("tcp", a.data, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second)) // the plain listener writes at once; TLS waits for a ClientHello
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	c.Close()
	if bytes.Equal(buf[:n], []byte("VMQ1")) {
		t.Fatalf("the vmqs listener answered with the plain handshake")
	}

	cert := testpki.NewCA("rogue").NewPeer("intruder").TLS()
	for name, cfg := range map[string]*tls.Config{
		"no certificate":              {InsecureSkipVerify: true},
		"a certificate of another CA": {InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}},
	} {
		tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", a.data, cfg)
		if err == nil {
			// TLS 1.3 reports the server's refusal of the client certificate at the first read.
			tc.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = tc.Read(buf)
			tc.Close()
		}
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("certificate")) {
			t.Errorf("TLS client with %s: want a certificate error, got %v", name, err)
		}
	}
	rows, err := adminTable(t, a, "listener", "show")
	if err != nil || !slicesFunc(rows, func(r map[string]string) bool { return r["type"] == "vmqs" && r["address"]+":"+r["port"] == a.data }) {
		t.Errorf("listener show lacks the vmqs listener %s: %v %v", a.data, err, rows)
	}

	// tls show lists the cluster listener's certificate and CA, of each node with --all.
	rows, err = adminTable(t, a, "tls", "show", "--all")
	for _, want := range []struct{ node, kind, cn string }{
		{a.name, "certfile", "tlsA"}, {a.name, "cafile", "cluster"}, {b.name, "certfile", "tlsB"}, {b.name, "cafile", "cluster"},
	} {
		if err != nil || !slicesFunc(rows, func(r map[string]string) bool {
			return r["node"] == want.node && r["Listener"] == "listener.vmqs.clustering" && r["Kind"] == want.kind && r["CN"] == want.cn
		}) {
			t.Errorf("tls show --all lacks %s's vmqs %s %q: %v %v", want.node, want.kind, want.cn, err, rows)
		}
	}
	if len(rows) != 4 {
		t.Errorf("tls show --all: want 4 rows (certfile and cafile of two nodes), got %v", rows)
	}

	// Rotated files are read again (tls clear-pem-cache; the 2-minute sweep and SIGHUP do the
	// same): A presents its new certificate, and a CA added to the cafile admits its nodes.
	serverSerial := func(cert tls.Certificate) (string, error) {
		tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", a.data,
			&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
		if err != nil {
			return "", err
		}
		defer tc.Close()
		// A refused client certificate shows at the first read (TLS 1.3); an admitted one meets
		// the cookie handshake, which the listener starts.
		tc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := tc.Read(buf); err != nil {
			return "", err
		}
		return tc.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
	}
	second := testpki.NewCA("cluster 2")
	newA := ca.NewPeer("tlsA")
	if err := newA.Write(aFiles[0], aFiles[1]); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WriteFile(caFile, append(ca.CertPEM(), second.CertPEM()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := serverSerial(second.NewPeer("tlsC").TLS()); err == nil {
		t.Fatal("a node of a CA not yet in the cafile admitted")
	}
	if out, err := vmqAdmin(t, a, "tls", "clear-pem-cache"); err != nil {
		t.Fatalf("tls clear-pem-cache: %v %s", err, out)
	}
	if got, err := serverSerial(second.NewPeer("tlsC").TLS()); err != nil || got != newA.Serial().String() {
		t.Fatalf("after the reload: serial %s, err %v; want A's new certificate %s and the new CA's node admitted", got, err, newA.Serial())
	}
}
