// Package reload re-reads a plugin's file (vmq_passwd.password_file,
// vmq_acl.acl_file) every reload interval when the file changed.
package reload

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Watcher calls Load on Start, then every interval if the file's identity,
// size or mtime changed. A missing file keeps the last loaded content, as
// VerneMQ's reloaders do.
type Watcher struct {
	path string
	load func() error
	log  *slog.Logger

	mu       sync.Mutex
	interval time.Duration // 0 = periodic reload off
	prev     os.FileInfo
	kick     chan struct{} // interval changed
	stop     chan struct{}
	done     chan struct{}
	started  bool
	once     sync.Once
}

// New returns a watcher for path; load must read the file and swap the content in.
func New(path string, interval time.Duration, load func() error, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{path: path, load: load, log: log, interval: interval,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Reload reads the file now regardless of changes.
func (w *Watcher) Reload() error {
	fi, _ := os.Stat(w.path) // taken before reading so a write during the read triggers another reload
	if err := w.load(); err != nil {
		return err
	}
	w.mu.Lock()
	w.prev = fi
	w.mu.Unlock()
	return nil
}

// changed reports whether the file differs from the last successful load.
func (w *Watcher) changed() bool {
	fi, err := os.Stat(w.path)
	if err != nil {
		return false // missing: keep what we have
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.prev
	return p == nil || !os.SameFile(p, fi) || !p.ModTime().Equal(fi.ModTime()) || p.Size() != fi.Size()
}

// SetInterval changes the reload interval live (0 = off).
func (w *Watcher) SetInterval(d time.Duration) {
	w.mu.Lock()
	w.interval = d
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Watcher) getInterval() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.interval
}

// Start loads the file once and runs the periodic reload until ctx ends or
// Close. A load error is logged, not returned: the broker starts anyway and
// the next change is picked up.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return nil
	}
	w.started = true
	w.mu.Unlock()
	if err := w.Reload(); err != nil {
		w.log.Warn("cannot load file; will retry on change", "file", w.path, "err", err)
	}
	go w.run(ctx)
	return nil
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	var t *time.Timer
	for {
		var tick <-chan time.Time
		if d := w.getInterval(); d > 0 {
			t = time.NewTimer(d)
			tick = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case <-w.kick:
		case <-tick:
			if w.changed() {
				if err := w.Reload(); err != nil {
					w.log.Warn("cannot reload file; keeping the previous content", "file", w.path, "err", err)
				}
			}
		}
		if t != nil {
			t.Stop()
		}
	}
}

// Close stops the reload loop.
func (w *Watcher) Close() error {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	w.once.Do(func() { close(w.stop) })
	if started {
		<-w.done
	}
	return nil
}
