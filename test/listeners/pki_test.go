package listeners

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
	"time"
)

// pki is the throwaway certificate set every test uses, as PEM files in dir.
type pki struct {
	dir string
	// CAFile is the trusted client CA; CA2File an unrelated CA; CRLFile revokes "revoked".
	CAFile, CA2File, CRLFile string
	// ServerCert/ServerKey are for 127.0.0.1; ServerBundle is cert+key for HAProxy's crt.
	ServerCert, ServerKey, ServerBundle string
	// clients by name: device-42, intruder (CA), revoked (CA, in the CRL), stranger (CN device-42, CA2),
	// plus and hash (CA, CN "+" and "#": wildcard identities).
	clients map[string]clientCert
	caCert  *x509.Certificate
	ca      signer
}

// clientCert is one client certificate as files and as a tls.Certificate.
type clientCert struct {
	CertFile, KeyFile string
	TLS               tls.Certificate
	cert              *x509.Certificate
}

type signer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serialNo int64 = 1000

// newPKI generates CAs, the server certificate, client certificates and the CRL into dir.
func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir, clients: map[string]clientCert{}}
	ca, err := makeCert("vmq test CA", true, nil, nil)
	if err != nil {
		return nil, err
	}
	ca2, err := makeCert("some other CA", true, nil, nil)
	if err != nil {
		return nil, err
	}
	p.caCert, p.ca = ca.cert, ca
	if p.CAFile, _, err = p.write("ca", ca, false); err != nil {
		return nil, err
	}
	if p.CA2File, _, err = p.write("ca2", ca2, false); err != nil {
		return nil, err
	}
	srv, err := makeCert("127.0.0.1", false, []net.IP{net.ParseIP("127.0.0.1")}, &ca)
	if err != nil {
		return nil, err
	}
	if p.ServerCert, p.ServerKey, err = p.write("server", srv, true); err != nil {
		return nil, err
	}
	p.ServerBundle = filepath.Join(dir, "server-bundle.pem")
	if err := concat(p.ServerBundle, p.ServerCert, p.ServerKey); err != nil {
		return nil, err
	}
	var revoked *x509.Certificate
	for _, c := range []struct {
		name, cn string
		by       *signer
	}{{"device-42", "device-42", &ca}, {"intruder", "intruder", &ca}, {"revoked", "revoked-device", &ca}, {"stranger", "device-42", &ca2},
		{"plus", "+", &ca}, {"hash", "#", &ca}} {
		s, err := makeCert(c.cn, false, nil, c.by)
		if err != nil {
			return nil, err
		}
		crt, key, err := p.write(c.name, s, true)
		if err != nil {
			return nil, err
		}
		pair, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			return nil, err
		}
		if c.name == "revoked" {
			revoked = s.cert
		}
		p.clients[c.name] = clientCert{CertFile: crt, KeyFile: key, TLS: pair, cert: s.cert}
	}
	p.CRLFile = filepath.Join(dir, "crl.pem")
	return p, p.writeCRL(p.CRLFile, revoked)
}

// writeCRL writes a CRL of the test CA revoking certs to path (atomically, for reloads).
func (p *pki) writeCRL(path string, certs ...*x509.Certificate) error {
	var entries []x509.RevocationListEntry
	for _, c := range certs {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, p.ca.cert, p.ca.key)
	if err != nil {
		return err
	}
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// newServerCert issues another 127.0.0.1 server certificate into certFile/keyFile
// (atomically) and returns its serial.
func (p *pki) newServerCert(certFile, keyFile string) (*big.Int, error) {
	s, err := makeCert("127.0.0.1", false, []net.IP{net.ParseIP("127.0.0.1")}, &p.ca)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, err
	}
	return s.cert.SerialNumber, writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw}))
}

// writeAtomic replaces path by rename so a reload never reads a half-written file.
func writeAtomic(path string, data []byte) error {
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// makeCert creates a CA (isCA) or a leaf for cn signed by parent (self-signed if nil).
func makeCert(cn string, isCA bool, ips []net.IP, parent *signer) (signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signer{}, err
	}
	serialNo++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serialNo),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"vernemq-go tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  ips,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = nil
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return signer{}, err
	}
	c, err := x509.ParseCertificate(der)
	return signer{cert: c, key: key}, err
}

// write stores s as name.pem (and name.key when withKey) in the PKI dir.
func (p *pki) write(name string, s signer, withKey bool) (string, string, error) {
	crt := filepath.Join(p.dir, name+".pem")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw}), 0o600); err != nil {
		return "", "", err
	}
	if !withKey {
		return crt, "", nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return "", "", err
	}
	key := filepath.Join(p.dir, name+".key")
	return crt, key, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func concat(dst string, srcs ...string) error {
	var all []byte
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		all = append(all, b...)
	}
	return os.WriteFile(dst, all, 0o600)
}

// client returns the named client certificate; it panics on a typo in a test.
func (p *pki) client(name string) clientCert {
	c, ok := p.clients[name]
	if !ok {
		panic("no test client certificate " + name)
	}
	return c
}

// tlsConfig trusts the test CA and presents the named client certificate ("" = none).
func (p *pki) tlsConfig(name string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if name != "" {
		// Always present it: crypto/tls would otherwise withhold a certificate whose
		// issuer is not in the server's CA list and never test the server's check.
		cert := p.client(name).TLS
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return cfg
}
