package lograte

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Records carry their own time, so the windows are driven without sleeping.
func TestBurstPerMessageAndWindow(t *testing.T) {
	var buf bytes.Buffer
	h := New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), 3, 10*time.Second)
	log := slog.New(h).With("node", "n1")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emit := func(at time.Duration, level slog.Level, msg string) {
		r := slog.NewRecord(t0.Add(at), level, msg, 0)
		if err := log.Handler().Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		emit(time.Duration(i)*time.Millisecond, slog.LevelWarn, "can't authenticate client")
	}
	emit(time.Second, slog.LevelWarn, "cluster connection refused") // another message has its own burst
	emit(time.Second, slog.LevelInfo, "can't authenticate client")  // and another level
	for range 20 {
		emit(time.Second, slog.LevelDebug, "client connected") // debug is never limited
	}
	emit(11*time.Second, slog.LevelWarn, "can't authenticate client") // a new window
	emit(11*time.Second+time.Millisecond, slog.LevelWarn, "can't authenticate client")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	count := func(sub string) int {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, sub) {
				n++
			}
		}
		return n
	}
	if got := count(`level=WARN msg="can't authenticate client"`); got != 5 {
		t.Fatalf("%d WARN lines of the flooded message, want 3 + 2 in the next window:\n%s", got, buf.String())
	}
	if count("suppressed_similar=97") != 1 || count("suppressed_similar") != 1 {
		t.Fatalf("want one line reporting the 97 dropped:\n%s", buf.String())
	}
	if count("cluster connection refused") != 1 || count(`level=INFO`) != 1 || count("client connected") != 20 || count("node=n1") != len(lines) {
		t.Fatalf("other messages, levels or attributes lost:\n%s", buf.String())
	}
}

func TestTableBounded(t *testing.T) {
	h := New(slog.DiscardHandler, 1, time.Minute)
	for i := range 3 * maxKeys {
		slog.New(h).Info(strings.Repeat("x", i%50) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if n := len(h.st.seen); n > maxKeys {
		t.Fatalf("%d keys kept, bound %d", n, maxKeys)
	}
}
