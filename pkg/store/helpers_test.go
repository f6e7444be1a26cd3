package store

// Enqueue appends msg to the queue of every key and returns one seq per key, after
// the transaction holding them is committed.
func (s *Store) Enqueue(keys []SessionKey, msg Message) ([]uint64, error) {
	type result struct {
		seqs []uint64
		err  error
	}
	ch := make(chan result, 1)
	s.enqueue(keys, msg, false, func(seqs []uint64, err error) { ch <- result{seqs, err} })
	r := <-ch
	return r.seqs, r.err
}

// putRetained is PutRetained waiting for the commit.
func putRetained(s *Store, mountpoint, topic string, msg Message) error {
	ch := make(chan error, 1)
	s.PutRetained(mountpoint, topic, msg, func(err error) { ch <- err })
	return <-ch
}
