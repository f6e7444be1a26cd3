package admin

import (
	"testing"
	"time"
)

// TestTLSCheckWindow: VerneMQ's rule, SecExp < validity or SecToVal > 0, at its edges,
// and a file that could not be read is always listed.
func TestTLSCheckWindow(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cert := func(cn string, from, until time.Duration) CertInfo {
		return CertInfo{Listener: "listener.ssl.default", Kind: "certfile", File: cn + ".crt", CN: cn,
			NotBefore: now.Add(from), NotAfter: now.Add(until)}
	}
	certs := []CertInfo{
		cert("at-edge", -time.Hour, time.Hour),            // SecExp = validity: not listed
		cert("inside", -time.Hour, time.Hour-time.Second), // SecExp < validity
		cert("expired", -2*time.Hour, -time.Minute),
		cert("not-yet", time.Minute, 400*24*time.Hour),
		{Listener: "listener.wss.default", Kind: "cafile", File: "gone.crt", Err: "open gone.crt: no such file or directory"},
	}
	res := tlsCheck(certs, 3600, now)
	if res.Type != "table" || len(res.Rows) != 4 {
		t.Fatalf("want 4 rows (inside, expired, not-yet, the broken file), got %+v", res)
	}
	want := [][]string{
		{"inside.crt", "2026-12-06 11:00:00", "2026-12-06 12:59:59", "3599", "-3600"},
		{"expired.crt", "2026-12-06 10:00:00", "2026-12-06 11:59:00", "-60", "-7200"},
		{"not-yet.crt", "2026-12-06 12:01:00", "2028-01-10 12:00:00", "34560000", "60"},
		{"gone.crt", "", "", "", ""},
	}
	for i, w := range want {
		for j, v := range w {
			if res.Rows[i][j] != v {
				t.Errorf("row %d %s = %q, want %q (%v)", i, res.Headers[j], res.Rows[i][j], v, res.Rows[i])
			}
		}
	}
	if got := res.Rows[3][len(res.Headers)-1]; got != certs[4].Err {
		t.Errorf("broken file's Error = %q", got)
	}
	if res := tlsCheck(certs[:1], 3600, now); res.Type != "text" || res.Text != "All fine" {
		t.Fatalf("nothing due: want VerneMQ's All fine, got %+v", res)
	}
	// RFC 5280's "no well-defined expiration" (9999-12-31) is beyond what a time.Duration
	// holds, and so is a validity a user may type.
	forever := CertInfo{File: "forever.crt", NotBefore: now.Add(-time.Hour), NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	if res := tlsCheck([]CertInfo{forever}, 31536000000, now); res.Type != "text" {
		t.Fatalf("validity of 1,000 years, certificate until 9999: want All fine, got %+v", res)
	}
	if res := tlsCheck([]CertInfo{forever}, 1<<62, now); res.Type != "table" || res.Rows[0][3] != "251605742399" {
		t.Fatalf("validity beyond 9999: want the certificate with SecExp 251605742399, got %+v", res)
	}
}
