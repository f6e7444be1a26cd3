package store

import (
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// request is one write. run may be called more than once (a failed batch is retried
// without the failing request), so it must reset whatever it records; commit runs once,
// on the writer, after the transaction holding run's changes is durable.
type request struct {
	run    func(tx *bolt.Tx) error
	commit func()          // apply in-memory effects; nil if none
	done   func(err error) // answer the caller
	async  bool            // done goes through the notifier so it may block or call the store
}

// submit hands r to the writer; done is called exactly once.
func (s *Store) submit(r *request) {
	s.submitMu.RLock()
	if s.closed {
		s.submitMu.RUnlock()
		r.done(ErrClosed)
		return
	}
	s.reqs <- r
	s.submitMu.RUnlock()
}

// write submits run and waits for the commit.
func (s *Store) write(run func(tx *bolt.Tx) error, commit func()) error {
	ch := make(chan error, 1)
	s.submit(&request{run: run, commit: commit, done: func(err error) { ch <- err }})
	return <-ch
}

// writer collects requests for up to CommitDelay or MaxBatch and commits them together.
func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*request, 0, s.opts.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		open := s.fill(&batch, timer)
		s.commitBatch(batch)
		clear(batch)
		if !open {
			return
		}
	}
}

// fill adds requests to batch until MaxBatch, the commit delay or channel close; it
// reports false once the channel is closed (everything sent before Close is in batch).
func (s *Store) fill(batch *[]*request, timer *time.Timer) bool {
	// Take what is already queued first: requests pile up during the previous fsync.
	for len(*batch) < s.opts.MaxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
			continue
		default:
		}
		break
	}
	if s.opts.CommitDelay <= 0 || len(*batch) >= s.opts.MaxBatch {
		return true
	}
	timer.Reset(s.opts.CommitDelay)
	defer timer.Stop()
	for len(*batch) < s.opts.MaxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		case <-timer.C:
			return true
		}
	}
	return true
}

// commitBatch runs all requests in one transaction. A request whose run fails is
// answered with its error and the rest are retried in a fresh transaction.
func (s *Store) commitBatch(batch []*request) {
	pending := batch
	for len(pending) > 0 {
		failed := -1
		var runErr error
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, r := range pending {
				if err := r.run(tx); err != nil {
					failed, runErr = i, err
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			s.answer(pending[failed], runErr)
			pending = append(pending[:failed:failed], pending[failed+1:]...)
			continue
		}
		if err != nil {
			err = fmt.Errorf("store: commit: %w (check disk space and permissions of the store dir)", err)
			s.log.Error("store commit failed", "err", err, "requests", len(pending))
			for _, r := range pending {
				s.answer(r, err)
			}
			return
		}
		s.commits.Add(1)
		s.batched.Add(uint64(len(pending)))
		for _, r := range pending {
			if r.commit != nil {
				r.commit()
			}
			s.answer(r, nil)
		}
		return
	}
}

func (s *Store) answer(r *request, err error) {
	if r.async {
		s.notify.push(func() { r.done(err) })
		return
	}
	r.done(err)
}

// notifier runs async callbacks in order on one goroutine with an unbounded queue, so a
// callback may block or call the store without stalling or deadlocking the writer.
type notifier struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []func()
	closed bool
	done   chan struct{}
}

func newNotifier() *notifier {
	n := &notifier{done: make(chan struct{})}
	n.cond = sync.NewCond(&n.mu)
	go n.loop()
	return n
}

func (n *notifier) push(fn func()) {
	n.mu.Lock()
	n.queue = append(n.queue, fn)
	n.mu.Unlock()
	n.cond.Signal()
}

func (n *notifier) loop() {
	defer close(n.done)
	for {
		n.mu.Lock()
		for len(n.queue) == 0 && !n.closed {
			n.cond.Wait()
		}
		q := n.queue
		n.queue = nil
		closed := n.closed
		n.mu.Unlock()
		for _, fn := range q {
			fn()
		}
		if closed && len(q) == 0 {
			return
		}
	}
}

// close runs the remaining callbacks, then stops the goroutine.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cond.Signal()
	<-n.done
}
