package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutRetained stores the retained message of topic; an empty payload deletes it (MQTT rule).
// done is told once the write is durable, on the store's callback goroutine; writes apply in
// the order they were submitted, so the caller's order is the order after a restart.
func (s *Store) PutRetained(mountpoint, topic string, msg Message, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	s.submit(&request{rec: recRetained(mountpoint, topic, msg), done: done, async: true})
}

// Retained calls fn for every retained message. It checkpoints first: the file then holds
// every acknowledged write.
func (s *Store) Retained(fn func(mountpoint, topic string, msg Message) error) error {
	if err := s.settle(); err != nil {
		return err
	}
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			mp, topic, err := decodeRetainedKey(k)
			if err != nil {
				return fmt.Errorf("store: retained key: %w", err)
			}
			m, err := decodeMessage(v)
			if err != nil {
				return fmt.Errorf("store: retained %q/%q: %w", mp, topic, err)
			}
			return fn(mp, topic, m)
		})
	})
}
