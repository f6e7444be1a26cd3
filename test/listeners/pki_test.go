package listeners

import (
	"crypto/tls"
	"math/big"
	"os"
	"path/filepath"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// pki is the throwaway certificate set every test uses, as PEM files in dir.
type pki struct {
	// CAFile is the trusted client CA; CA2File an unrelated CA; CRLFile revokes "revoked".
	CAFile, CA2File, CRLFile string
	// ServerCert/ServerKey are for 127.0.0.1; ServerBundle is cert+key for HAProxy's crt.
	ServerCert, ServerKey, ServerBundle string
	// clients by name: device-42, intruder (CA), revoked (CA, in the CRL), stranger (CN device-42, another CA),
	// plus and hash (CA, CN "+" and "#": wildcard identities).
	clients map[string]clientCert
	ca      *testpki.CA
}

// clientCert is one client certificate as files and as issued.
type clientCert struct {
	CertFile, KeyFile string
	cert              *testpki.Cert
}

// newPKI generates the CA, the server certificate, client certificates and the CRL into dir.
func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, other := testpki.NewCA("vmq test CA"), testpki.NewCA("some other CA")
	p := &pki{
		ca: ca, clients: map[string]clientCert{},
		CAFile: filepath.Join(dir, "ca.pem"), CA2File: filepath.Join(dir, "ca2.pem"), CRLFile: filepath.Join(dir, "crl.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server.key"),
		ServerBundle: filepath.Join(dir, "server-bundle.pem"),
	}
	srv := ca.NewServer("127.0.0.1", "127.0.0.1")
	if err := ca.WriteCert(p.CAFile); err != nil {
		return nil, err
	}
	if err := other.WriteCert(p.CA2File); err != nil {
		return nil, err
	}
	if err := srv.Write(p.ServerCert, p.ServerKey); err != nil {
		return nil, err
	}
	if err := srv.WriteBundle(p.ServerBundle); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		cert *testpki.Cert
	}{
		{"device-42", ca.NewClient("device-42")},
		{"intruder", ca.NewClient("intruder")},
		{"revoked", ca.NewClient("revoked-device")},
		{"stranger", other.NewClient("device-42")},
		{"plus", ca.NewClient("+")},
		{"hash", ca.NewClient("#")},
	} {
		cc := clientCert{CertFile: filepath.Join(dir, c.name+".pem"), KeyFile: filepath.Join(dir, c.name+".key"), cert: c.cert}
		if err := c.cert.Write(cc.CertFile, cc.KeyFile); err != nil {
			return nil, err
		}
		p.clients[c.name] = cc
	}
	return p, p.writeCRL(p.CRLFile, p.client("revoked").Serial())
}

// writeCRL writes a CRL of the test CA revoking serials to path (atomically, for reloads).
func (p *pki) writeCRL(path string, serials ...*big.Int) error {
	return p.ca.WriteCRL(path, serials...)
}

// newServerCert issues another 127.0.0.1 server certificate into certFile/keyFile
// (atomically) and returns its serial.
func (p *pki) newServerCert(certFile, keyFile string) (*big.Int, error) {
	s := p.ca.NewServer("127.0.0.1", "127.0.0.1")
	return s.Serial(), s.Write(certFile, keyFile)
}

// client returns the named client certificate; it panics on a typo in a test.
func (p *pki) client(name string) clientCert {
	c, ok := p.clients[name]
	if !ok {
		panic("no test client certificate " + name)
	}
	return c
}

// Serial is the client certificate's serial number.
func (c clientCert) Serial() *big.Int { return c.cert.Serial() }

// tlsConfig trusts the test CA and always presents the named client certificate ("" = none).
func (p *pki) tlsConfig(name string) *tls.Config {
	if name == "" {
		return p.ca.ClientConfig("127.0.0.1", nil)
	}
	return p.ca.ClientConfig("127.0.0.1", p.client(name).cert)
}
