package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// PutSession creates or replaces a persistent session (subscriptions included).
func (s *Store) PutSession(sess Session) error {
	return s.write(recPutSession(sess), countPutSession)
}

// countPutSession is PutSession's commit: a func of no closure, so a write allocates none.
func countPutSession(s *Store, a *applied) {
	if !a.existed { // a new record, not a replacement: the count grows
		s.cmu.Lock()
		s.sessions++
		s.cmu.Unlock()
	}
}

// DeleteSession removes the session, its queue and its QoS2 state.
func (s *Store) DeleteSession(k SessionKey) error {
	return s.write(recDeleteSession(k), func(s *Store, a *applied) {
		s.cmu.Lock()
		if a.existed {
			s.sessions--
		}
		s.messages -= s.qlen[k]
		delete(s.qlen, k)
		s.cmu.Unlock()
	})
}

// Sessions calls fn for every stored session, ordered by encoded key, with its QoS 2 ids.
func (s *Store) Sessions(fn func(Session) error) error {
	return s.ScanSessions(func(rec *Session) error {
		sess := *rec
		sess.Subscriptions = slices.Clone(rec.Subscriptions)
		sess.QoS2 = slices.Clone(rec.QoS2)
		return fn(sess)
	})
}

// ScanSessions is Sessions without a copy per session: fn gets the same *Session each
// time, its Subscriptions and QoS2 overwritten after fn returns (the strings are fresh
// and may be kept). A node start reads a million sessions this way (issue 19).
func (s *Store) ScanSessions(fn func(*Session) error) error {
	if err := s.settle(); err != nil { // the file then holds every acknowledged write
		return err
	}
	return s.view(func(tx *bolt.Tx) error {
		// The qos2 bucket is keyed by encoded session key + id, in the same order as the
		// sessions (encoded keys are length-prefixed, so no key is a prefix of another's):
		// one cursor walks it beside the sessions, where a read per session cost a
		// transaction each (a sixth of a restore's CPU, issue 19).
		q2 := tx.Bucket(bucketQoS2).Cursor()
		qk, _ := q2.First()
		var mp string // the previous session's mountpoint: sessions share one string, not a copy each
		var sess Session
		return tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			key, _, err := decodeKey(k)
			if err != nil {
				return fmt.Errorf("store: session key: %w", err)
			}
			if key.Mountpoint == mp {
				key.Mountpoint = mp
			} else {
				mp = key.Mountpoint
			}
			if err := decodeSessionInto(&sess, key, v); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			for qk != nil && bytes.Compare(qk, k) < 0 {
				qk, _ = q2.Next() // ids of no session (not written so); skipped as QoS2 does
			}
			for ; qk != nil && bytes.HasPrefix(qk, k); qk, _ = q2.Next() {
				if len(qk) != len(k)+2 {
					return fmt.Errorf("store: qos2 key of %q/%q: %w", key.Mountpoint, key.ClientID, errCorrupt)
				}
				sess.QoS2 = append(sess.QoS2, binary.BigEndian.Uint16(qk[len(k):]))
			}
			return fn(&sess)
		})
	})
}

// PutQoS2 records that PUBREC was sent for packetID (QoS2 receive, awaiting PUBREL).
func (s *Store) PutQoS2(k SessionKey, packetID uint16) error {
	return s.write(recQoS2(opPutQoS2, k, packetID), nil)
}

// DeleteQoS2 forgets packetID once PUBCOMP was sent.
func (s *Store) DeleteQoS2(k SessionKey, packetID uint16) error {
	return s.write(recQoS2(opDeleteQoS2, k, packetID), nil)
}

// QoS2 returns the packet ids of k awaiting PUBREL, ascending.
func (s *Store) QoS2(k SessionKey) ([]uint16, error) {
	ek := encodeKey(k)
	var ids []uint16
	err := s.readCurrent(ek, func(tx *bolt.Tx) error {
		ids = ids[:0]
		c := tx.Bucket(bucketQoS2).Cursor()
		for key, _ := c.Seek(ek); key != nil && bytes.HasPrefix(key, ek); key, _ = c.Next() {
			if len(key) != len(ek)+2 {
				return fmt.Errorf("store: qos2 key of %q/%q: %w", k.Mountpoint, k.ClientID, errCorrupt)
			}
			ids = append(ids, binary.BigEndian.Uint16(key[len(ek):]))
		}
		return nil
	})
	return ids, err
}
