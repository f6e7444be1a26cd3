package node

import (
	"context"
	"fmt"
	"log/slog"
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
	st, err := store.Open(path, store.Options{
		CommitDelay: cfg.Duration("store.commit_delay"), NoSync: !cfg.Bool("store.fsync"), Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("message store %s: %w", path, err)
	}
	return st, nil
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

// restoreSessions recreates every stored session in b, with its subscriptions and the QoS 2
// packet ids it awaits PUBREL for. Reading and decoding the store runs on its own goroutine,
// a batch ahead of the broker's inserts (registry, index), which take most of the time.
func restoreSessions(st *store.Store, b *broker.Broker, log *slog.Logger) (sessions, subs int, err error) {
	const batch = 512
	batches := make(chan []store.Session, 4)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		var buf []store.Session
		readErr <- st.Sessions(func(rec store.Session) error {
			if buf = append(buf, rec); len(buf) == batch {
				batches <- buf
				buf = make([]store.Session, 0, batch)
			}
			return nil
		})
		if len(buf) > 0 {
			batches <- buf
		}
	}()
	now := time.Now()
	var ss []session.Sub
	for recs := range batches {
		for i := range recs {
			rec := &recs[i]
			id := topics.SubscriberID{Mountpoint: rec.Key.Mountpoint, ClientID: rec.Key.ClientID}
			since := rec.DisconnectedAt
			if since.IsZero() {
				since = now // online when the node stopped: its expiry starts now
			}
			ss = ss[:0] // RestoreSession copies what it keeps
			for _, s := range rec.Subscriptions {
				ss = append(ss, session.Sub{Filter: s.Filter, SubID: s.SubID, Options: packets.SubOptions{
					QoS: s.QoS, NoLocal: s.NoLocal, RetainAsPublished: s.RetainAsPublished, RetainHandling: s.RetainHandling,
				}})
			}
			expiry := rec.ExpiryInterval
			if expiry == 0 {
				expiry = broker.NeverExpire
			}
			s := b.RestoreSession(id, expiry, since, ss)
			s.SetUsername(rec.Username) // session_binding: its owner
			for _, pid := range rec.QoS2 {
				s.ReceivedQoS2(pid)
			}
			sessions++
			subs += len(ss)
			if sessions%100000 == 0 {
				log.Info("restoring sessions", "sessions", sessions)
			}
		}
	}
	if err := <-readErr; err != nil {
		return sessions, subs, fmt.Errorf("restoring sessions from the message store: %w", err)
	}
	return sessions, subs, nil
}

// sweepExpired removes stored messages whose v5 message expiry passed.
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
		}
	}
}
