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
	var outs []io.Writer
	closer := func() {}
	mode := cfg.String("log.console")
	if mode == "console" || mode == "both" {
		outs = append(outs, os.Stderr)
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
		outs = append(outs, f)
		closer = func() { f.Close() }
	}
	w := io.Discard
	if len(outs) > 0 {
		w = io.MultiWriter(outs...)
	}
	opts := &slog.HandlerOptions{Level: &level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.String("log.console.format") == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), closer, nil
}
