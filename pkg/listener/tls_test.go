package listener

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/eventually"
)

func sslOptions(p *pki) Options {
	return Options{Type: "ssl", CAFile: p.caFile, CertFile: p.serverCert, KeyFile: p.serverKey}
}

// tlsDial connects and completes a round trip, returning the first error.
// Under TLS 1.3 a rejected client certificate only surfaces on the first read.
func tlsRoundTrip(l *Listener, cfg *tls.Config, msg string) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", l.Addr().String(), cfg)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		c.Close()
		return nil, err
	}
	buf := make([]byte, len(msg))
	if _, err := c.Read(buf); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func TestTLSClientCertCNReachesPeer(t *testing.T) {
	p := newPKI(t)
	o := sslOptions(p)
	o.RequireCertificate, o.UseIdentityAsUsername, o.CRLFile = true, true, p.crlFile
	l, rec := start(t, o)
	c, err := tlsRoundTrip(l, p.clientTLS(&p.client), "hello")
	if err != nil {
		t.Fatalf("valid client cert rejected: %v", err)
	}
	defer c.Close()
	peer := rec.next(t)
	if peer.CN != "device-42" || !peer.CNAsUsername || peer.Type != "ssl" || peer.Listener != "ssl/default" {
		t.Fatalf("peer = %+v, want CN device-42 with CNAsUsername", peer)
	}
	if peer.Addr.String() != c.LocalAddr().String() {
		t.Errorf("Peer.Addr = %v, want %v", peer.Addr, c.LocalAddr())
	}
}

func TestTLSRejections(t *testing.T) {
	p := newPKI(t)
	o := sslOptions(p)
	o.RequireCertificate, o.CRLFile = true, p.crlFile
	l, rec := start(t, o)
	cases := []struct {
		name string
		cert *tls.Certificate
	}{
		{"revoked", &p.revoked},
		{"missing", nil},
		{"unknown CA", &p.stranger},
	}
	for i, c := range cases {
		if conn, err := tlsRoundTrip(l, p.clientTLS(c.cert), "x"); err == nil {
			conn.Close()
			t.Fatalf("%s client certificate accepted", c.name)
		}
		want := uint64(i + 1)
		eventually.True(t, eventually.Wait, c.name+" counted in TLSErrors", func() bool { return l.Stats().TLSErrors == want })
	}
	rec.none(t)
	eventually.True(t, eventually.Wait, "no active connections", func() bool { return l.Stats().Active == 0 })
}

func TestTLSOptionalClientCert(t *testing.T) {
	p := newPKI(t)
	l, rec := start(t, sslOptions(p)) // cafile set, require_certificate off
	c, err := tlsRoundTrip(l, p.clientTLS(nil), "anon")
	if err != nil {
		t.Fatalf("client without certificate rejected: %v", err)
	}
	c.Close()
	if peer := rec.next(t); peer.CN != "" || peer.CNAsUsername {
		t.Fatalf("peer = %+v, want no CN", peer)
	}
	c, err = tlsRoundTrip(l, p.clientTLS(&p.client), "cert")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if peer := rec.next(t); peer.CN != "device-42" || peer.CNAsUsername {
		t.Fatalf("peer = %+v, want CN device-42 without CNAsUsername", peer)
	}
	// A certificate that is given must still verify.
	if c, err := tlsRoundTrip(l, p.clientTLS(&p.stranger), "x"); err == nil {
		c.Close()
		t.Fatal("certificate from unknown CA accepted")
	}
}

func TestTLSDepth(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		depth int
		cert  *tls.Certificate
		ok    bool
	}{
		{0, &p.viaIntermediate, true}, // 0 = VerneMQ default 1: one intermediate allowed
		{1, &p.viaTwoIntermediates, false},
		{2, &p.viaTwoIntermediates, true},
		{-1, &p.viaTwoIntermediates, true}, // unlimited
	} {
		o := sslOptions(p)
		o.RequireCertificate = true
		o.Depth = tc.depth
		l, rec := start(t, o)
		c, err := tlsRoundTrip(l, p.clientTLS(tc.cert), "deep")
		if (err == nil) != tc.ok {
			t.Fatalf("depth %d, %s: err = %v, want ok=%v", tc.depth, tc.cert.Leaf.Subject.CommonName, err, tc.ok)
		}
		if !tc.ok {
			eventually.True(t, eventually.Wait, "TLS error counted", func() bool { return l.Stats().TLSErrors == 1 })
			rec.none(t)
			continue
		}
		c.Close()
		if peer := rec.next(t); peer.CN != tc.cert.Leaf.Subject.CommonName {
			t.Fatalf("peer = %+v", peer)
		}
	}
	// Depth 0 proper (root-signed only) at the chain check.
	chain := []*x509.Certificate{p.viaIntermediate.Leaf, {}, p.ca.Cert}
	if err := checkChains([][]*x509.Certificate{chain}, 0, nil); err == nil || !strings.Contains(err.Error(), "depth 0") {
		t.Fatalf("checkChains depth 0 = %v, want depth error", err)
	}
}

func TestTLSVersionAndCiphers(t *testing.T) {
	p := newPKI(t)
	o := sslOptions(p)
	o.TLSVersion = "tlsv1.3"
	l, _ := start(t, o)
	cfg := p.clientTLS(nil)
	cfg.MaxVersion = tls.VersionTLS12
	if c, err := tlsRoundTrip(l, cfg, "x"); err == nil {
		c.Close()
		t.Fatal("TLS 1.2 client accepted by a tlsv1.3-only listener")
	}

	o = sslOptions(p)
	o.TLSVersion = "tlsv1.2"
	o.Ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384"
	l, _ = start(t, o)
	cfg = p.clientTLS(nil)
	c, err := tlsRoundTrip(l, cfg, "x")
	if err != nil {
		t.Fatal(err)
	}
	st := c.ConnectionState()
	c.Close()
	if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("negotiated %s / %s, want TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	}
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	cfg.MaxVersion = tls.VersionTLS12
	if c, err := tlsRoundTrip(l, cfg, "x"); err == nil {
		c.Close()
		t.Fatal("cipher outside the configured list negotiated")
	}
}

func TestParseCiphersAndVersions(t *testing.T) {
	ids, skipped, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,DHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || ids[1] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("ids = %x", ids)
	}
	if len(skipped) != 2 {
		t.Errorf("skipped = %v, want the DHE and TLS 1.3 names", skipped)
	}
	if _, _, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:FOO-BAR:BAZ"); err == nil || !strings.Contains(err.Error(), "FOO-BAR, BAZ") {
		t.Errorf("unknown names error = %v, want it to name FOO-BAR, BAZ", err)
	}
	if _, _, err := parseCiphers("DHE-RSA-AES128-GCM-SHA256"); err == nil {
		t.Error("a list with no usable cipher accepted")
	}
	if lo, hi, err := parseTLSVersions("tlsv1.2,tlsv1.3"); err != nil || lo != tls.VersionTLS12 || hi != tls.VersionTLS13 {
		t.Errorf("tlsv1.2,tlsv1.3 = %x %x %v", lo, hi, err)
	}
	if _, _, err := parseTLSVersions("sslv3"); err == nil || !strings.Contains(err.Error(), "sslv3") {
		t.Errorf("sslv3 = %v, want error naming it", err)
	}
}

func TestTLSLoadErrorsNameFiles(t *testing.T) {
	p := newPKI(t)
	h := newRecorder().handle
	missing := filepath.Join(p.dir, "nope.pem")
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.CertFile = missing }, missing},
		{func(o *Options) { o.KeyFile = missing }, missing},
		{func(o *Options) { o.CAFile = p.serverKey }, p.serverKey},
		{func(o *Options) { o.CRLFile = p.caFile }, p.caFile},
		{func(o *Options) { o.Ciphers = "NOT-A-CIPHER" }, "NOT-A-CIPHER"},
		{func(o *Options) { o.CAFile = ""; o.RequireCertificate = true }, "cafile"},
	} {
		o := sslOptions(p)
		o.Addr = "127.0.0.1:0"
		tc.mod(&o)
		if _, err := New(o, h, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want error naming %s", err, tc.want)
		}
	}
}

func TestTLSEncryptedKey(t *testing.T) {
	p := newPKI(t)
	keyPEM, err := os.ReadFile(p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	//lint:ignore SA1019 legacy encrypted PEM is what keypasswd is for
	enc, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", block.Bytes, []byte("s3cret"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	encFile := filepath.Join(p.dir, "server-enc.key")
	if err := os.WriteFile(encFile, pem.EncodeToMemory(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	o := sslOptions(p)
	o.KeyFile, o.KeyPasswd = encFile, "wrong"
	o.Addr = "127.0.0.1:0"
	if _, err := New(o, newRecorder().handle, nil); err == nil || !strings.Contains(err.Error(), encFile) {
		t.Fatalf("wrong keypasswd: %v, want error naming %s", err, encFile)
	}
	o.KeyPasswd = "s3cret"
	l, rec := start(t, o)
	c, err := tlsRoundTrip(l, p.clientTLS(nil), "enc")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	rec.next(t)
}

func TestTLSReloadCerts(t *testing.T) {
	p := newPKI(t)
	o := sslOptions(p)
	o.RequireCertificate, o.CRLFile = true, p.crlFile
	l, rec := start(t, o)
	c, err := tlsRoundTrip(l, p.clientTLS(&p.client), "before")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec.next(t)

	// A new CRL revoking device-42 applies to new connections after reload.
	if err := p.ca.WriteCRL(p.crlFile, p.revoked.Leaf.SerialNumber, p.client.Leaf.SerialNumber); err != nil {
		t.Fatal(err)
	}
	if err := l.ReloadCerts(); err != nil {
		t.Fatal(err)
	}
	if c2, err := tlsRoundTrip(l, p.clientTLS(&p.client), "after"); err == nil {
		c2.Close()
		t.Fatal("device-42 accepted after its certificate was revoked and certs reloaded")
	}
	echo(t, c, "established connection keeps working")

	// A broken file fails the reload, names the file, and keeps the old config.
	if err := os.WriteFile(p.crlFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.ReloadCerts(); err == nil || !strings.Contains(err.Error(), p.crlFile) {
		t.Fatalf("reload with bad CRL = %v, want error naming it", err)
	}
	if c2, err := tlsRoundTrip(l, p.clientTLS(&p.revoked), "x"); err == nil {
		c2.Close()
		t.Fatal("revoked-7 accepted: the old CRL config was dropped by a failed reload")
	}
	if _, err := tlsRoundTrip(l, p.clientTLS(&p.client), "x"); err == nil {
		t.Fatal("device-42 accepted: the reloaded CRL was dropped by a failed reload")
	}
}
