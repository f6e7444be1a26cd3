package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EnqueueAsync appends msg to the queues of keys and calls done after the commit. Callbacks run in commit
// order on one goroutine, so PUBACKs of one connection can be sent in order.
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
	val := encodeMessage(msg)
	enc := make([][]byte, len(keys))
	for i, k := range keys {
		enc[i] = encodeKey(k)
	}
	seqs := make([]uint64, len(keys))
	s.submit(&request{
		async: async,
		run: func(tx *bolt.Tx) error {
			queues, expiry := tx.Bucket(bucketQueues), tx.Bucket(bucketExpiry)
			for i, ek := range enc {
				q, err := queues.CreateBucketIfNotExists(ek)
				if err != nil {
					return fmt.Errorf("store: create queue: %w", err)
				}
				seq, err := q.NextSequence()
				if err != nil {
					return err
				}
				q.FillPercent = 0.95 // keys only ever grow, so pack pages densely
				if err := q.Put(seqKey(seq), val); err != nil {
					return fmt.Errorf("store: enqueue: %w", err)
				}
				if msg.Expiry != 0 {
					if err := expiry.Put(expiryKey(msg.Expiry, seq, ek), nil); err != nil {
						return err
					}
				}
				seqs[i] = seq
			}
			return nil
		},
		commit: func() {
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
	return s.view(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueues).Bucket(encodeKey(k))
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for key, val := c.First(); key != nil; key, val = c.Next() {
			m, err := decodeMessage(val)
			if err != nil {
				return fmt.Errorf("store: queue %q/%q seq %x: %w", k.Mountpoint, k.ClientID, key, err)
			}
			if err := fn(Queued{Seq: binary.BigEndian.Uint64(key), Msg: m}); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteQueued removes one message and its expiry index entry; it reports whether it existed.
func deleteQueued(tx *bolt.Tx, q *bolt.Bucket, ek []byte, seq uint64) (bool, error) {
	sk := seqKey(seq)
	val := q.Get(sk)
	if val == nil {
		return false, nil
	}
	if exp := messageExpiry(val); exp != 0 {
		if err := tx.Bucket(bucketExpiry).Delete(expiryKey(exp, seq, ek)); err != nil {
			return false, err
		}
	}
	return true, q.Delete(sk)
}

// Ack removes delivered and acknowledged messages; unknown seqs are ignored.
func (s *Store) Ack(k SessionKey, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	ek := encodeKey(k)
	removed := 0
	return s.write(func(tx *bolt.Tx) error {
		removed = 0
		q := tx.Bucket(bucketQueues).Bucket(ek)
		if q == nil {
			return nil
		}
		for _, seq := range seqs {
			ok, err := deleteQueued(tx, q, ek, seq)
			if err != nil {
				return err
			}
			if ok {
				removed++
			}
		}
		return nil
	}, func() { s.addQueueLen(k, -removed) })
}

// DropOldest removes up to n messages from the head of k's queue (lifo overflow policy;
// fifo refuses new messages instead, so nothing drops the newest).
func (s *Store) DropOldest(k SessionKey, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	ek := encodeKey(k)
	removed := 0
	err := s.write(func(tx *bolt.Tx) error {
		removed = 0
		q := tx.Bucket(bucketQueues).Bucket(ek)
		if q == nil {
			return nil
		}
		// Collect first: deleting under a moving cursor skips keys in bbolt.
		var seqs []uint64
		c := q.Cursor()
		for key, _ := c.First(); key != nil && len(seqs) < n; key, _ = c.Next() {
			seqs = append(seqs, binary.BigEndian.Uint64(key))
		}
		for _, seq := range seqs {
			if _, err := deleteQueued(tx, q, ek, seq); err != nil {
				return err
			}
		}
		removed = len(seqs)
		return nil
	}, func() { s.addQueueLen(k, -removed) })
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// DeleteExpired removes queued messages whose Expiry is at or before now.
func (s *Store) DeleteExpired(now time.Time) (int, error) {
	limit := now.UnixNano()
	var deltas map[SessionKey]int
	total := 0
	err := s.write(func(tx *bolt.Tx) error {
		deltas, total = make(map[SessionKey]int), 0
		idx := tx.Bucket(bucketExpiry)
		var due [][]byte
		c := idx.Cursor()
		for key, _ := c.First(); key != nil; key, _ = c.Next() {
			exp, _, _, err := decodeExpiryKey(key)
			if err != nil {
				return err
			}
			if exp > limit {
				break
			}
			due = append(due, append([]byte(nil), key...))
		}
		for _, key := range due {
			_, seq, ek, _ := decodeExpiryKey(key)
			if err := idx.Delete(key); err != nil {
				return err
			}
			q := tx.Bucket(bucketQueues).Bucket(ek)
			if q == nil || q.Get(seqKey(seq)) == nil {
				continue // stale index entry; nothing to count
			}
			if err := q.Delete(seqKey(seq)); err != nil {
				return err
			}
			k, _, err := decodeKey(ek)
			if err != nil {
				return err
			}
			deltas[k]++
			total++
		}
		return nil
	}, func() {
		for k, d := range deltas {
			s.addQueueLen(k, -d)
		}
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// QueueFrom calls fn for at most max messages of k's queue with a sequence above after,
// in order, and reports whether more remain (a session drains a long queue in steps).
func (s *Store) QueueFrom(k SessionKey, after uint64, max int, fn func(Queued) error) (more bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueues).Bucket(encodeKey(k))
		if q == nil {
			return nil
		}
		c := q.Cursor()
		n := 0
		for key, val := c.Seek(seqKey(after + 1)); key != nil; key, val = c.Next() {
			if n == max {
				more = true
				return nil
			}
			m, err := decodeMessage(val)
			if err != nil {
				return fmt.Errorf("store: queue %q/%q seq %x: %w", k.Mountpoint, k.ClientID, key, err)
			}
			if err := fn(Queued{Seq: binary.BigEndian.Uint64(key), Msg: m}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return more, err
}
