package admin

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// defaultValidity is tls check's window in seconds without --validity: VerneMQ's 2 days.
const defaultValidity = 2 * 24 * 3600

// Column names and order are VerneMQ's (vmq_ssl_cli): File, Not_Before, Not_After, then
// CN, Issuer, SAN for show and SecExp, SecToVal for check. The columns after them are this
// broker's: which listener and which conf key a certificate comes from, its serial, and
// why a file could not be read. VerneMQ shows only the first certificate of each
// listener's certfile and fails the whole command on a bad file.
var (
	tlsShowHeaders  = []string{"File", "Not_Before", "Not_After", "CN", "Issuer", "SAN", "Listener", "Kind", "Serial", "Error"}
	tlsCheckHeaders = []string{"File", "Not_Before", "Not_After", "SecExp", "SecToVal", "Listener", "Kind", "CN", "Serial", "Error"}
)

// tlsCommands are VerneMQ's tls show, tls check and tls clear-pem-cache.
func tlsCommands(r *Registry, b *Backend) {
	r.Register(Command{
		Path:  "tls show",
		Help:  "Show information about TLS (PEM) certificates",
		Long:  tlsSourceHelp,
		Flags: clusterFlags,
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.TLSCerts != nil, "TLS listeners"); !ok {
				return res
			}
			var rows [][]string
			for _, c := range b.TLSCerts() {
				rows = append(rows, []string{c.File, certDate(c.NotBefore), certDate(c.NotAfter), c.CN, c.Issuer,
					strings.Join(c.SAN, ", "), c.Listener, c.Kind, c.Serial, c.Err})
			}
			return Table(tlsShowHeaders, rows)
		}),
	})
	r.Register(Command{
		Path: "tls check",
		Help: "Show certificates that expire within --validity seconds, have expired or are not yet valid",
		Long: "Prints \"All fine\" when none does, else a table of those; SecExp is the seconds left until\n" +
			"Not_After (negative once expired), SecToVal the seconds until Not_Before (positive while\n" +
			"not yet valid). A file that cannot be read is listed with its Error. The exit code is 0\n" +
			"either way, as VerneMQ's; a monitoring script alerts on any answer but \"All fine\" (or, with\n" +
			"--format=json, on \"type\":\"table\").\n\n" + tlsSourceHelp,
		Flags: append([]Param{{Name: "validity", Short: "v", Value: "Seconds", Default: "172800 = 2 days",
			Help: "list certificates that expire within this many seconds from now"}}, clusterFlags...),
		Run: clustered(b, func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.TLSCerts != nil, "TLS listeners"); !ok {
				return res
			}
			validity := int64(defaultValidity)
			if v, ok := req.Flag("validity"); ok {
				secs, err := strconv.ParseInt(v, 10, 64)
				if err != nil || secs < 0 {
					return Errorf("--validity=%q is not a number of seconds (e.g. --validity=604800 for a week)", v)
				}
				validity = secs
			}
			return tlsCheck(b.TLSCerts(), validity, time.Now())
		}),
	})
	r.Register(Command{
		Path: "tls clear-pem-cache",
		Help: "Read the TLS files of every ssl, wss, https and vmqs listener again",
		Long: "New handshakes use the files as they are now; established connections keep theirs. Changed files\n" +
			"are also picked up every 2 minutes, and on SIGHUP. A listener whose files fail to load keeps\n" +
			"its previous certificates and the error names it.",
		Run: func(ctx context.Context, req *Request) Result {
			if res, ok := ready(b.ReloadCerts != nil, "TLS listeners"); !ok {
				return res
			}
			if err := b.ReloadCerts(); err != nil {
				return Errorf("%v", err)
			}
			return Text("Done")
		},
	})
}

// tlsSourceHelp says where tls show and tls check read the certificates from.
const tlsSourceHelp = "Lists every certificate in the certfile (Kind certfile: the listener's own; chain: the rest)\n" +
	"and cafile of each ssl, wss, https and vmqs listener, read from the files now. A listener\n" +
	"serves a changed file within 2 minutes (at once after tls clear-pem-cache). While a listener\n" +
	"serves another certificate than its certfile's first, that one is listed too, Kind served.\n" +
	"Dates are UTC."

// tlsCheck keeps the certificates that are expired, expire before now+validity or are
// not yet valid (VerneMQ's SecExp < validity or SecToVal > 0), and the unreadable files.
// validity is in seconds: a time.Duration would overflow past 292 years, which a user may type.
func tlsCheck(certs []CertInfo, validity int64, now time.Time) Result {
	var rows [][]string
	for _, c := range certs {
		// Unix seconds: Time.Sub saturates at ±292 years, which a certificate may be valid for.
		secExp := c.NotAfter.Unix() - now.Unix()
		secToVal := c.NotBefore.Unix() - now.Unix()
		if c.Err == "" && secExp >= validity && secToVal <= 0 {
			continue
		}
		row := []string{c.File, certDate(c.NotBefore), certDate(c.NotAfter), "", "", c.Listener, c.Kind, c.CN, c.Serial, c.Err}
		if c.Err == "" {
			row[3], row[4] = strconv.FormatInt(secExp, 10), strconv.FormatInt(secToVal, 10)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return Text("All fine")
	}
	return Table(tlsCheckHeaders, rows)
}

// certDate is VerneMQ's "2026-12-06 20:54:34" (UTC); empty for an unreadable file.
func certDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}
