package listener

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
)

// KeyPair is a server certificate and key read from files and read again when they change,
// for TLS servers outside this package (the https listeners): handshakes take the pair
// last loaded, so a rotated certificate is served without a restart.
type KeyPair struct {
	certFile, keyFile string
	mu                sync.Mutex // orders reloads; handshakes only load cert
	stamp             string     // filesStamp when last loaded
	cert              atomic.Pointer[tls.Certificate]
}

// LoadKeyPair reads certFile and keyFile.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	k := &KeyPair{certFile: certFile, keyFile: keyFile}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the files again; on an error the pair loaded before stays served.
func (k *KeyPair) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	stamp := filesStamp(k.certFile, k.keyFile) // before reading: a file replaced meanwhile is read again next time
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("certfile %s, keyfile %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert.Store(&cert)
	k.stamp = stamp
	return nil
}

// Changed reports whether a file changed (time or size) since the pair was last loaded.
func (k *KeyPair) Changed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return filesStamp(k.certFile, k.keyFile) != k.stamp
}

// Served is the pair new handshakes present.
func (k *KeyPair) Served() *tls.Certificate { return k.cert.Load() }

// GetCertificate is tls.Config.GetCertificate serving the pair last loaded.
func (k *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cert.Load(), nil
}
