package node

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/broker"
	"github.com/vernemq-go/vernemq/pkg/config"
	"github.com/vernemq-go/vernemq/pkg/packets"
	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/store"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

func openStore(cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	path := cfg.String("store.dir") + "/messages.db"
	log.Info("opening message store", "path", path)
	st, err := store.Open(path, storeOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("message store %s: %w", path, err)
	}
	return st, nil
}

// storeOptions maps the store.* keys: store.commit_delay = 0 means no delay, while
// store.Options' zero value means its default.
func storeOptions(cfg *config.Config, log *slog.Logger) store.Options {
	delay := cfg.Duration("store.commit_delay")
	if delay == 0 {
		delay = -1
	}
	return store.Options{CommitDelay: delay, NoSync: !cfg.Bool("store.fsync"), Logger: log}
}

// restore brings back persistent sessions, their subscriptions, QoS 2 state and the
// retained messages before any listener accepts a client.
func (n *Node) restore(ctx context.Context) error {
	st := n.Store
	n.addCloser(func() error {
		n.Log.Info("closing message store")
		return st.Close()
	})
	n.Reg.Gauge("store_file_size", "Size of the message store file in bytes (freed pages are reused).", nil).Func(func() int64 { return st.Stats().FileSize })
	n.Reg.Gauge("store_messages", "Messages held in the message store (offline queues).", nil).Func(func() int64 { return int64(st.Stats().Messages) })
	n.Reg.Gauge("store_sessions", "Persistent sessions in the message store.", nil).Func(func() int64 { return int64(st.Stats().Sessions) })
	start := time.Now()
	sessions, subs, err := restoreSessions(st, n.Broker, n.Log)
	if err != nil {
		return err
	}
	retained := 0
	err = st.Retained(func(mp, topic string, m store.Message) error {
		msg := &session.Message{Mountpoint: mp, Topic: topic, Payload: m.Payload, QoS: m.QoS, Retain: true}
		if m.Expiry != 0 {
			msg.Expiry = time.Unix(0, m.Expiry)
		}
		n.Broker.RestoreRetained(msg)
		retained++
		return nil
	})
	if err != nil {
		return fmt.Errorf("restoring retained messages: %w", err)
	}
	stats := st.Stats()
	n.Log.Info("message store restored", "sessions", sessions, "subscriptions", subs, "queued_messages", stats.Messages,
		"retained", retained, "took", time.Since(start).Round(time.Millisecond))
	go n.sweepExpired(ctx)
	return nil
}

// restoreBatch is one step of a restore: records read from the store, then the sessions
// built from them. Batches go round (free list), so the restore makes little garbage.
type restoreBatch struct {
	recs  []broker.Restored
	subs  []session.Sub // backing of recs' Subs
	qos2  []uint16      // backing of recs' QoS2
	built broker.RestoreBatch
}

const restoreBatchSize = 512

// restoreSessions recreates every stored session in b, with its subscriptions and the QoS 2
// packet ids it awaits PUBREL for. It is a pipeline over every core (issue 19: a million
// sessions in seconds): one goroutine reads and decodes the store into batches, one per core
// builds the sessions (allocation, the bulk of the work), and registering them and adding
// their subscriptions to the routing index each run on one goroutine, batch after batch. The
// collector is off meanwhile: the restore makes almost no garbage (batches go round), so
// each cycle would only mark the growing live heap again (half the CPU of a million).
func restoreSessions(st *store.Store, b *broker.Broker, log *slog.Logger) (sessions, subs int, err error) {
	total := st.Stats().Sessions
	if total == 0 {
		return 0, 0, nil
	}
	b.ReserveSessions(total)
	defer pauseGC()()

	workers := max(runtime.GOMAXPROCS(0), 1)
	free := make(chan *restoreBatch, 2*workers+4) // every batch in flight comes back here
	for range cap(free) {
		free <- &restoreBatch{}
	}
	read := make(chan *restoreBatch, workers)
	built := make(chan *restoreBatch, workers)
	registered := make(chan *restoreBatch, workers)
	readErr := make(chan error, 1)
	go func() {
		defer close(read)
		now := time.Now()
		rb := <-free
		readErr <- st.ScanSessions(func(rec *store.Session) error {
			appendRestored(rb, rec, now)
			if len(rb.recs) == restoreBatchSize {
				read <- rb
				rb = <-free
			}
			return nil
		})
		if len(rb.recs) > 0 {
			read <- rb
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rb := range read {
				b.BuildRestored(rb.recs, &rb.built)
				built <- rb
			}
		}()
	}
	go func() {
		wg.Wait()
		close(built)
	}()
	go func() {
		defer close(registered)
		for rb := range built {
			b.RegisterRestored(&rb.built)
			registered <- rb
		}
	}()
	next := 100000
	for rb := range registered {
		b.RouteRestored(&rb.built)
		sessions += rb.built.Len()
		subs += rb.built.Routes()
		rb.reset()
		free <- rb
		if sessions >= next {
			log.Info("restoring sessions", "sessions", sessions, "of", total)
			next += 100000
		}
	}
	if err := <-readErr; err != nil {
		return sessions, subs, fmt.Errorf("restoring sessions from the message store: %w", err)
	}
	return sessions, subs, nil
}

// gcPause counts the restores running in this process (tests run several nodes in one), so
// the last to finish, not the first, puts the collector back as it found it.
var gcPause struct {
	sync.Mutex
	n, percent int
}

// pauseGC turns the collector off until the returned func is called.
func pauseGC() (resume func()) {
	gcPause.Lock()
	if gcPause.n == 0 {
		gcPause.percent = debug.SetGCPercent(-1)
	}
	gcPause.n++
	gcPause.Unlock()
	return func() {
		gcPause.Lock()
		if gcPause.n--; gcPause.n == 0 {
			debug.SetGCPercent(gcPause.percent)
		}
		gcPause.Unlock()
	}
}

// appendRestored adds rec to rb. The broker copies what it keeps (strings are rec's own).
func appendRestored(rb *restoreBatch, rec *store.Session, now time.Time) {
	since := rec.DisconnectedAt
	if since.IsZero() {
		since = now // online when the node stopped: its expiry starts now
	}
	expiry := rec.ExpiryInterval
	if expiry == 0 {
		expiry = broker.NeverExpire
	}
	s0 := len(rb.subs)
	for _, s := range rec.Subscriptions {
		rb.subs = append(rb.subs, session.Sub{Filter: s.Filter, SubID: s.SubID, Options: packets.SubOptions{
			QoS: s.QoS, NoLocal: s.NoLocal, RetainAsPublished: s.RetainAsPublished, RetainHandling: s.RetainHandling,
		}})
	}
	q0 := len(rb.qos2)
	rb.qos2 = append(rb.qos2, rec.QoS2...)
	rb.recs = append(rb.recs, broker.Restored{
		ID: topics.SubscriberID{Mountpoint: rec.Key.Mountpoint, ClientID: rec.Key.ClientID}, Expiry: expiry,
		OfflineSince: since, Username: rec.Username,
	})
	// Should a later append move the backing arrays, these slices keep the old ones, intact.
	r := &rb.recs[len(rb.recs)-1]
	r.Subs = rb.subs[s0:len(rb.subs):len(rb.subs)]
	r.QoS2 = rb.qos2[q0:len(rb.qos2):len(rb.qos2)]
}

// reset empties rb for the next records, dropping its references to them.
func (rb *restoreBatch) reset() {
	clear(rb.recs)
	clear(rb.subs)
	rb.recs, rb.subs, rb.qos2 = rb.recs[:0], rb.subs[:0], rb.qos2[:0]
}

// sweepExpired removes queued and retained messages whose v5 message expiry passed: they
// are no longer sent, but would otherwise stay in memory and the store.
func (n *Node) sweepExpired(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if k, err := n.Store.DeleteExpired(now); err == nil && k > 0 {
				n.Metrics.QueueMessageExpired.Add(uint64(k))
				n.Metrics.DropExpired.Add(uint64(k))
				n.Metrics.QueueMessageDrop.Add(uint64(k))
			}
			if k := n.Broker.DeleteExpiredRetained(now); k > 0 {
				n.Log.Info("expired retained messages deleted", "count", k)
			}
		}
	}
}
