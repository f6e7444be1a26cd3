// Package logging builds a node's logger from VerneMQ's log.* keys: the console log
// (standard error and/or a file), the error log (warnings and errors in a second
// file), size-based rotation of both, and syslog (local socket or a remote server,
// RFC 3164 or RFC 5424).
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/vernemq-go/vernemq/pkg/config"
)

// levelOff is above every level a record has: nothing is written.
const levelOff = slog.Level(100)

// LevelNames are the levels log.console.level and vmq-admin log level take: Erlang
// logger's, plus all (everything).
var LevelNames = []string{"none", "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency", "all"}

// Level maps VerneMQ's (Erlang logger's) level names to slog's four: notice is info,
// and critical, alert and emergency are error; all is debug and none writes nothing.
// ok is false for any other name.
func Level(name string) (l slog.Level, ok bool) {
	switch strings.ToLower(name) {
	case "debug", "all":
		return slog.LevelDebug, true
	case "info", "notice":
		return slog.LevelInfo, true
	case "warning":
		return slog.LevelWarn, true
	case "error", "critical", "alert", "emergency":
		return slog.LevelError, true
	case "none":
		return levelOff, true
	}
	return slog.LevelInfo, false
}

// ParseLevel is Level for names the conf schema has already checked ("warn" is
// accepted too); anything else is info.
func ParseLevel(s string) slog.Level {
	if strings.EqualFold(s, "warn") {
		return slog.LevelWarn
	}
	l, _ := Level(s)
	return l
}

// levelName is the VerneMQ name of the slog level an output runs at.
func levelName(l slog.Level) string {
	switch {
	case l >= levelOff:
		return "none"
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// Logs is a node's logging: the one logger and the outputs it writes to, named as
// VerneMQ 2 names its logger handlers (vmq-admin log show config), each with a level
// that changes at run time.
type Logs struct {
	Logger  *slog.Logger
	outputs []*output
	closers []io.Closer
}

// Output describes one log output as vmq-admin log show config prints it.
type Output struct {
	Logger string // VerneMQ's handler id: default (the error log), console, consolefile, syslog
	Level  string // debug, info, warning, error or none
	Type   string // standard_error, file or syslog
	File   string // the file written; "-" for the others
}

type output struct {
	id, typ, file string
	level         *slog.LevelVar
}

// New builds the logger that log.console, log.error and log.syslog describe. A
// log.console.level change at run time (vmq-admin set) sets the level of console and
// consolefile, and of syslog when log.syslog.level = all; Logs.SetLevel sets one output's.
func New(cfg *config.Config) (*Logs, error) {
	l := &Logs{}
	add := func(id, typ, file string, level slog.Level) *slog.LevelVar {
		o := &output{id: id, typ: typ, file: file, level: new(slog.LevelVar)}
		o.level.Set(level)
		l.outputs = append(l.outputs, o)
		return o.level
	}
	var handlers []slog.Handler
	fail := func(err error) (*Logs, error) {
		l.Close()
		return nil, err
	}
	console := ParseLevel(cfg.String("log.console.level"))
	followers := []string{"console", "consolefile"} // the outputs at log.console.level

	// The error log first, as VerneMQ's handler list has it; its id is Erlang's "default".
	if cfg.Bool("log.error") {
		path := cfg.String("log.error.file")
		w, err := openFile("log.error", path, cfg)
		if err != nil {
			return fail(err)
		}
		l.closers = append(l.closers, w)
		handlers = append(handlers, newHandler(w, cfg.String("log.error.file.format"), add("default", "file", path, slog.LevelWarn)))
	}
	mode := cfg.String("log.console")
	if mode == "console" || mode == "both" {
		handlers = append(handlers, newHandler(os.Stderr, cfg.String("log.console.console.format"),
			add("console", "standard_error", "-", console)))
	}
	if mode == "file" || mode == "both" {
		path := cfg.String("log.console.file")
		w, err := openFile("log.console", path, cfg)
		if err != nil {
			return fail(err)
		}
		l.closers = append(l.closers, w)
		handlers = append(handlers, newHandler(w, cfg.String("log.console.file.format"), add("consolefile", "file", path, console)))
	}
	if cfg.Bool("log.syslog") {
		// Syslog trouble is reported on the other outputs only, never to syslog itself.
		report := slog.New(slog.NewMultiHandler(handlers...))
		w, err := newSyslogWriter(syslogConfigFrom(cfg), report)
		if err != nil {
			return fail(err)
		}
		l.closers = append(l.closers, w)
		level := console
		if s := cfg.String("log.syslog.level"); s != "all" {
			level = ParseLevel(s)
		} else {
			followers = append(followers, "syslog")
		}
		handlers = append(handlers, newSyslogHandler(w, add("syslog", "syslog", "-", level)))
	}
	l.Logger = slog.New(slog.NewMultiHandler(handlers...))
	cfg.OnChange(func(key, value string) {
		if key != "log.console.level" {
			return
		}
		for _, o := range l.outputs {
			if slices.Contains(followers, o.id) {
				o.level.Set(ParseLevel(value))
			}
		}
	})
	return l, nil
}

// Close flushes and closes the log files and the syslog connection.
func (l *Logs) Close() error {
	var errs []error
	for i := len(l.closers) - 1; i >= 0; i-- {
		errs = append(errs, l.closers[i].Close())
	}
	l.closers = nil
	return errors.Join(errs...)
}

// Outputs lists the outputs in VerneMQ's order: default (error log), console, consolefile, syslog.
func (l *Logs) Outputs() []Output {
	out := make([]Output, 0, len(l.outputs))
	for _, o := range l.outputs {
		out = append(out, Output{Logger: o.id, Level: levelName(o.level.Level()), Type: o.typ, File: o.file})
	}
	return out
}

// SetLevel sets the level of one output (vmq-admin log level logger=<id> level=<name>)
// until the next change or restart; a log.console.level change later sets it again.
func (l *Logs) SetLevel(logger, level string) error {
	lv, ok := Level(level)
	if !ok {
		return fmt.Errorf("unknown level %q; use one of %s", level, strings.Join(LevelNames, ", "))
	}
	ids := make([]string, 0, len(l.outputs))
	for _, o := range l.outputs {
		if o.id == logger {
			// Logged before the change, as VerneMQ does, so a quieter level still records it.
			l.Logger.Info("log level changed", "logger", logger, "level", level)
			o.level.Set(lv)
			return nil
		}
		ids = append(ids, o.id)
	}
	if len(ids) == 0 {
		return fmt.Errorf("unknown logger %q: this node writes no log (log.console = off, log.error = off, log.syslog = off)", logger)
	}
	return fmt.Errorf("unknown logger %q; this node's loggers are %s (vmq-admin log show config)", logger, strings.Join(ids, ", "))
}

func newHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// openFile opens a log file for appending; with <prefix>.rotation.size set it rotates
// by size (lumberjack counts whole MiB, so sizes are rounded up) keeping
// <prefix>.rotation.keep old files.
func openFile(prefix, path string, cfg *config.Config) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("%s.file: %w (check platform_log_dir)", prefix, err)
	}
	size := config.RotationSize(cfg.String(prefix + ".rotation.size"))
	if size == 0 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%s.file: %w (check platform_log_dir)", prefix, err)
		}
		return f, nil
	}
	// Open once here so a bad path fails at start, not at the first line.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s.file: %w (check platform_log_dir)", prefix, err)
	}
	f.Close()
	const mib = 1 << 20
	return &lumberjack.Logger{
		Filename:   path,
		MaxSize:    int((size + mib - 1) / mib),
		MaxBackups: int(cfg.Int(prefix + ".rotation.keep")),
		Compress:   cfg.Bool(prefix + ".rotation.compress_on_rotate"),
	}, nil
}
