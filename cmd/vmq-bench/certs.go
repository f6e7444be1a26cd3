package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vernemq-go/vernemq/internal/testpki"
)

// writeCerts creates ca.pem, server.pem and server.key (P-256, valid for 127.0.0.1 and localhost) in dir.
func writeCerts(dir string) error {
	ca := testpki.NewCA("vmq-bench CA")
	if err := ca.WriteCert(filepath.Join(dir, "ca.pem")); err != nil {
		return err
	}
	return ca.NewServer("127.0.0.1").Write(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
}

// clientTLS trusts only the CA in caFile; no session cache, so every connection pays a full handshake.
func clientTLS(caFile string) (*tls.Config, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it; create one with vmq-bench certs -dir DIR", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, nil
}
