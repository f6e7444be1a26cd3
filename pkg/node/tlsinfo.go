package node

import (
	"bytes"
	"crypto/tls"
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

// tlsCerts lists the certificates of every TLS listener (ssl, wss, https and the vmqs
// cluster listener) for vmq-admin tls show and tls check: each certificate of its certfile
// (the leaf first, then its chain) and of its cafile. They are read from the configured
// files now, as VerneMQ's tls show reads them, not from the loaded TLS config: the files
// are what the next reload (the 2-minute sweep, SIGHUP, tls clear-pem-cache) serves, and
// a broken one is reported as a row with Err, naming the listener and the file. When the
// listener serves another leaf than its certfile's first (a rotation not reloaded yet, a
// broken file it kept out, an https or vmqs listener, which reads its files at start
// only), that leaf is one more row, Kind "served", so an expiry check sees it too.
func (n *Node) tlsCerts(web *httpListeners) []admin.CertInfo {
	served := n.servedCerts(web)
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
		certs, first := certFileInfo(name, "certfile", lc.CertFile)
		out = append(out, certs...)
		if leaf := served[name]; leaf != nil && (first == nil || !bytes.Equal(first.Raw, leaf.Raw)) {
			out = append(out, certInfo(name, "served", lc.CertFile, leaf))
		}
		if lc.CAFile != "" {
			cas, _ := certFileInfo(name, "cafile", lc.CAFile)
			out = append(out, cas...)
		}
	}
	return out
}

// servedCerts is the leaf each running TLS listener presents now, by conf name.
func (n *Node) servedCerts(web *httpListeners) map[string]*x509.Certificate {
	out := map[string]*x509.Certificate{}
	add := func(typ, name string, c *tls.Certificate) {
		if c == nil || len(c.Certificate) == 0 {
			return
		}
		leaf := c.Leaf
		if leaf == nil {
			var err error
			if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
				return // it was parsed when loaded; a failure here would be a bug, and the file rows still show
			}
		}
		out["listener."+typ+"."+name] = leaf
	}
	n.mu.Lock()
	for _, ml := range n.listeners {
		add(ml.cfg.Type, ml.cfg.Name, ml.l.ServedCert())
	}
	n.mu.Unlock()
	for _, l := range web.httpsListeners() {
		add(l.cfg.Type, l.cfg.Name, l.kp.Served())
	}
	if f := n.clusterTLS.Load(); f != nil {
		add(f.cfg.Type, f.cfg.Name, f.kp.Served())
	}
	return out
}

// certFileInfo reads the PEM certificates of file (conf key kind of listener). In a
// certfile the first is the leaf and the others are its "chain". Other PEM blocks (a key
// in a combined file) are skipped; a file without certificates is an error row. first is
// the file's first certificate, nil when the file is an error row.
func certFileInfo(listener, kind, file string) (rows []admin.CertInfo, first *x509.Certificate) {
	fail := func(err error) ([]admin.CertInfo, *x509.Certificate) {
		return []admin.CertInfo{{Listener: listener, Kind: kind, File: file, Err: err.Error()}}, nil
	}
	if file == "" {
		return fail(fmt.Errorf("%s is not set", kind))
	}
	data, err := readBounded(file, maxCertFile)
	if err != nil {
		return fail(err)
	}
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
		if first == nil {
			first = c
		}
		rows = append(rows, certInfo(listener, k, file, c))
	}
	if len(rows) == 0 {
		return fail(errors.New("no PEM CERTIFICATE block in it"))
	}
	return rows, first
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
	return admin.CertInfo{Listener: listener, Kind: kind, File: file, CN: c.Subject.CommonName,
		Issuer: c.Issuer.CommonName, SAN: san, Serial: serialHex(c), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// serialHex is c's serial in whole bytes of upper-case hex, as openssl x509 -serial prints it.
func serialHex(c *x509.Certificate) string {
	s := fmt.Sprintf("%X", c.SerialNumber)
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}
