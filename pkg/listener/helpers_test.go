package listener

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// pki is a test CA with server, client, revoked-client and intermediate-signed
// client certificates, written as PEM files in a temp dir.
type pki struct {
	dir                                        string
	caFile, crlFile, serverCert, serverKey     string
	ca                                         *testpki.CA
	server                                     *testpki.Cert
	client, revoked, viaIntermediate, stranger tls.Certificate
	viaTwoIntermediates                        tls.Certificate
	clientCertFile, clientKeyFile              string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: testpki.NewCA("test-root")}
	inter := p.ca.NewIntermediate("test-intermediate")
	inter2 := inter.NewIntermediate("test-intermediate-2")
	server := p.ca.NewServer("localhost")
	p.server = server
	client := p.ca.NewClient("device-42")
	revoked := p.ca.NewClient("revoked-7")
	p.client, p.revoked = client.TLS(), revoked.TLS()
	p.viaIntermediate = inter.NewClient("deep-1").TLS()
	p.viaTwoIntermediates = inter2.NewClient("deep-2").TLS()
	p.stranger = testpki.NewCA("other-root").NewClient("stranger").TLS()

	p.caFile = filepath.Join(p.dir, "ca.pem")
	p.serverCert, p.serverKey = filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key")
	p.clientCertFile, p.clientKeyFile = filepath.Join(p.dir, "client.pem"), filepath.Join(p.dir, "client.key")
	p.crlFile = filepath.Join(p.dir, "crl.pem")
	for _, err := range []error{
		p.ca.WriteCert(p.caFile),
		server.Write(p.serverCert, p.serverKey),
		client.Write(p.clientCertFile, p.clientKeyFile),
		p.ca.WriteCRL(p.crlFile, revoked.Serial()),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// clientTLS trusts the test root for "localhost" and presents cert (nil = none).
func (p *pki) clientTLS(cert *tls.Certificate) *tls.Config {
	cfg := p.ca.ClientConfig("localhost", nil)
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
