package listener

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"time"
)

// crlSet holds the serials revoked by CRLs whose signature checked out against
// the listener's CA bundle, keyed by issuer (raw subject).
type crlSet struct {
	revoked map[string]map[string]bool // issuer raw subject -> serial (decimal) -> true
}

func (s *crlSet) isRevoked(cert *x509.Certificate) bool {
	if s == nil {
		return false
	}
	serials := s.revoked[string(cert.RawIssuer)]
	return serials != nil && serials[cert.SerialNumber.String()]
}

// buildTLSConfig loads certificates, CA, CRL and policy from opts. Errors name
// the file and what to do about it.
func buildTLSConfig(o *Options, log *slog.Logger) (*tls.Config, error) {
	cert, err := loadKeyPair(o.CertFile, o.KeyFile, o.KeyPasswd)
	if err != nil {
		return nil, err
	}
	minV, maxV, err := parseTLSVersions(o.TLSVersion)
	if err != nil {
		return nil, fmt.Errorf("listener %s/%s: %w", o.Type, o.Name, err)
	}
	suites, skipped, err := parseCiphers(o.Ciphers)
	if err != nil {
		return nil, fmt.Errorf("listener %s/%s: %w", o.Type, o.Name, err)
	}
	if len(skipped) > 0 {
		log.Warn("ciphers not configurable in Go TLS were skipped", "listener", o.Type+"/"+o.Name, "ciphers", skipped)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   minV,
		MaxVersion:   maxV,
		CipherSuites: suites,
		ClientAuth:   tls.NoClientCert,
	}
	if o.CAFile == "" {
		return cfg, nil
	}
	pool, cas, err := loadCAs(o.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.ClientCAs = pool
	if o.RequireCertificate {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	} else {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	var crls *crlSet
	if o.CRLFile != "" {
		if crls, err = loadCRL(o.CRLFile, cas, log); err != nil {
			return nil, err
		}
	}
	depth := o.Depth
	cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
		return checkChains(chains, depth, crls)
	}
	return cfg, nil
}

// checkChains enforces depth and CRL on the verified chains: at least one
// chain must be short enough and contain no revoked certificate.
func checkChains(chains [][]*x509.Certificate, depth int, crls *crlSet) error {
	if len(chains) == 0 {
		return nil // no client certificate (VerifyClientCertIfGiven)
	}
	var lastErr error
	for _, chain := range chains {
		// chain = leaf, intermediates..., root: intermediates = len-2.
		if depth >= 0 && len(chain)-2 > depth {
			lastErr = fmt.Errorf("client certificate chain has %d intermediate CAs, more than depth %d", len(chain)-2, depth)
			continue
		}
		revoked := false
		for _, c := range chain {
			if crls.isRevoked(c) {
				revoked = true
				lastErr = fmt.Errorf("client certificate %q (serial %s) is revoked by the CRL", c.Subject.CommonName, c.SerialNumber)
				break
			}
		}
		if !revoked {
			return nil
		}
	}
	return lastErr
}

// loadKeyPair reads the PEM cert chain and key, decrypting a legacy
// "Proc-Type: 4,ENCRYPTED" key with passwd when given.
func loadKeyPair(certFile, keyFile, passwd string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certfile %s: %w: check the path and permissions", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keyfile %s: %w: check the path and permissions", keyFile, err)
	}
	if passwd != "" {
		if keyPEM, err = decryptKeyPEM(keyPEM, passwd, keyFile); err != nil {
			return tls.Certificate{}, err
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certfile %s / keyfile %s: %w: both must be PEM and the key must match the certificate (set keypasswd for an encrypted key)", certFile, keyFile, err)
	}
	return cert, nil
}

// decryptKeyPEM decrypts the first legacy-encrypted PEM block of a key file.
func decryptKeyPEM(keyPEM []byte, passwd, keyFile string) ([]byte, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("keyfile %s: no PEM block found: the key must be PEM encoded", keyFile)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("keyfile %s: PKCS#8 encrypted keys are not supported: convert with `openssl pkey -in %s -out key.pem -traditional -aes256`, or decrypt it", keyFile, keyFile)
	}
	// Legacy (deprecated) PEM encryption is what keypasswd means in VerneMQ setups.
	//lint:ignore SA1019 VerneMQ's keypasswd reads legacy encrypted PEM keys; users bring theirs
	if !x509.IsEncryptedPEMBlock(block) {
		return keyPEM, nil // keypasswd set on a plain key: harmless
	}
	//lint:ignore SA1019 see above: the legacy format is the one keypasswd is for
	der, err := x509.DecryptPEMBlock(block, []byte(passwd))
	if err != nil {
		return nil, fmt.Errorf("keyfile %s: cannot decrypt with keypasswd: %w: check the password", keyFile, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(caFile string) (*x509.CertPool, []*x509.Certificate, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cafile %s: %w: check the path and permissions", caFile, err)
	}
	pool := x509.NewCertPool()
	var cas []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("cafile %s: bad certificate: %w: regenerate or replace the CA bundle", caFile, err)
		}
		pool.AddCert(c)
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, nil, fmt.Errorf("cafile %s: no PEM CERTIFICATE blocks found: it must hold the CA certificate(s) in PEM", caFile)
	}
	return pool, cas, nil
}

// loadCRL reads PEM or DER CRLs and keeps those signed by one of cas.
func loadCRL(crlFile string, cas []*x509.Certificate, log *slog.Logger) (*crlSet, error) {
	data, err := os.ReadFile(crlFile)
	if err != nil {
		return nil, fmt.Errorf("crlfile %s: %w: check the path and permissions", crlFile, err)
	}
	var ders [][]byte
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "X509 CRL" {
			ders = append(ders, block.Bytes)
		}
	}
	if len(ders) == 0 {
		ders = [][]byte{data} // DER file
	}
	set := &crlSet{revoked: map[string]map[string]bool{}}
	now := time.Now()
	for _, der := range ders {
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("crlfile %s: %w: it must be a PEM (X509 CRL) or DER revocation list", crlFile, err)
		}
		issuer, err := crlIssuer(rl, cas)
		if err != nil {
			return nil, fmt.Errorf("crlfile %s: %w", crlFile, err)
		}
		if !rl.NextUpdate.IsZero() && rl.NextUpdate.Before(now) {
			// Still enforced: an expired CRL is better than none; the operator should refresh it.
			log.Warn("CRL is past its next update; publish a fresh one", "crlfile", crlFile, "next_update", rl.NextUpdate)
		}
		key := string(issuer.RawSubject)
		if set.revoked[key] == nil {
			set.revoked[key] = map[string]bool{}
		}
		for _, e := range rl.RevokedCertificateEntries {
			set.revoked[key][new(big.Int).Set(e.SerialNumber).String()] = true
		}
	}
	return set, nil
}

// crlIssuer finds the CA that signed rl.
func crlIssuer(rl *x509.RevocationList, cas []*x509.Certificate) (*x509.Certificate, error) {
	var errs []error
	for _, ca := range cas {
		if err := rl.CheckSignatureFrom(ca); err == nil {
			return ca, nil
		} else {
			errs = append(errs, err)
		}
	}
	return nil, fmt.Errorf("CRL issued by %q is not signed by any CA in cafile: add its issuer to cafile (%w)", rl.Issuer.String(), errors.Join(errs...))
}
