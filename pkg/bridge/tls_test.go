package bridge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCA(t *testing.T, path, cn string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// ssl options: capath loads every file, sni replaces the server name, tls_version is the
// one version, insecure skips verification, depth bounds the intermediates.
func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	writeCA(t, filepath.Join(dir, "a.pem"), "ca a")
	writeCA(t, filepath.Join(dir, "b.pem"), "ca b")
	c := parse(t, "vmq_bridge.ssl.s = broker.example:8883", "vmq_bridge.ssl.s.capath = "+dir,
		"vmq_bridge.ssl.s.sni = mqtt.example", "vmq_bridge.ssl.s.tls_version = tlsv1.3", "vmq_bridge.ssl.s.depth = 2",
		"vmq_bridge.ssl.i = 10.0.0.1:8883", "vmq_bridge.ssl.i.insecure = on")
	cfgs, err := FromConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	ins, s := cfgs[0].TLS, cfgs[1].TLS
	if !ins.InsecureSkipVerify || ins.VerifyPeerCertificate != nil || ins.ServerName != "10.0.0.1" || ins.MinVersion != tls.VersionTLS12 {
		t.Errorf("insecure bridge: %+v", ins)
	}
	if s.ServerName != "mqtt.example" || s.MinVersion != tls.VersionTLS13 || s.MaxVersion != tls.VersionTLS13 || s.RootCAs == nil {
		t.Errorf("ssl bridge: server name %q, versions %x-%x", s.ServerName, s.MinVersion, s.MaxVersion)
	}
	//lint:ignore SA1019 counting the roots loaded from capath; no system roots are involved
	if subjects := s.RootCAs.Subjects(); len(subjects) != 2 {
		t.Errorf("capath loaded %d roots, want 2", len(subjects))
	}
	chain := func(n int) [][]*x509.Certificate { return [][]*x509.Certificate{make([]*x509.Certificate, n)} }
	// peer + 2 intermediates + root passes depth 2; one more intermediate does not.
	if err := s.VerifyPeerCertificate(nil, chain(4)); err != nil {
		t.Errorf("depth 2 refused a chain with 2 intermediates: %v", err)
	}
	if err := s.VerifyPeerCertificate(nil, chain(5)); err == nil || !strings.Contains(err.Error(), "depth 2") {
		t.Errorf("depth 2 accepted 3 intermediates: %v", err)
	}
}
