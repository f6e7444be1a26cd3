package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutRetained stores the retained message of topic; an empty payload deletes it (MQTT rule).
func (s *Store) PutRetained(mountpoint, topic string, msg Message) error {
	if len(msg.Payload) == 0 {
		return s.DeleteRetained(mountpoint, topic)
	}
	key, val := retainedKey(mountpoint, topic), encodeMessage(msg)
	return s.write(func(tx *bolt.Tx) error { return tx.Bucket(bucketRetained).Put(key, val) }, nil)
}

// DeleteRetained removes the retained message of topic, if any.
func (s *Store) DeleteRetained(mountpoint, topic string) error {
	key := retainedKey(mountpoint, topic)
	return s.write(func(tx *bolt.Tx) error { return tx.Bucket(bucketRetained).Delete(key) }, nil)
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
