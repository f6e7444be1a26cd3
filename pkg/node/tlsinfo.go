package node

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vernemq-go/vernemq/pkg/admin"
)

// maxCertFile bounds what tls show reads of one file: a CA bundle is a few hundred KiB,
// and a certfile pointed at a device or a log must not make the command read without end.
const maxCertFile = 16 << 20

// TLSCerts lists the certificates of every TLS listener (ssl, wss, https and the vmqs
// cluster listener) for vmq-admin tls show and tls check: each certificate of its certfile
// (the leaf first, then its chain) and of its cafile. They are read from the configured
// files now, as VerneMQ's tls show reads them, not from the loaded TLS config: the files
// are what the next reload (the 2-minute sweep, SIGHUP, tls clear-pem-cache) serves, and
// a broken one is reported as a row with Err, naming the listener and the file.
func (n *Node) TLSCerts() []admin.CertInfo {
	var out []admin.CertInfo
	seenCluster := false
	for _, lc := range n.Cfg.Listeners() {
		switch lc.Type {
		case "ssl", "wss", "https":
		case "vmq", "vmqs":
			// The cluster runs on the first of them only (startCluster).
			if seenCluster || lc.Type == "vmq" {
				seenCluster = true
				continue
			}
			seenCluster = true
		default:
			continue
		}
		name := "listener." + lc.Type + "." + lc.Name
		out = append(out, certFileInfo(name, "certfile", lc.CertFile)...)
		if lc.CAFile != "" {
			out = append(out, certFileInfo(name, "cafile", lc.CAFile)...)
		}
	}
	return out
}

// certFileInfo reads the PEM certificates of file (conf key kind of listener). In a
// certfile the first is the leaf and the others are its "chain". Other PEM blocks (a key
// in a combined file) are skipped; a file without certificates is an error row.
func certFileInfo(listener, kind, file string) []admin.CertInfo {
	fail := func(err error) []admin.CertInfo {
		return []admin.CertInfo{{Listener: listener, Kind: kind, File: file, Err: err.Error()}}
	}
	if file == "" {
		return fail(fmt.Errorf("%s is not set", kind))
	}
	data, err := readBounded(file, maxCertFile)
	if err != nil {
		return fail(err)
	}
	var out []admin.CertInfo
	for rest, i := data, 0; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		i++
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fail(fmt.Errorf("certificate %d: %w", i, err))
		}
		k := kind
		if kind == "certfile" && i > 1 {
			k = "chain"
		}
		out = append(out, certInfo(listener, k, file, c))
	}
	if len(out) == 0 {
		return fail(errors.New("no PEM CERTIFICATE block in it"))
	}
	return out
}

// readBounded reads file, refusing one larger than limit.
func readBounded(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a certificate file", file, limit>>20)
	}
	return data, nil
}

func certInfo(listener, kind, file string, c *x509.Certificate) admin.CertInfo {
	var san []string
	san = append(san, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		san = append(san, ip.String())
	}
	san = append(san, c.EmailAddresses...)
	for _, u := range c.URIs {
		san = append(san, u.String())
	}
	serial := fmt.Sprintf("%X", c.SerialNumber)
	if len(serial)%2 == 1 {
		serial = "0" + serial // whole bytes, as openssl x509 -serial prints it
	}
	return admin.CertInfo{Listener: listener, Kind: kind, File: file, CN: c.Subject.CommonName,
		Issuer: c.Issuer.CommonName, SAN: san, Serial: serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}
