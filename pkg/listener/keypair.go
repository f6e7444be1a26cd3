package listener

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// KeyPair is a certificate and key (and optionally the CA certificates peers must chain
// to) read from files and read again when they change, for TLS outside this package (the
// https listeners, the vmqs cluster link): handshakes take what was last loaded, so a
// rotated certificate or CA is used without a restart.
type KeyPair struct {
	certFile, keyFile, caFile string
	mu                        sync.Mutex // orders reloads; handshakes only load cert and pool
	stamp                     string     // filesStamp when last loaded
	cert                      atomic.Pointer[tls.Certificate]
	pool                      atomic.Pointer[x509.CertPool]
}

// LoadKeyPair reads certFile and keyFile.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	return LoadKeyPairCA(certFile, keyFile, "")
}

// LoadKeyPairCA reads certFile and keyFile, and the CA certificates of caFile ("" for none).
func LoadKeyPairCA(certFile, keyFile, caFile string) (*KeyPair, error) {
	k := &KeyPair{certFile: certFile, keyFile: keyFile, caFile: caFile}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the files again; on an error the pair loaded before stays served.
func (k *KeyPair) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	stamp := filesStamp(k.certFile, k.keyFile, k.caFile) // before reading: a file replaced meanwhile is read again next time
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("certfile %s, keyfile %s: %w", k.certFile, k.keyFile, err)
	}
	var pool *x509.CertPool
	if k.caFile != "" {
		pem, err := os.ReadFile(k.caFile)
		if err != nil {
			return fmt.Errorf("cafile: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("cafile %s: no PEM certificate in it", k.caFile)
		}
	}
	k.cert.Store(&cert)
	k.pool.Store(pool)
	k.stamp = stamp
	return nil
}

// Pool is the CA certificates last loaded from the cafile (nil without one).
func (k *KeyPair) Pool() *x509.CertPool { return k.pool.Load() }

// GetClientCertificate is tls.Config.GetClientCertificate presenting the pair last loaded.
func (k *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return k.cert.Load(), nil
}

// Changed reports whether a file changed (time or size) since the pair was last loaded.
func (k *KeyPair) Changed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return filesStamp(k.certFile, k.keyFile, k.caFile) != k.stamp
}

// Served is the pair new handshakes present.
func (k *KeyPair) Served() *tls.Certificate { return k.cert.Load() }

// GetCertificate is tls.Config.GetCertificate serving the pair last loaded.
func (k *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cert.Load(), nil
}
