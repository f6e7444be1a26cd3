// Package testpki issues throwaway certificates for tests and the vmq-bench
// tool: a root CA, intermediates, server and client leaves, CRLs, and the
// PEM files and tls.Configs built from them. It imports only the standard
// library and must never be imported by a shipped binary (vernemq, vmq-admin,
// vmq-passwd); TestNotInShippedBinaries checks that.
//
// Issuing panics on failure, as httptest.NewTLSServer does: with valid
// templates only a broken crypto/rand can make it fail. Writing files returns
// errors, since the file system can.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Validity of every certificate and CRL: an hour of clock skew either side
// of a test run, and a day ahead so that a long benchmark does not outlive it.
const (
	skew     = time.Hour
	lifetime = 24 * time.Hour
)

// CA is a certificate authority: a self-signed root or an intermediate.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// chain is this CA's certificate and the intermediates above it, up to
	// but without the root: what a leaf it issues must present.
	chain []*x509.Certificate
	root  *x509.Certificate
}

// Cert is a leaf certificate, its key, and the intermediates that lead to the
// root (nearest first, root excluded).
type Cert struct {
	Cert  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate
}

// NewCA returns a self-signed root CA named cn.
func NewCA(cn string) *CA {
	key := newKey()
	tmpl := caTemplate(cn)
	c := sign(tmpl, tmpl, key, key)
	return &CA{Cert: c, Key: key, root: c}
}

// NewIntermediate returns a CA named cn signed by ca.
func (ca *CA) NewIntermediate(cn string) *CA {
	key := newKey()
	c := sign(caTemplate(cn), ca.Cert, key, ca.Key)
	return &CA{Cert: c, Key: key, root: ca.root, chain: append([]*x509.Certificate{c}, ca.chain...)}
}

// NewServer issues a server certificate for cn whose SANs are hosts (each an
// IP address or a DNS name); without hosts it is valid for 127.0.0.1 and
// localhost.
func (ca *CA) NewServer(cn string, hosts ...string) *Cert {
	return ca.issue(withHosts(leafTemplate(cn, x509.ExtKeyUsageServerAuth), hosts))
}

// NewServerValidFor is NewServer with a certificate that expires after validFor (from
// now; it became valid an hour ago), for tests of expiry checks such as vmq-admin tls check.
func (ca *CA) NewServerValidFor(validFor time.Duration, cn string, hosts ...string) *Cert {
	tmpl := withHosts(leafTemplate(cn, x509.ExtKeyUsageServerAuth), hosts)
	tmpl.NotAfter = time.Now().Add(validFor)
	return ca.issue(tmpl)
}

// NewPeer issues a certificate that serves and dials with one identity, as a cluster
// node's does on mutual-TLS data links (listener.vmqs); hosts as for NewServer.
func (ca *CA) NewPeer(cn string, hosts ...string) *Cert {
	tmpl := withHosts(leafTemplate(cn, x509.ExtKeyUsageServerAuth), hosts)
	tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	return ca.issue(tmpl)
}

func withHosts(tmpl *x509.Certificate, hosts []string) *x509.Certificate {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "localhost"}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

// NewClient issues a client certificate with common name cn, which a listener
// with use_identity_as_username makes the MQTT username.
func (ca *CA) NewClient(cn string) *Cert {
	return ca.issue(leafTemplate(cn, x509.ExtKeyUsageClientAuth))
}

func (ca *CA) issue(tmpl *x509.Certificate) *Cert {
	key := newKey()
	return &Cert{Cert: sign(tmpl, ca.Cert, key, ca.Key), Key: key, Chain: ca.chain}
}

// Root is the self-signed certificate at the top of ca's chain.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// Pool holds ca's root, for RootCAs or ClientCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// CertPEM is ca's own certificate as PEM.
func (ca *CA) CertPEM() []byte { return CertsPEM(ca.Cert) }

// WriteCert writes ca's certificate as PEM to path, atomically.
func (ca *CA) WriteCert(path string) error { return WriteFile(path, ca.CertPEM()) }

// CRL returns a PEM CRL signed by ca that revokes the given serials. Its
// number grows with the clock, so a later CRL supersedes an earlier one.
func (ca *CA) CRL(revoked ...*big.Int) []byte {
	now := time.Now()
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(now.UnixNano()),
		ThisUpdate:                now.Add(-skew),
		NextUpdate:                now.Add(lifetime),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		panic(fmt.Sprintf("testpki: CRL of %q: %v", ca.Cert.Subject.CommonName, err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// WriteCRL writes ca.CRL(revoked...) to path, atomically, so a listener
// reloading it never reads half a file.
func (ca *CA) WriteCRL(path string, revoked ...*big.Int) error {
	return WriteFile(path, ca.CRL(revoked...))
}

// ClientConfig trusts ca's root for a server named serverName and, when
// cert is not nil, always presents cert: crypto/tls would otherwise withhold
// a certificate whose issuer the server did not list, and the server's own
// check would go untested.
func (ca *CA) ClientConfig(serverName string, cert *Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: serverName}
	if cert != nil {
		c := cert.TLS()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

// Serial is c's serial number, for a CRL or to tell certificates apart.
func (c *Cert) Serial() *big.Int { return c.Cert.SerialNumber }

// TLS is c with its chain and key, Leaf set.
func (c *Cert) TLS() tls.Certificate {
	t := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, ic := range c.Chain {
		t.Certificate = append(t.Certificate, ic.Raw)
	}
	return t
}

// CertPEM is c followed by its chain, as a certfile holds them.
func (c *Cert) CertPEM() []byte {
	return CertsPEM(append([]*x509.Certificate{c.Cert}, c.Chain...)...)
}

// KeyPEM is c's key as PKCS#8 PEM ("PRIVATE KEY").
func (c *Cert) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic(fmt.Sprintf("testpki: key of %q: %v", c.Cert.Subject.CommonName, err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Write writes c's certificate chain to certFile and its key to keyFile,
// each atomically; the key first, so a reload that sees the new certificate
// also finds its key.
func (c *Cert) Write(certFile, keyFile string) error {
	if err := WriteFile(keyFile, c.KeyPEM()); err != nil {
		return err
	}
	return WriteFile(certFile, c.CertPEM())
}

// WriteBundle writes c's certificate chain and key into one file, as
// HAProxy's crt wants it.
func (c *Cert) WriteBundle(path string) error {
	return WriteFile(path, append(c.CertPEM(), c.KeyPEM()...))
}

// CertsPEM encodes certs as consecutive PEM CERTIFICATE blocks.
func CertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// WriteFile writes data to path (mode 0600) through a temp file and a rename,
// so a reader never sees it half written.
func WriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("testpki: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("testpki: %w", err)
	}
	return nil
}

func caTemplate(cn string) *x509.Certificate {
	t := baseTemplate(cn)
	t.IsCA, t.BasicConstraintsValid = true, true
	t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return t
}

func leafTemplate(cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	t := baseTemplate(cn)
	t.KeyUsage = x509.KeyUsageDigitalSignature
	t.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	return t
}

func baseTemplate(cn string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"vernemq-go tests"}},
		NotBefore:    now.Add(-skew),
		NotAfter:     now.Add(lifetime),
	}
}

// newSerial is random, as a real CA's: unique across CAs, processes and
// test runs, so no two certificates of one test share a serial by chance.
func newSerial() *big.Int {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("testpki: serial: %v", err))
	}
	return s.Add(s, big.NewInt(1))
}

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("testpki: key: %v", err))
	}
	return k
}

func sign(tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		panic(fmt.Sprintf("testpki: sign %q: %v", tmpl.Subject.CommonName, err))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(fmt.Sprintf("testpki: parse %q: %v", tmpl.Subject.CommonName, err))
	}
	return c
}
