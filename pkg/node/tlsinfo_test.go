package node

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vernemq-go/vernemq/internal/freeport"
	"github.com/vernemq-go/vernemq/internal/testpki"
	"github.com/vernemq-go/vernemq/pkg/admin"
)

// TestTLSShowAndCheck runs vmq-admin tls show and tls check against a node whose ssl
// listener serves a certificate valid for an hour (cafile: its root) and whose https
// listener serves one valid for a year, issued by an intermediate (certfile: leaf and
// intermediate). The roots and the intermediate are testpki's, valid for a day.
func TestTLSShowAndCheck(t *testing.T) {
	dir := t.TempDir()
	root := testpki.NewCA("tls root")
	inter := root.NewIntermediate("tls intermediate")
	hour := root.NewServerValidFor(time.Hour, "one hour")
	year := inter.NewServerValidFor(365*24*time.Hour, "one year")
	caFile := filepath.Join(dir, "ca.crt")
	hourCrt, hourKey := filepath.Join(dir, "hour.crt"), filepath.Join(dir, "hour.key")
	yearCrt, yearKey := filepath.Join(dir, "year.crt"), filepath.Join(dir, "year.key")
	must(t, root.WriteCert(caFile))
	must(t, hour.Write(hourCrt, hourKey))
	must(t, year.Write(yearCrt, yearKey))

	n, _ := startNode(t,
		"listener.ssl.default = 127.0.0.1:0",
		"listener.ssl.default.cafile = "+caFile,
		"listener.ssl.default.certfile = "+hourCrt,
		"listener.ssl.default.keyfile = "+hourKey,
		"listener.https.api = 127.0.0.1:0",
		"listener.https.api.certfile = "+yearCrt,
		"listener.https.api.keyfile = "+yearKey,
	)
	// The listeners serve what tls show lists.
	if serial, err := handshake(n.ListenerAddr("ssl"), root, nil); err != nil || serial.Cmp(hour.Serial()) != 0 {
		t.Fatalf("ssl listener serves serial %v (err %v); want the one-hour certificate's %v", serial, err, hour.Serial())
	}

	type want struct {
		listener, kind, file string
		cert                 *x509.Certificate
	}
	all := []want{
		{"listener.ssl.default", "certfile", hourCrt, hour.Cert},
		{"listener.ssl.default", "cafile", caFile, root.Cert},
		{"listener.https.api", "certfile", yearCrt, year.Cert},
		{"listener.https.api", "chain", yearCrt, inter.Cert},
	}
	show := adminCall(t, n, "tls show")
	if show.Type != "table" || len(show.Rows) != len(all) {
		t.Fatalf("tls show: want %d rows, got %+v", len(all), show)
	}
	for _, w := range all {
		r := tlsRow(show, w.listener, w.kind)
		if r == nil {
			t.Fatalf("tls show has no %s of %s: %+v", w.kind, w.listener, show)
		}
		sans := strings.Join(append(slices.Clone(w.cert.DNSNames), ipStrings(w.cert)...), ", ")
		wantRow := map[string]string{
			"File": w.file, "Not_Before": w.cert.NotBefore.UTC().Format(time.DateTime),
			"Not_After": w.cert.NotAfter.UTC().Format(time.DateTime), "CN": w.cert.Subject.CommonName,
			"Issuer": w.cert.Issuer.CommonName, "SAN": sans, "Serial": strings.ToUpper(hex.EncodeToString(w.cert.SerialNumber.Bytes())),
			"Error": "",
		}
		for col, v := range wantRow {
			if got := r[col]; got != v {
				t.Errorf("tls show %s of %s: %s = %q, want %q", w.kind, w.listener, col, got, v)
			}
		}
	}

	// Default validity, 2 days: the one-hour leaf and the day-long CAs, not the one-year leaf.
	check := adminCall(t, n, "tls check")
	if check.Type != "table" || len(check.Rows) != 3 || tlsRow(check, "listener.https.api", "certfile") != nil {
		t.Fatalf("tls check: want the one-hour certificate and the two CAs, got %+v", check)
	}
	r := tlsRow(check, "listener.ssl.default", "certfile")
	if exp, err := strconv.Atoi(r["SecExp"]); err != nil || exp <= 3500 || exp > 3600 || r["CN"] != "one hour" {
		t.Fatalf("tls check: the one-hour certificate's row %v: want SecExp just under 3600", r)
	}
	if v, err := strconv.Atoi(r["SecToVal"]); err != nil || v > -3500 {
		t.Fatalf("tls check: SecToVal %q; want about -3600 (valid since an hour ago)", r["SecToVal"])
	}
	if res := adminCall(t, n, "tls check --validity=3000"); res.Type != "text" || res.Text != "All fine" {
		t.Fatalf("tls check --validity=3000: want All fine, got %+v", res)
	}
	if res := adminCall(t, n, "tls check -v=63072000"); res.Type != "table" || len(res.Rows) != len(all) {
		t.Fatalf("tls check over two years: want all %d certificates, got %+v", len(all), res)
	}
	if res := adminCall(t, n, "tls check --validity=soon"); res.Type != "error" || !strings.Contains(res.Error, "--validity") {
		t.Fatalf("tls check --validity=soon: want an error naming the flag, got %+v", res)
	}

	// The HTTP API answers the same, here over the https listener that serves the one-year certificate.
	key := adminCall(t, n, "api-key create").Text
	api := row(adminCall(t, n, "listener show"), "type", "https")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: root.ClientConfig("127.0.0.1", nil)}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://127.0.0.1:"+api[3]+"/api/v1/tls/check?--validity=63072000", nil)
	req.SetBasicAuth(key, "")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(year.Serial()) != 0 {
		t.Fatalf("https listener serves serial %v; want the one-year certificate's %v", got, year.Serial())
	}
	var js struct {
		Type  string              `json:"type"`
		Table []map[string]string `json:"table"`
	}
	if err := json.Unmarshal(body, &js); err != nil || resp.StatusCode != 200 || js.Type != "table" || len(js.Table) != len(all) ||
		!slices.ContainsFunc(js.Table, func(m map[string]string) bool { return m["CN"] == "one year" && m["Listener"] == "listener.https.api" }) {
		t.Fatalf("GET /api/v1/tls/check: %d %s", resp.StatusCode, body)
	}

	// A rotated certfile not reloaded yet: the file's certificate is fine, but the listener
	// still serves the one-hour one, which check lists as "served" until the reload.
	rotated := root.NewServerValidFor(365*24*time.Hour, "rotated")
	must(t, rotated.Write(hourCrt, hourKey))
	check = adminCall(t, n, "tls check")
	if r := tlsRow(check, "listener.ssl.default", "served"); r == nil || r["CN"] != "one hour" || r["File"] != hourCrt {
		t.Fatalf("tls check after an unreloaded rotation: want the served one-hour certificate, got %+v", check)
	}
	if r := tlsRow(check, "listener.ssl.default", "certfile"); r != nil {
		t.Fatalf("tls check lists the rotated file's certificate, valid for a year: %v", r)
	}
	if res := adminCall(t, n, "tls clear-pem-cache"); res.Type != "text" {
		t.Fatalf("tls clear-pem-cache: %+v", res)
	}
	show = adminCall(t, n, "tls show")
	if r := tlsRow(show, "listener.ssl.default", "certfile"); r == nil || r["CN"] != "rotated" || tlsRow(show, "listener.ssl.default", "served") != nil {
		t.Fatalf("tls show after the reload: want the rotated certificate and no served row, got %+v", show)
	}

	// A listener made at run time is listed while it exists.
	p, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(p)
	if res := adminCall(t, n, "listener start address=127.0.0.1 port="+port+" --ssl --certfile="+yearCrt+" --keyfile="+yearKey); res.Type != "text" {
		t.Fatalf("listener start --ssl: %+v", res)
	}
	if r := tlsRow(adminCall(t, n, "tls show"), "listener.ssl.cli_"+port, "certfile"); r == nil || r["CN"] != "one year" {
		t.Fatalf("tls show: the run-time ssl listener's row %v; want its one-year certificate", r)
	}
	adminCall(t, n, "listener stop address=127.0.0.1 port="+port)
	if res := adminCall(t, n, "listener delete address=127.0.0.1 port="+port); res.Type != "text" {
		t.Fatalf("listener delete: %+v", res)
	}
	if r := tlsRow(adminCall(t, n, "tls show"), "listener.ssl.cli_"+port, "certfile"); r != nil {
		t.Fatalf("tls show still lists the deleted listener: %v", r)
	}

	// Broken files are rows naming the listener and the file, in show and in check; the
	// https listener goes on serving what it read at start, which show lists.
	must(t, testpki.WriteFile(caFile, []byte("not a certificate\n")))
	must(t, os.Remove(yearCrt))
	for _, line := range []string{"tls show", "tls check --validity=0"} {
		res := adminCall(t, n, line)
		if res.Type != "table" {
			t.Fatalf("%s after breaking files: %+v", line, res)
		}
		if r := tlsRow(res, "listener.ssl.default", "cafile"); r == nil || r["File"] != caFile || !strings.Contains(r["Error"], "no PEM CERTIFICATE") {
			t.Errorf("%s: the garbled cafile's row %v; want its file and error", line, r)
		}
		if r := tlsRow(res, "listener.https.api", "certfile"); r == nil || r["File"] != yearCrt || !strings.Contains(r["Error"], "no such file") {
			t.Errorf("%s: the missing certfile's row %v; want its file and error", line, r)
		}
	}
	if r := tlsRow(adminCall(t, n, "tls show"), "listener.https.api", "served"); r == nil || r["CN"] != "one year" {
		t.Errorf("tls show: the https listener's served certificate %v; want the one-year one", r)
	}
}

// tlsRow is the row of a tls show or tls check table for listener and kind, by column name.
func tlsRow(res admin.Result, listener, kind string) map[string]string {
	for _, r := range res.Rows {
		m := map[string]string{}
		for i, h := range res.Headers {
			m[h] = r[i]
		}
		if m["Listener"] == listener && m["Kind"] == kind {
			return m
		}
	}
	return nil
}

func ipStrings(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}
