package listener

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
)

// opensslToGo maps OpenSSL cipher names (as VerneMQ's ciphers key takes them)
// to Go's TLS 1.0–1.2 suites.
var opensslToGo = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
}

// tls13Names are TLS 1.3 suites: always enabled in Go and not configurable, so
// naming them is accepted and has no effect.
var tls13Names = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// unsupportedPrefixes are OpenSSL families Go does not implement (finite-field
// DH, PSK, SRP, Camellia, ARIA, CCM...); they are skipped with a warning so a
// stock OpenSSL cipher list still loads.
var unsupportedPrefixes = []string{"DHE-", "EDH-", "ADH-", "AECDH-", "PSK-", "DHE_", "RSA-PSK-", "ECDHE-PSK-", "DHE-PSK-", "SRP-", "CAMELLIA", "ARIA", "SEED-", "IDEA-", "DES-CBC-", "EXP-", "ECDH-", "NULL-", "GOST"}

// unsupportedInfix catches AEAD modes Go lacks inside otherwise known names.
var unsupportedInfix = []string{"-CCM", "-CAMELLIA", "-ARIA", "-SHA224"}

// parseCiphers turns a VerneMQ ciphers value into Go suite IDs. Names Go cannot
// do but OpenSSL knows are returned in skipped; unknown names are an error.
func parseCiphers(s string) (ids []uint16, skipped []string, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil, nil
	}
	goNames := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		goNames[cs.Name] = cs.ID
	}
	for _, cs := range tls.InsecureCipherSuites() {
		goNames[cs.Name] = cs.ID
	}
	var unknown []string
	seen := map[uint16]bool{}
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		up := strings.ToUpper(strings.TrimSpace(name))
		id, ok := opensslToGo[up]
		if !ok && !tls13Names[up] {
			id, ok = goNames[up]
		}
		switch {
		case ok:
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		case tls13Names[up]:
			skipped = append(skipped, name)
		case isKnownUnsupported(up):
			skipped = append(skipped, name)
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, fmt.Errorf("unknown cipher names %s: use OpenSSL names such as %s", strings.Join(unknown, ", "), strings.Join(supportedCipherNames()[:4], ", "))
	}
	if len(ids) == 0 && len(skipped) > 0 && !allTLS13(skipped) {
		return nil, nil, fmt.Errorf("none of the ciphers %q is supported: add at least one of %s", s, strings.Join(supportedCipherNames(), ", "))
	}
	return ids, skipped, nil
}

func isKnownUnsupported(up string) bool {
	for _, p := range unsupportedPrefixes {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	for _, p := range unsupportedInfix {
		if strings.Contains(up, p) {
			return true
		}
	}
	return false
}

func allTLS13(names []string) bool {
	for _, n := range names {
		if !tls13Names[strings.ToUpper(n)] {
			return false
		}
	}
	return true
}

// supportedCipherNames lists the OpenSSL names that map to Go suites, sorted.
func supportedCipherNames() []string {
	out := make([]string, 0, len(opensslToGo))
	for n := range opensslToGo {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// parseTLSVersions maps VerneMQ's tls_version (one or a comma list of tlsv1,
// tlsv1.1, tlsv1.2, tlsv1.3) to Go's min and max versions.
func parseTLSVersions(s string) (minV, maxV uint16, err error) {
	if strings.TrimSpace(s) == "" {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	names := map[string]uint16{
		"tlsv1": tls.VersionTLS10, "tlsv1.0": tls.VersionTLS10, "tlsv1.1": tls.VersionTLS11,
		"tlsv1.2": tls.VersionTLS12, "tlsv1.3": tls.VersionTLS13,
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ':' }) {
		v, ok := names[strings.ToLower(strings.Trim(f, "'\"[]"))]
		if !ok {
			return 0, 0, fmt.Errorf("unknown tls_version %q: use tlsv1.2, tlsv1.3 (or tlsv1, tlsv1.1), comma separated", f)
		}
		if minV == 0 || v < minV {
			minV = v
		}
		if v > maxV {
			maxV = v
		}
	}
	return minV, maxV, nil
}
