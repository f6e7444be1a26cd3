package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChainsVerify(t *testing.T) {
	root := NewCA("root")
	inter := root.NewIntermediate("inter-1")
	inter2 := inter.NewIntermediate("inter-2")
	other := NewCA("other root")
	clientUse := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	serverUse := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, tc := range []struct {
		name     string
		cert     *Cert
		dnsName  string
		usage    []x509.ExtKeyUsage
		wantLen  int // chain length including leaf and root; 0 = must not verify
		wantSANs string
	}{
		{"client by root", root.NewClient("device-42"), "", clientUse, 2, ""},
		{"client via one intermediate", inter.NewClient("deep-1"), "", clientUse, 3, ""},
		{"client via two intermediates", inter2.NewClient("deep-2"), "", clientUse, 4, ""},
		{"default server SANs, IP", root.NewServer("srv"), "127.0.0.1", serverUse, 2, "127.0.0.1 localhost"},
		{"default server SANs, DNS", root.NewServer("srv"), "localhost", serverUse, 2, "127.0.0.1 localhost"},
		{"explicit server SANs", root.NewServer("srv", "::1", "broker.test"), "broker.test", serverUse, 2, "::1 broker.test"},
		{"server name not in SANs", root.NewServer("srv", "broker.test"), "localhost", serverUse, 0, "broker.test"},
		{"client used as server", root.NewClient("device-42"), "", serverUse, 0, ""},
		{"another CA's client", other.NewClient("device-42"), "", clientUse, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inters := x509.NewCertPool()
			for _, c := range tc.cert.Chain {
				inters.AddCert(c)
			}
			chains, err := tc.cert.Cert.Verify(x509.VerifyOptions{
				Roots: root.Pool(), Intermediates: inters, DNSName: tc.dnsName, KeyUsages: tc.usage,
			})
			if tc.wantLen == 0 {
				if err == nil {
					t.Fatalf("verified as %v; want it refused", chains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(chains[0]) != tc.wantLen {
				t.Fatalf("chain length %d, want %d", len(chains[0]), tc.wantLen)
			}
			if tc.wantSANs != "" {
				var sans []string
				for _, ip := range tc.cert.Cert.IPAddresses {
					sans = append(sans, ip.String())
				}
				sans = append(sans, tc.cert.Cert.DNSNames...)
				if got := strings.Join(sans, " "); got != tc.wantSANs {
					t.Fatalf("SANs %q, want %q", got, tc.wantSANs)
				}
			}
		})
	}
}

// TestNewServerValidFor: the certificate ends when asked, and is otherwise NewServer's.
func TestNewServerValidFor(t *testing.T) {
	ca := NewCA("root")
	before := time.Now()
	c := ca.NewServerValidFor(time.Hour, "short")
	if end := c.Cert.NotAfter; end.Before(before.Add(time.Hour).Truncate(time.Second)) || end.After(time.Now().Add(time.Hour)) {
		t.Errorf("NotAfter %v; want an hour from %v", end, before)
	}
	if !c.Cert.NotBefore.Before(before) {
		t.Errorf("NotBefore %v is not before the issue time %v", c.Cert.NotBefore, before)
	}
	if _, err := c.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost"}); err != nil {
		t.Errorf("does not verify as a server for localhost: %v", err)
	}
}

func TestCRL(t *testing.T) {
	ca := NewCA("root")
	revoked, kept := ca.NewClient("revoked"), ca.NewClient("kept")
	for _, tc := range []struct {
		name    string
		revoke  []*Cert
		inCRL   []*Cert
		notInIt []*Cert
	}{
		{"empty", nil, nil, []*Cert{revoked, kept}},
		{"one revoked", []*Cert{revoked}, []*Cert{revoked}, []*Cert{kept}},
		{"both revoked", []*Cert{revoked, kept}, []*Cert{revoked, kept}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crl.pem")
			var serials []*big.Int
			for _, c := range tc.revoke {
				serials = append(serials, c.Serial())
			}
			if err := ca.WriteCRL(path, serials...); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(b)
			if block == nil || block.Type != "X509 CRL" {
				t.Fatalf("%s holds no X509 CRL PEM block", path)
			}
			crl, err := x509.ParseRevocationList(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
				t.Fatalf("CRL not signed by its CA: %v", err)
			}
			if !time.Now().Before(crl.NextUpdate) {
				t.Fatalf("CRL already stale: next update %v", crl.NextUpdate)
			}
			listed := map[string]bool{}
			for _, e := range crl.RevokedCertificateEntries {
				listed[e.SerialNumber.String()] = true
			}
			for _, c := range tc.inCRL {
				if !listed[c.Serial().String()] {
					t.Errorf("%s not in the CRL", c.Cert.Subject.CommonName)
				}
			}
			for _, c := range tc.notInIt {
				if listed[c.Serial().String()] {
					t.Errorf("%s in the CRL", c.Cert.Subject.CommonName)
				}
			}
		})
	}
	if revoked.Serial().Cmp(kept.Serial()) == 0 {
		t.Fatal("two certificates share a serial")
	}
}

// TestFilesAndHandshake writes the PEM files, loads them as a server would,
// and runs a mutual TLS handshake over loopback with ClientConfig.
func TestFilesAndHandshake(t *testing.T) {
	dir := t.TempDir()
	root := NewCA("root")
	inter := root.NewIntermediate("inter")
	srv := inter.NewServer("127.0.0.1")
	client := inter.NewClient("device-42")
	crt, key, bundle, caFile := filepath.Join(dir, "s.pem"), filepath.Join(dir, "s.key"), filepath.Join(dir, "b.pem"), filepath.Join(dir, "ca.pem")
	if err := srv.Write(crt, key); err != nil {
		t.Fatal(err)
	}
	if err := srv.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	if err := root.WriteCert(caFile); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 2 {
		t.Fatalf("certfile holds %d certificates, want leaf and intermediate", len(pair.Certificate))
	}
	if fromBundle, err := tls.LoadX509KeyPair(bundle, bundle); err != nil || len(fromBundle.Certificate) != 2 {
		t.Fatalf("bundle: %d certificates, %v; want 2 and a key", len(fromBundle.Certificate), err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", caFile)
	}

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerCN := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peerCN <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			peerCN <- "handshake: " + err.Error()
			return
		}
		peerCN <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
		_, _ = io.Copy(io.Discard, tc)
	}()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), root.ClientConfig("127.0.0.1", client))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case got := <-peerCN:
		if got != "device-42" {
			t.Fatalf("server saw client %q, want device-42", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server saw no handshake within 5s")
	}
}

// TestNotInShippedBinaries keeps test certificates out of what is shipped.
func TestNotInShippedBinaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../cmd/vernemq", "../../cmd/vmq-admin", "../../cmd/vmq-passwd").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/internal/testpki") {
			t.Fatal("a shipped binary imports internal/testpki")
		}
	}
}
