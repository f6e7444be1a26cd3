package listeners

import (
	"context"
	"crypto/tls"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// sslConf is an ssl listener requiring a client certificate of the test CA,
// checking the CRL and using the CN as username.
func sslConf(t *testing.T, caFile, certFile, keyFile, crlFile string) map[string]string {
	return map[string]string{
		"listener.ssl.default":                  freeAddr(t),
		"listener.ssl.cafile":                   caFile,
		"listener.ssl.certfile":                 certFile,
		"listener.ssl.keyfile":                  keyFile,
		"listener.ssl.crlfile":                  crlFile,
		"listener.ssl.require_certificate":      "on",
		"listener.ssl.use_identity_as_username": "on",
	}
}

// TestDirectTLS: the CN is the username (the ACL only lets device-42 write under
// devices/device-42/), and clients without a valid, unrevoked certificate of the CA are refused.
func TestDirectTLS(t *testing.T) {
	t.Parallel()
	n := startNode(t, deviceACL, sslConf(t, certs.CAFile, certs.ServerCert, certs.ServerKey, certs.CRLFile))
	ssl := n.addr("listener.ssl.default")
	watcher := mustV5(t, n.addr("listener.tcp.default"), "watcher")
	watcher.subscribe(t, "devices/#")

	// The CONNECT username is a lie on purpose: the certificate's CN must replace it.
	dev, err := tlsV5(ssl, certs.tlsConfig("device-42"), "dev42", "intruder")
	if err != nil {
		t.Fatalf("device-42 with a CA-signed certificate: %v", err)
	}
	defer dev.close()
	if rc := dev.publish(t, "devices/device-42/temp", "21.5"); rc != 0 {
		t.Fatalf("device-42 publishing to its own topic: PUBACK 0x%02x, want 0 (CN not used as username?)", rc)
	}
	watcher.expect(t, "devices/device-42/temp", "21.5", 5*time.Second)
	if rc := dev.publish(t, "devices/intruder/temp", "nope"); rc != 0x87 {
		t.Fatalf("device-42 publishing to another device's topic: PUBACK 0x%02x, want 0x87", rc)
	}

	in, err := tlsV5(ssl, certs.tlsConfig("intruder"), "intr", "device-42")
	if err != nil {
		t.Fatalf("intruder with a CA-signed certificate must connect (and be limited by the ACL): %v", err)
	}
	defer in.close()
	if rc := in.publish(t, "devices/device-42/temp", "forged"); rc != 0x87 {
		t.Fatalf("CN=intruder claiming username device-42: PUBACK 0x%02x, want 0x87 (CONNECT username must not win)", rc)
	}
	watcher.none(t, "forged", 300*time.Millisecond)
	watcher.none(t, "nope", 10*time.Millisecond)

	refusedTLS(t, ssl, certs.tlsConfig(""), "no client certificate")
	refusedTLS(t, ssl, certs.tlsConfig("stranger"), "certificate of another CA")
	refusedTLS(t, ssl, certs.tlsConfig("revoked"), "revoked certificate")
	watcher.roundTrip(t, "probe/watcher", "still serving")
}

// TestDirectTLSMosquitto does the same with mosquitto_pub (v5, QoS 1).
func TestDirectTLSMosquitto(t *testing.T) {
	t.Parallel()
	needTool(t, "mosquitto_pub", "scripts/install-test-deps.sh")
	n := startNode(t, deviceACL, sslConf(t, certs.CAFile, certs.ServerCert, certs.ServerKey, certs.CRLFile))
	host, port := splitHostPort(t, n.addr("listener.ssl.default"))
	watcher := mustV5(t, n.addr("listener.tcp.default"), "watcher")
	watcher.subscribe(t, "devices/#")
	pub := func(client, topic, payload string) (string, error) {
		args := []string{"-h", host, "-p", port, "-V", "mqttv5", "-q", "1", "--cafile", certs.CAFile,
			"-t", topic, "-m", payload, "-i", "mosq-" + client}
		if client != "" {
			args = append(args, "--cert", certs.client(client).CertFile, "--key", certs.client(client).KeyFile)
		}
		return mosquittoPub(t, args...)
	}
	if out, err := pub("device-42", "devices/device-42/m", "from-mosquitto"); err != nil {
		t.Fatalf("mosquitto_pub as device-42: %v\n%s", err, out)
	}
	watcher.expect(t, "devices/device-42/m", "from-mosquitto", 5*time.Second)
	out, err := pub("intruder", "devices/device-42/m", "forged-by-mosquitto")
	if !strings.Contains(strings.ToLower(out), "not authorized") {
		t.Fatalf("mosquitto_pub as intruder (err %v): no 'not authorized' (PUBACK 0x87) in output:\n%s", err, out)
	}
	for _, c := range []string{"", "stranger", "revoked"} {
		if out, err := pub(c, "devices/device-42/m", "refused-"+c); err == nil {
			t.Errorf("mosquitto_pub with client cert %q succeeded, want a refused handshake:\n%s", c, out)
		}
	}
	watcher.none(t, "forged-by-mosquitto", 300*time.Millisecond)
}

// TestSIGHUPReloadsCerts: SIGHUP makes the running binary pick up a new server
// certificate and a new CRL; a broken certfile keeps the last good one.
func TestSIGHUPReloadsCerts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	crt, key, crl := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "crl.pem")
	first, err := certs.newServerCert(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.writeCRL(crl); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, deviceACL, sslConf(t, certs.CAFile, crt, key, crl))
	ssl := n.addr("listener.ssl.default")
	if got := serverSerial(t, ssl, "device-42"); got.Cmp(first) != 0 {
		t.Fatalf("server serial %v, want %v", got, first)
	}

	second, err := certs.newServerCert(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.writeCRL(crl, certs.client("device-42").Serial()); err != nil {
		t.Fatal(err)
	}
	if err := n.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	n.waitLog(regexp.MustCompile(`msg="certificates reloaded".*name=default`), 5*time.Second)
	if got := serverSerial(t, ssl, "intruder"); got.Cmp(second) != 0 {
		t.Fatalf("after SIGHUP the server serial is %v, want the new %v", got, second)
	}
	refusedTLS(t, ssl, certs.tlsConfig("device-42"), "device-42 revoked by the reloaded CRL")

	if err := testpki.WriteFile(crt, []byte("garbage\n")); err != nil {
		t.Fatal(err)
	}
	if err := n.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	n.waitLog(regexp.MustCompile(`msg="certificate reload failed`), 5*time.Second)
	if got := serverSerial(t, ssl, "intruder"); got.Cmp(second) != 0 {
		t.Fatalf("after a failed reload the server serial is %v, want the last good %v", got, second)
	}
	select {
	case <-n.Done:
		t.Fatalf("vernemq exited on SIGHUP: %v", n.Err)
	default:
	}
}

// serverSerial connects with the named client certificate and returns the server certificate's serial.
func serverSerial(t *testing.T, addr, client string) *big.Int {
	t.Helper()
	c, err := tlsV5(addr, certs.tlsConfig(client), "serial-"+client, "")
	if err != nil {
		t.Fatalf("connect as %s: %v", client, err)
	}
	defer c.close()
	return c.conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

// TestWildcardCN: a certificate CN of "+" or "#" used as the user name does not widen a
// %u pattern: its wildcard subscriptions are refused, its own literal level is not
// (docs/security.md; test/abuse covers CONNECT identities and the PROXY CN).
func TestWildcardCN(t *testing.T) {
	t.Parallel()
	n := startNode(t, "pattern users/%u/#\n", sslConf(t, certs.CAFile, certs.ServerCert, certs.ServerKey, certs.CRLFile))
	ssl := n.addr("listener.ssl.default")
	for _, c := range []struct{ cert, filter string }{{"plus", "users/+/#"}, {"plus", "users/+/x"}, {"hash", "users/#"}} {
		cl, err := tlsV5(ssl, certs.tlsConfig(c.cert), "wild-"+c.cert, "")
		if err != nil {
			t.Fatalf("%s: %v", c.cert, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		ack, err := cl.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: c.filter, QoS: 1}}})
		cancel()
		if err == nil && (len(ack.Reasons) != 1 || ack.Reasons[0] < 0x80) {
			t.Errorf("CN %q subscribed %s: %v, want refused", certs.client(c.cert).cert.Cert.Subject.CommonName, c.filter, ack.Reasons)
		}
		cl.close()
	}
	dev, err := tlsV5(ssl, certs.tlsConfig("device-42"), "dev42-users", "")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.close()
	dev.subscribe(t, "users/device-42/#")
}
