package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// certPair is a throwaway certificate and its key.
type certPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue signs a certificate for cn with parent (self-signed when parent is nil).
func issue(t *testing.T, cn string, serial int64, isCA bool, parent *certPair) certPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage, tmpl.IPAddresses = nil, nil
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certPair{cert: c, key: key}
}

// write stores the pair as PEM at base.crt / base.key and returns both paths.
func (p certPair) write(t *testing.T, base string) (string, string) {
	t.Helper()
	kder, err := x509.MarshalECPrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := base+".crt", base+".key"
	writeFile(t, crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw}))
	writeFile(t, key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return crt, key
}

// writeCRL writes a CRL signed by ca revoking serials.
func writeCRL(t *testing.T, path string, ca certPair, serials ...int64) {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute),
		NextUpdate: time.Now().Add(time.Hour), RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	// Write then rename so a reload never reads a half-written file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// handshake dials addr with client's certificate and returns the server certificate
// serial, or the error of a refused handshake.
func handshake(addr string, ca certPair, client certPair) (int64, error) {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{{
		Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key,
	}}}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	// A TLS 1.3 server reports a refused client certificate only on the next read.
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			return 0, err
		}
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestReloadCerts rotates the server certificate and the CRL of a running
// ssl listener, and checks a broken file leaves the previous ones in place.
func TestReloadCerts(t *testing.T) {
	dir := t.TempDir()
	ca := issue(t, "test CA", 1, true, nil)
	caFile, _ := ca.write(t, filepath.Join(dir, "ca"))
	srvFile, keyFile := issue(t, "server one", 100, false, &ca).write(t, filepath.Join(dir, "server"))
	client := issue(t, "device-42", 200, false, &ca)
	crlFile := filepath.Join(dir, "crl.pem")
	writeCRL(t, crlFile, ca)

	n, _ := startNode(t,
		"listener.ssl.default = 127.0.0.1:0",
		"listener.ssl.cafile = "+caFile,
		"listener.ssl.certfile = "+srvFile,
		"listener.ssl.keyfile = "+keyFile,
		"listener.ssl.crlfile = "+crlFile,
		"listener.ssl.require_certificate = on",
	)
	addr := n.ListenerAddr("ssl")
	if serial, err := handshake(addr, ca, client); err != nil || serial != 100 {
		t.Fatalf("before reload: serial %d, err %v; want server serial 100", serial, err)
	}
	established, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{{
		Certificate: [][]byte{client.cert.Raw}, PrivateKey: client.key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer established.Close()

	// Rotate the server certificate and revoke the client: both take effect on reload only.
	issue(t, "server two", 101, false, &ca).write(t, filepath.Join(dir, "server"))
	writeCRL(t, crlFile, ca, 200)
	if serial, err := handshake(addr, ca, client); err != nil || serial != 100 {
		t.Fatalf("files changed but not reloaded: serial %d, err %v; want the old serial 100 still", serial, err)
	}
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts: %v", err)
	}
	if _, err := handshake(addr, ca, client); err == nil {
		t.Fatal("revoked client accepted after reloading the CRL")
	}
	writeCRL(t, crlFile, ca)
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts: %v", err)
	}
	if serial, err := handshake(addr, ca, client); err != nil || serial != 101 {
		t.Fatalf("after reload: serial %d, err %v; want the new server serial 101", serial, err)
	}
	if got := established.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != 100 {
		t.Errorf("established connection sees serial %d, want its original 100", got)
	}

	// A broken certfile is reported and the listener keeps serving the last good one.
	writeFile(t, srvFile, []byte("not a certificate\n"))
	if err := n.ReloadCerts(); err == nil {
		t.Fatal("ReloadCerts accepted a broken certfile")
	}
	if serial, err := handshake(addr, ca, client); err != nil || serial != 101 {
		t.Fatalf("after a failed reload: serial %d, err %v; want the last good serial 101", serial, err)
	}
}

// TestReloadCertsWithoutTLS is a no-op success on a node without ssl/wss listeners.
func TestReloadCertsWithoutTLS(t *testing.T) {
	n, _ := startNode(t)
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts without TLS listeners: %v", err)
	}
}
