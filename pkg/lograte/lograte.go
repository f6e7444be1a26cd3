// Package lograte limits repeated log lines: a slog.Handler that passes the first
// burst records of each message (per level) in every window and drops the rest,
// so that a flood of refused logins or cluster connections cannot flood the log.
// Debug records always pass: an operator who turns debug on asks for every line.
// The first line of a message in a new window carries suppressed_similar, the
// count dropped in the windows before it.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// maxKeys bounds the table of messages; messages are constants (details are
// attributes), so it only fills if a caller formats data into its messages.
const maxKeys = 1024

// Handler is the rate-limiting slog.Handler.
type Handler struct {
	next slog.Handler
	st   *state
}

type state struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	seen  map[string]*window
}

type window struct {
	start   time.Time
	n       int // records passed in this window
	dropped int // records dropped since the last one passed
}

// New wraps next: at most burst records per (level, message) every window.
func New(next slog.Handler, burst int, every time.Duration) *Handler {
	return &Handler{next: next, st: &state{burst: burst, every: every, seen: map[string]*window{}}}
}

// Enabled is next's.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle passes r to next unless its message has used up its burst in this window.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		return h.next.Handle(ctx, r)
	}
	dropped, ok := h.st.admit(r.Level.String()+" "+r.Message, r.Time)
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed_similar", dropped))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs and WithGroup share the limits of h.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as), st: h.st}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), st: h.st}
}

// admit reports whether a record of key at now passes, and how many were dropped before it.
func (s *state) admit(key string, now time.Time) (dropped int, ok bool) {
	if now.IsZero() {
		now = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.seen[key]
	if w == nil {
		if len(s.seen) >= maxKeys {
			clear(s.seen)
		}
		w = &window{}
		s.seen[key] = w
	}
	if w.n == 0 || now.Sub(w.start) >= s.every {
		w.start, w.n = now, 0
	}
	if w.n >= s.burst {
		w.dropped++
		return 0, false
	}
	w.n++
	dropped, w.dropped = w.dropped, 0
	return dropped, true
}
