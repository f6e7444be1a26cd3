package listener

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a test CA with server, client, revoked-client and intermediate-signed
// client certificates, written as PEM files in a temp dir.
type pki struct {
	dir                                        string
	caFile, crlFile, serverCert, serverKey     string
	ca                                         *x509.Certificate
	caKey                                      *ecdsa.PrivateKey
	client, revoked, viaIntermediate, stranger tls.Certificate
	viaTwoIntermediates                        tls.Certificate
	clientCertFile, clientKeyFile              string
}

var serial int64 = 100

func nextSerial() *big.Int { serial++; return big.NewInt(serial) }

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func makeCA(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// leaf issues a server (isServer) or client certificate; chain is appended.
func leaf(t *testing.T, cn string, isServer bool, ca *x509.Certificate, caKey *ecdsa.PrivateKey, chain ...*x509.Certificate) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if isServer {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, ch := range chain {
		c.Certificate = append(c.Certificate, ch.Raw)
	}
	if c.Leaf, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return c
}

func writePEM(t *testing.T, path, typ string, blocks ...[]byte) {
	t.Helper()
	var out []byte
	for _, b := range blocks {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t *testing.T, path string, key any) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.ca, p.caKey = makeCA(t, "test-root", nil, nil)
	inter, interKey := makeCA(t, "test-intermediate", p.ca, p.caKey)
	server := leaf(t, "localhost", true, p.ca, p.caKey)
	p.client = leaf(t, "device-42", false, p.ca, p.caKey)
	p.revoked = leaf(t, "revoked-7", false, p.ca, p.caKey)
	p.viaIntermediate = leaf(t, "deep-1", false, inter, interKey, inter)
	inter2, inter2Key := makeCA(t, "test-intermediate-2", inter, interKey)
	p.viaTwoIntermediates = leaf(t, "deep-2", false, inter2, inter2Key, inter2, inter)
	otherCA, otherKey := makeCA(t, "other-root", nil, nil)
	p.stranger = leaf(t, "stranger", false, otherCA, otherKey)

	p.caFile = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", p.ca.Raw)
	p.serverCert = filepath.Join(p.dir, "server.pem")
	writePEM(t, p.serverCert, "CERTIFICATE", server.Certificate[0])
	p.serverKey = filepath.Join(p.dir, "server.key")
	writeKey(t, p.serverKey, server.PrivateKey)
	p.clientCertFile = filepath.Join(p.dir, "client.pem")
	writePEM(t, p.clientCertFile, "CERTIFICATE", p.client.Certificate[0])
	p.clientKeyFile = filepath.Join(p.dir, "client.key")
	writeKey(t, p.clientKeyFile, p.client.PrivateKey)

	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute),
		NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: p.revoked.Leaf.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)},
		},
	}, p.ca, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.crlFile = filepath.Join(p.dir, "crl.pem")
	writePEM(t, p.crlFile, "X509 CRL", crl)
	return p
}

func (p *pki) clientTLS(cert *tls.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if cert != nil {
		// Always send it: Go's client would otherwise withhold a certificate
		// whose issuer the server did not list, hiding the server's check.
		c := *cert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

// recorder is an echo handler that reports each Peer.
type recorder struct {
	peers chan Peer
}

func newRecorder() *recorder { return &recorder{peers: make(chan Peer, 16)} }

func (r *recorder) handle(ctx context.Context, c net.Conn, p Peer) {
	r.peers <- p
	_, _ = io.Copy(c, c)
}

func (r *recorder) next(t *testing.T) Peer {
	t.Helper()
	select {
	case p := <-r.peers:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("handler was not called within 5s")
		return Peer{}
	}
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case p := <-r.peers:
		t.Fatalf("handler was called unexpectedly with %+v", p)
	default:
	}
}

// testLogger logs to stderr with -v (t.Log would panic for goroutines that
// outlive the test), else nowhere.
func testLogger(t *testing.T) *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// start creates and starts a listener on 127.0.0.1:0 with an echo recorder.
func start(t *testing.T, o Options) (*Listener, *recorder) {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	rec := newRecorder()
	l, err := New(o, rec.handle, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.StopAll() })
	return l, rec
}

// echo writes msg and expects it back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

// expectClosed asserts the server closes c (EOF or reset) within 5s.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for i := 0; i < 100; i++ {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("connection still open after 5s; want it closed by the server")
		}
		return
	}
	t.Fatal("server kept sending data; want the connection closed")
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// tlsClient runs the client handshake over an existing connection.
func tlsClient(raw net.Conn, cfg *tls.Config) *tls.Conn {
	return tls.Client(raw, cfg)
}
