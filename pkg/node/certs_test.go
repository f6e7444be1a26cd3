package node

import (
	"crypto/tls"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// handshake dials addr with client's certificate and returns the server certificate
// serial, or the error of a refused handshake.
func handshake(addr string, ca *testpki.CA, client *testpki.Cert) (*big.Int, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, ca.ClientConfig("127.0.0.1", client))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// A TLS 1.3 server reports a refused client certificate only on the next read.
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			return nil, err
		}
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// rotation checks which certificate a TLS listener at addr serves and sets the
// modification time of its files: a rotation minutes later has another one; set it
// explicitly, as two writes within a file system timestamp tick may share one.
type rotation struct {
	t      *testing.T
	addr   string
	ca     *testpki.CA
	client *testpki.Cert // nil: no client certificate
	files  []string
}

func (r rotation) served(when string, want *testpki.Cert) {
	r.t.Helper()
	if serial, err := handshake(r.addr, r.ca, r.client); err != nil || serial.Cmp(want.Serial()) != 0 {
		r.t.Fatalf("%s: server serial %v, err %v; want %s's serial %v", when, serial, err, want.Cert.Subject.CommonName, want.Serial())
	}
}

func (r rotation) touch(at time.Time) {
	r.t.Helper()
	for _, f := range r.files {
		must(r.t, os.Chtimes(f, at, at))
	}
}

// TestReloadCerts rotates the server certificate and the CRL of a running
// ssl listener, and checks a broken file leaves the previous ones in place.
func TestReloadCerts(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA("test CA")
	caFile := filepath.Join(dir, "ca.crt")
	srvFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	crlFile := filepath.Join(dir, "crl.pem")
	one, two := ca.NewServer("server one"), ca.NewServer("server two")
	client := ca.NewClient("device-42")
	must(t, ca.WriteCert(caFile))
	must(t, one.Write(srvFile, keyFile))
	must(t, ca.WriteCRL(crlFile))

	n, _ := startNode(t,
		"listener.ssl.default = 127.0.0.1:0",
		"listener.ssl.cafile = "+caFile,
		"listener.ssl.certfile = "+srvFile,
		"listener.ssl.keyfile = "+keyFile,
		"listener.ssl.crlfile = "+crlFile,
		"listener.ssl.require_certificate = on",
	)
	addr := n.ListenerAddr("ssl")
	served := func(when string, want *testpki.Cert) {
		t.Helper()
		if serial, err := handshake(addr, ca, client); err != nil || serial.Cmp(want.Serial()) != 0 {
			t.Fatalf("%s: server serial %v, err %v; want %s's serial %v", when, serial, err, want.Cert.Subject.CommonName, want.Serial())
		}
	}
	served("before reload", one)
	established, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{client.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer established.Close()

	// Rotate the server certificate and revoke the client: both take effect on reload only.
	must(t, two.Write(srvFile, keyFile))
	must(t, ca.WriteCRL(crlFile, client.Serial()))
	served("files changed but not reloaded", one)
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts: %v", err)
	}
	if _, err := handshake(addr, ca, client); err == nil {
		t.Fatal("revoked client accepted after reloading the CRL")
	}
	must(t, ca.WriteCRL(crlFile))
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts: %v", err)
	}
	served("after reload", two)
	if got := established.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(one.Serial()) != 0 {
		t.Errorf("established connection sees serial %v, want its original %v", got, one.Serial())
	}

	// A broken certfile is reported and the listener keeps serving the last good one.
	must(t, testpki.WriteFile(srvFile, []byte("not a certificate\n")))
	if err := n.ReloadCerts(); err == nil {
		t.Fatal("ReloadCerts accepted a broken certfile")
	}
	served("after a failed reload", two)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReloadCertsWithoutTLS is a no-op success on a node without ssl/wss listeners.
func TestReloadCertsWithoutTLS(t *testing.T) {
	n, _ := startNode(t)
	if err := n.ReloadCerts(); err != nil {
		t.Fatalf("ReloadCerts without TLS listeners: %v", err)
	}
}

// Rotated TLS files are picked up without a signal, as VerneMQ's listeners pick them up
// through Erlang's PEM cache: the sweep reloads a listener whose files changed (and only
// those), and vmq-admin tls clear-pem-cache reloads at once.
func TestChangedCertsPickedUp(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA("test CA")
	caFile := filepath.Join(dir, "ca.crt")
	srvFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	one, two := ca.NewServer("server one"), ca.NewServer("server two")
	client := ca.NewClient("device-7")
	must(t, ca.WriteCert(caFile))
	must(t, one.Write(srvFile, keyFile))
	n, _ := startNode(t,
		"listener.ssl.default = 127.0.0.1:0",
		"listener.ssl.cafile = "+caFile,
		"listener.ssl.certfile = "+srvFile,
		"listener.ssl.keyfile = "+keyFile,
	)
	rot := rotation{t: t, addr: n.ListenerAddr("ssl"), ca: ca, client: client, files: []string{srvFile, keyFile}}
	served, touch := rot.served, rot.touch
	must(t, n.reloadChangedCerts())
	served("nothing changed", one)

	must(t, two.Write(srvFile, keyFile))
	touch(time.Now().Add(time.Minute))
	served("changed, before the sweep", one)
	must(t, n.reloadChangedCerts())
	served("after the sweep", two)

	must(t, one.Write(srvFile, keyFile))
	touch(time.Now().Add(2 * time.Minute))
	if res := adminCall(t, n, "tls clear-pem-cache"); res.Type != "text" || res.Text != "Done" {
		t.Fatalf("tls clear-pem-cache: %+v", res)
	}
	served("after tls clear-pem-cache", one)

	must(t, testpki.WriteFile(srvFile, []byte("not a certificate\n")))
	touch(time.Now().Add(3 * time.Minute))
	if res := adminCall(t, n, "tls clear-pem-cache"); res.Type != "error" || !strings.Contains(res.Error, "listener ssl/default") {
		t.Fatalf("tls clear-pem-cache with a broken certfile: %+v, want an error naming the listener", res)
	}
	if err := n.reloadChangedCerts(); err == nil {
		t.Fatal("the sweep accepted a broken certfile")
	}
	served("after failed reloads", one)
}

// An https listener (HTTP API, /metrics) serves a rotated certificate after the sweep or
// tls clear-pem-cache, and keeps serving the previous one when the new file is broken.
func TestHTTPSCertsPickedUp(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA("test CA")
	srvFile, keyFile := filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key")
	one, two := ca.NewServer("web one"), ca.NewServer("web two")
	must(t, one.Write(srvFile, keyFile))
	n, _ := startNode(t,
		"listener.https.default = 127.0.0.1:0",
		"listener.https.certfile = "+srvFile,
		"listener.https.keyfile = "+keyFile,
	)
	r := row(adminCall(t, n, "listener show"), "type", "https")
	if r == nil {
		t.Fatal("no https listener in listener show")
	}
	rot := rotation{t: t, addr: net.JoinHostPort(r[2], r[3]), ca: ca, files: []string{srvFile, keyFile}}
	served, touch := rot.served, rot.touch
	served("at start", one)
	must(t, two.Write(srvFile, keyFile))
	touch(time.Now().Add(time.Minute))
	served("changed, before the sweep", one)
	must(t, n.reloadChangedCerts())
	served("after the sweep", two)

	must(t, one.Write(srvFile, keyFile))
	touch(time.Now().Add(2 * time.Minute))
	if res := adminCall(t, n, "tls clear-pem-cache"); res.Type != "text" {
		t.Fatalf("tls clear-pem-cache: %+v", res)
	}
	served("after tls clear-pem-cache", one)

	must(t, testpki.WriteFile(keyFile, []byte("not a key\n")))
	touch(time.Now().Add(3 * time.Minute))
	if res := adminCall(t, n, "tls clear-pem-cache"); res.Type != "error" || !strings.Contains(res.Error, "listener https/default") {
		t.Fatalf("tls clear-pem-cache with a broken keyfile: %+v, want an error naming the listener", res)
	}
	served("after a failed reload", one)
}
