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
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/vernemq-go/vernemq/pkg/config"
)

// levelOff is above every level a record has: nothing is written.
const levelOff = slog.Level(100)

// ParseLevel maps VerneMQ's log levels to slog's: notice is info, and critical,
// alert and emergency are error; "none" writes nothing.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warning", "warn":
		return slog.LevelWarn
	case "error", "critical", "alert", "emergency":
		return slog.LevelError
	case "none":
		return levelOff
	}
	return slog.LevelInfo
}

// New returns the logger that log.console, log.error and log.syslog describe, and a
// function that flushes and closes its files and syslog connection. log.console.level
// changes at run time (vmq-admin set) take effect at once.
func New(cfg *config.Config) (*slog.Logger, func() error, error) {
	level := new(slog.LevelVar)
	level.Set(ParseLevel(cfg.String("log.console.level")))
	cfg.OnChange(func(key, value string) {
		if key == "log.console.level" {
			level.Set(ParseLevel(value))
		}
	})
	var handlers []slog.Handler
	var closers []io.Closer
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i].Close())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (*slog.Logger, func() error, error) {
		closeAll()
		return nil, nil, err
	}

	mode := cfg.String("log.console")
	if mode == "console" || mode == "both" {
		handlers = append(handlers, newHandler(os.Stderr, cfg.String("log.console.console.format"), level))
	}
	if mode == "file" || mode == "both" {
		w, err := openFile("log.console", cfg.String("log.console.file"), cfg)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, w)
		handlers = append(handlers, newHandler(w, cfg.String("log.console.file.format"), level))
	}
	if cfg.Bool("log.error") {
		w, err := openFile("log.error", cfg.String("log.error.file"), cfg)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, w)
		handlers = append(handlers, newHandler(w, cfg.String("log.error.file.format"), slog.LevelWarn))
	}
	if cfg.Bool("log.syslog") {
		// Syslog trouble is reported on the console outputs only, never to syslog itself.
		report := slog.New(slog.NewMultiHandler(handlers...))
		w, err := newSyslogWriter(syslogConfigFrom(cfg), report)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, w)
		var lv slog.Leveler = level
		if l := cfg.String("log.syslog.level"); l != "all" {
			lv = ParseLevel(l)
		}
		handlers = append(handlers, newSyslogHandler(w, lv))
	}
	return slog.New(slog.NewMultiHandler(handlers...)), closeAll, nil
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
