package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutRetained stores the retained message of topic; an empty payload deletes it (MQTT rule).
// done is told after the commit, on the store's callback goroutine; writes commit in the
// order they were submitted, so the caller's order is the order after a restart.
func (s *Store) PutRetained(mountpoint, topic string, msg Message, done func(error)) {
	key := retainedKey(mountpoint, topic)
	var run func(tx *bolt.Tx) error
	if len(msg.Payload) == 0 {
		run = func(tx *bolt.Tx) error { return tx.Bucket(bucketRetained).Delete(key) }
	} else {
		val := encodeMessage(msg)
		run = func(tx *bolt.Tx) error { return tx.Bucket(bucketRetained).Put(key, val) }
	}
	s.submit(&request{run: run, done: done, async: true})
}

// Retained calls fn for every retained message.
func (s *Store) Retained(fn func(mountpoint, topic string, msg Message) error) error {
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
