package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EnqueueAsync appends msg to the queues of keys and calls done once it is durable. Callbacks run in
// commit order on one goroutine, so PUBACKs of one connection can be sent in order.
func (s *Store) EnqueueAsync(keys []SessionKey, msg Message, done func([]uint64, error)) {
	if done == nil {
		done = func([]uint64, error) {}
	}
	s.enqueue(keys, msg, true, done)
}

func (s *Store) enqueue(keys []SessionKey, msg Message, async bool, done func([]uint64, error)) {
	if len(keys) == 0 {
		done(nil, nil)
		return
	}
	var seqs []uint64
	s.submit(&request{
		rec:   recEnqueue(keys, msg),
		async: async,
		commit: func(_ *Store, a *applied) {
			seqs = a.seqs
			for _, k := range keys {
				s.addQueueLen(k, 1)
			}
		},
		done: func(err error) {
			if err != nil {
				done(nil, err)
				return
			}
			done(seqs, nil)
		},
	})
}

// Queue calls fn for every queued message of k in seq order.
func (s *Store) Queue(k SessionKey, fn func(Queued) error) error {
	_, err := s.queueFrom(k, 0, -1, fn)
	return err
}

// QueueFrom calls fn for at most max messages of k's queue with a sequence above after,
// in order, and reports whether more remain (a session drains a long queue in steps).
func (s *Store) QueueFrom(k SessionKey, after uint64, max int, fn func(Queued) error) (more bool, err error) {
	return s.queueFrom(k, after, max, fn)
}

// queueFrom is QueueFrom with max < 0 meaning all. When the queue changed since the last
// checkpoint the messages are collected in the writer's transaction and fn called after.
func (s *Store) queueFrom(k SessionKey, after uint64, max int, fn func(Queued) error) (more bool, err error) {
	ek := encodeKey(k)
	if !s.isDirty(ek) {
		err = s.view(func(tx *bolt.Tx) error {
			more, err = scanQueue(tx, k, ek, after, max, fn)
			return err
		})
		return more, err
	}
	var got []Queued
	err = s.readCurrent(ek, func(tx *bolt.Tx) error {
		got = got[:0]
		more, err = scanQueue(tx, k, ek, after, max, func(q Queued) error { got = append(got, q); return nil })
		return err
	})
	if err != nil {
		return false, err
	}
	for _, q := range got {
		if err := fn(q); err != nil {
			return false, err
		}
	}
	return more, nil
}

func scanQueue(tx *bolt.Tx, k SessionKey, ek []byte, after uint64, max int, fn func(Queued) error) (more bool, err error) {
	q := tx.Bucket(bucketQueues).Bucket(ek)
	if q == nil {
		return false, nil
	}
	c := q.Cursor()
	n := 0
	for key, val := c.Seek(seqKey(after + 1)); key != nil; key, val = c.Next() {
		if n == max {
			return true, nil
		}
		m, err := decodeMessage(val)
		if err != nil {
			return false, fmt.Errorf("store: queue %q/%q seq %x: %w", k.Mountpoint, k.ClientID, key, err)
		}
		if err := fn(Queued{Seq: binary.BigEndian.Uint64(key), Msg: m}); err != nil {
			return false, err
		}
		n++
	}
	return false, nil
}

// Ack removes delivered and acknowledged messages; unknown seqs are ignored.
func (s *Store) Ack(k SessionKey, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return s.write(recAck(k, seqs), func(_ *Store, a *applied) { s.addQueueLen(k, -a.n) })
}

// DropOldest removes up to n messages from the head of k's queue (lifo overflow policy;
// fifo refuses new messages instead, so nothing drops the newest).
func (s *Store) DropOldest(k SessionKey, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	removed := 0
	err := s.write(recDropOldest(k, n), func(_ *Store, a *applied) {
		removed = a.n
		s.addQueueLen(k, -a.n)
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// DeleteExpired removes queued messages whose Expiry is at or before now.
func (s *Store) DeleteExpired(now time.Time) (int, error) {
	total := 0
	err := s.write(recDeleteExpired(now), func(_ *Store, a *applied) {
		total = a.n
		for ek, d := range a.deltas {
			if k, _, err := decodeKey([]byte(ek)); err == nil {
				s.addQueueLen(k, -d)
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
