package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vernemq-go/vernemq/pkg/config"
)

// newLogger writes where log.console says (console, file, both, off) at log.console.level.
func newLogger(cfg *config.Config) (*slog.Logger, func(), error) {
	var level slog.LevelVar
	setLevel := func(s string) {
		switch strings.ToLower(s) {
		case "debug":
			level.Set(slog.LevelDebug)
		case "warning", "warn":
			level.Set(slog.LevelWarn)
		case "error", "critical", "alert", "emergency":
			level.Set(slog.LevelError)
		default:
			level.Set(slog.LevelInfo)
		}
	}
	setLevel(cfg.String("log.console.level"))
	cfg.OnChange(func(key, value string) {
		if key == "log.console.level" {
			setLevel(value)
		}
	})
	opts := &slog.HandlerOptions{Level: &level}
	handler := func(w io.Writer, format string) slog.Handler {
		if format == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	var hs []slog.Handler
	closer := func() {}
	mode := cfg.String("log.console")
	if mode == "console" || mode == "both" {
		hs = append(hs, handler(os.Stderr, cfg.String("log.console.console.format")))
	}
	if mode == "file" || mode == "both" {
		path := cfg.String("log.console.file")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, nil, fmt.Errorf("log.console.file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("log.console.file: %w (check platform_log_dir)", err)
		}
		hs = append(hs, handler(f, cfg.String("log.console.file.format")))
		closer = func() { f.Close() }
	}
	switch len(hs) {
	case 0:
		return slog.New(slog.DiscardHandler), closer, nil
	case 1:
		return slog.New(hs[0]), closer, nil
	}
	return slog.New(slog.NewMultiHandler(hs...)), closer, nil
}
