package logging

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vernemq-go/vernemq/pkg/config"
)

// SyslogConfig says where and how log lines go to syslog.
type SyslogConfig struct {
	Format   string // rfc3164 or rfc5424
	Facility int
	AppName  string
	Socket   string // local socket (unixgram, else unix stream) when Host is empty
	Host     string // remote server
	Port     int
	Protocol string // udp, tcp or tls
	CAFile   string // tls: roots that verify the server; empty = system roots
}

func syslogConfigFrom(cfg *config.Config) SyslogConfig {
	return SyslogConfig{
		Format:   cfg.String("log.syslog.format"),
		Facility: config.SyslogFacility(cfg.String("log.syslog.facility")),
		AppName:  cfg.String("log.syslog.app_name"),
		Socket:   cfg.String("log.syslog.socket"),
		Host:     cfg.String("log.syslog.remote.host"),
		Port:     int(cfg.Int("log.syslog.remote.port")),
		Protocol: cfg.String("log.syslog.remote.protocol"),
		CAFile:   cfg.String("log.syslog.remote.tls.cafile"),
	}
}

// syslogQueue bounds the lines waiting for the syslog connection: a slow or absent
// server costs dropped lines, never a blocked logger.
const syslogQueue = 4096

// syslogWriter sends formatted lines from one goroutine, so no caller of the logger
// ever waits on the network; it redials (at most once a second) when the connection fails.
type syslogWriter struct {
	c        SyslogConfig
	tls      *tls.Config
	report   *slog.Logger
	hostname string
	pid      string
	lines    chan []byte
	dropped  atomic.Uint64
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func newSyslogWriter(c SyslogConfig, report *slog.Logger) (*syslogWriter, error) {
	w := &syslogWriter{c: c, report: report, pid: strconv.Itoa(os.Getpid()),
		lines: make(chan []byte, syslogQueue), stop: make(chan struct{}), done: make(chan struct{})}
	w.hostname, _ = os.Hostname()
	if w.hostname == "" {
		w.hostname = "-"
	}
	if c.Host != "" && c.Protocol == "tls" {
		w.tls = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("log.syslog.remote.tls.cafile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("log.syslog.remote.tls.cafile: %s holds no PEM certificate", c.CAFile)
			}
			w.tls.RootCAs = pool
		}
	}
	go w.run()
	return w, nil
}

// send queues one message of severity sev (RFC 5424 numbering); it drops it when the queue is full.
func (w *syslogWriter) send(sev int, msg []byte) {
	line := w.format(sev, time.Now(), msg)
	select {
	case w.lines <- line:
	default:
		w.dropped.Add(1)
	}
}

// format builds one message: RFC 3164 "<PRI>Mmm dd hh:mm:ss host app[pid]: msg" or
// RFC 5424 "<PRI>1 timestamp host app pid - - msg".
func (w *syslogWriter) format(sev int, t time.Time, msg []byte) []byte {
	pri := w.c.Facility*8 + sev
	var b bytes.Buffer
	if w.c.Format == "rfc5424" {
		fmt.Fprintf(&b, "<%d>1 %s %s %s %s - - ", pri, t.UTC().Format("2006-01-02T15:04:05.000000Z"),
			w.hostname, w.c.AppName, w.pid)
	} else {
		fmt.Fprintf(&b, "<%d>%s %s %s[%s]: ", pri, t.Format(time.Stamp), w.hostname, w.c.AppName, w.pid)
	}
	b.Write(bytes.TrimRight(msg, "\n"))
	return b.Bytes()
}

func (w *syslogWriter) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if w.c.Host == "" {
		c, err := d.Dial("unixgram", w.c.Socket)
		if err != nil {
			c, err = d.Dial("unix", w.c.Socket)
		}
		return c, err
	}
	addr := net.JoinHostPort(w.c.Host, strconv.Itoa(w.c.Port))
	switch w.c.Protocol {
	case "tcp":
		return d.Dial("tcp", addr)
	case "tls":
		return tls.DialWithDialer(&d, "tcp", addr, w.tls)
	}
	return d.Dial("udp", addr)
}

// stream reports whether messages need framing (RFC 6587 octet counting).
func stream(c net.Conn) bool {
	switch c.LocalAddr().Network() {
	case "udp", "unixgram":
		return false
	}
	return true
}

func (w *syslogWriter) run() {
	defer close(w.done)
	var c net.Conn
	var lastDial time.Time
	failing := false
	deliver := func(line []byte) {
		if c == nil {
			if time.Since(lastDial) < time.Second {
				w.dropped.Add(1)
				return
			}
			lastDial = time.Now()
			var err error
			if c, err = w.dial(); err != nil {
				c = nil
				w.dropped.Add(1)
				if !failing {
					w.report.Warn("syslog unreachable; lines are dropped until it is back", "error", err)
					failing = true
				}
				return
			}
			if failing {
				w.report.Info("syslog reachable again", "dropped_lines", w.dropped.Load())
				failing = false
			}
		}
		if err := w.write(c, line); err != nil {
			c.Close()
			c = nil
			w.dropped.Add(1)
		}
	}
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for {
		select {
		case line := <-w.lines:
			deliver(line)
		case <-w.stop:
			for { // send what is queued, then stop
				select {
				case line := <-w.lines:
					deliver(line)
				default:
					return
				}
			}
		}
	}
}

func (w *syslogWriter) write(c net.Conn, line []byte) error {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if stream(c) {
		line = append([]byte(strconv.Itoa(len(line))+" "), line...)
	}
	_, err := c.Write(line)
	return err
}

// Close sends what is queued and closes the connection.
func (w *syslogWriter) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return nil
}

// syslogHandler renders records as text (without time: the syslog header has it) and
// queues them with the record's severity.
type syslogHandler struct {
	w     *syslogWriter
	level slog.Leveler
	mu    *sync.Mutex
	buf   *bytes.Buffer
	inner slog.Handler
}

func newSyslogHandler(w *syslogWriter, level slog.Leveler) *syslogHandler {
	buf := new(bytes.Buffer)
	inner := slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	return &syslogHandler{w: w, level: level, mu: new(sync.Mutex), buf: buf, inner: inner}
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	h.buf.Reset()
	err := h.inner.Handle(ctx, r)
	msg := bytes.Clone(h.buf.Bytes())
	h.mu.Unlock()
	if err != nil {
		return err
	}
	h.w.send(severity(r.Level), msg)
	return nil
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	return &c
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

// severity maps slog levels to syslog severities: error 3, warning 4, info 6, debug 7.
func severity(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}
