package store

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// request is one write (rec), one read run in the writer's transaction (read), or a
// checkpoint (a scan wants everything acknowledged in the file). done is called once,
// after the batch holding the request is durable in the log.
type request struct {
	rec        []byte                  // write: op code and arguments (ops.go), logged and applied
	read       func(tx *bolt.Tx) error // read of data the open transaction may have changed
	checkpoint bool                    // commit the open transaction before answering
	out        applied                 // what applying rec found; reset when it is applied again
	err        error                   // a read's result
	commit     func(*Store, *applied)  // apply in-memory effects once rec is durable; nil if none
	done       func(err error)         // answer the caller; nil when the caller waits on wait
	wait       chan error              // the answer of a pooled request (write, settle)
	async      bool                    // done goes through the notifier so it may block or call the store
}

// waiting recycles the requests of callers that wait for their answer, with their channel:
// a synchronous write then allocates its record and nothing else (issue 19: a request, a
// channel and two closures were a sixth of the allocations of a session's creation).
var waiting = sync.Pool{New: func() any { return &request{wait: make(chan error, 1)} }}

// roundTrip submits r, a request from waiting, waits for its answer and recycles it.
func (s *Store) roundTrip(r *request) error {
	s.submit(r)
	err := <-r.wait
	*r = request{wait: r.wait}
	waiting.Put(r)
	return err
}

// reply answers r on the caller's goroutine's terms: after it the writer must not touch r,
// which its caller may recycle at once.
func (r *request) reply(err error) {
	if r.wait != nil {
		r.wait <- err
		return
	}
	r.done(err)
}

// submit hands r to the writer; done is called exactly once. A write that could not be
// applied whole (too long for bbolt) is refused here, before it reaches the transaction.
func (s *Store) submit(r *request) {
	s.submitMu.RLock()
	if s.closed {
		s.submitMu.RUnlock()
		r.reply(ErrClosed)
		return
	}
	if r.rec != nil {
		if err := checkRecord(r.rec); err != nil {
			s.submitMu.RUnlock()
			s.answer(r, err)
			return
		}
	}
	s.reqs <- r
	s.submitMu.RUnlock()
}

// write submits rec and waits until it is durable.
func (s *Store) write(rec []byte, commit func(*Store, *applied)) error {
	r := waiting.Get().(*request)
	r.rec, r.commit = rec, commit
	return s.roundTrip(r)
}

// readCurrent runs fn on data that includes every acknowledged write: in the writer's
// transaction when ek was written since the last checkpoint, else in a read transaction
// of the file (concurrent, the common case: a reconnecting client whose queue has not
// changed for a checkpoint interval). fn runs on the writer in the first case, so it
// only collects.
func (s *Store) readCurrent(ek []byte, fn func(tx *bolt.Tx) error) error {
	if !s.isDirty(ek) {
		return s.view(fn)
	}
	ch := make(chan error, 1)
	r := &request{read: fn}
	r.done = func(err error) {
		if err == nil {
			err = r.err
		}
		ch <- err
	}
	s.submit(r)
	return <-ch
}

// settle waits for a checkpoint, so a read transaction sees every acknowledged write;
// for scans (start, admin), not for the connect path.
func (s *Store) settle() error {
	r := waiting.Get().(*request)
	r.checkpoint = true
	return s.roundTrip(r)
}

// writer collects requests (fill), applies them to its open
// transaction, logs them with one sync and answers; it checkpoints when the policy says.
func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*request, 0, s.opts.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	armed := false
	for {
		var due <-chan time.Time
		if s.tx != nil {
			if !armed {
				tick.Reset(time.Until(s.genStart.Add(s.opts.CheckpointInterval)))
				armed = true
			}
			due = tick.C
		}
		select {
		case r, ok := <-s.reqs:
			if !ok {
				s.finish()
				return
			}
			batch = append(batch[:0], r)
			open := s.fill(&batch, timer)
			s.runBatch(batch)
			clear(batch)
			if !open {
				s.finish()
				return
			}
		case <-due:
			armed = false
			if s.tx != nil && time.Since(s.genStart) >= s.opts.CheckpointInterval {
				s.checkpoint()
			}
		}
	}
}

// fill adds requests to batch until MaxBatch, the commit delay, a lull of CommitDelay/16
// without a new request, or channel close; it reports false once the channel is closed
// (everything sent before Close is in batch). The lull ends the wait early for writers
// that each wait on this very commit (a CONNECT, a SUBSCRIBE: they send nothing more until
// it answers), while a stream of writes (publishes to offline sessions) fills the delay.
func (s *Store) fill(batch *[]*request, timer *time.Timer) bool {
	var deadline time.Time
	for {
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
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(s.opts.CommitDelay)
		}
		wait := min(s.opts.CommitDelay/16, deadline.Sub(now))
		if wait <= 0 {
			return true
		}
		timer.Reset(wait)
		select {
		case r, ok := <-s.reqs:
			timer.Stop()
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		case <-timer.C:
			return true
		}
	}
}

// runBatch applies the batch to the open transaction in order, appends its records to
// the log with one sync, then answers. A write that fails to apply gets its error and
// writes nothing: the transaction is rebuilt from the log and the batch's writes before it.
func (s *Store) runBatch(batch []*request) {
	if s.failed != nil {
		for _, r := range batch {
			s.answer(r, s.failed)
		}
		return
	}
	kept := batch[:0] // answered after the sync, in order
	s.recs = s.recs[:0]
	ckpt := false
	for i, r := range batch {
		switch {
		case r.rec != nil:
			if err := s.apply(r); err != nil {
				if rerr := s.rebuild(kept); rerr != nil {
					s.fail(fmt.Errorf("store: rebuilding the transaction after a failed write: %w", rerr))
					s.answerAll(kept, s.failed)
					s.answer(r, s.failed)
					s.answerAll(batch[i+1:], s.failed)
					return
				}
				s.answer(r, fmt.Errorf("store: write failed and was undone: %w", err))
				continue
			}
			s.recs = append(s.recs, r.rec)
		case r.read != nil:
			if s.tx != nil {
				r.err = r.read(s.tx.Tx)
			} else {
				r.err = s.db.View(r.read)
			}
		case r.checkpoint:
			ckpt = true
		}
		kept = append(kept, r)
	}
	if len(s.recs) > 0 {
		if err := s.wal.append(s.recs); err != nil {
			// Not durable, so not acknowledged. The frames may or may not be in the file;
			// a restart replays what is whole, as for any write in flight at a crash.
			s.fail(err)
			s.answerAll(kept, s.failed)
			return
		}
		s.genWrites += len(s.recs)
		s.commits.Add(1)
		s.batched.Add(uint64(len(s.recs)))
	}
	clear(s.recs)
	// A request is not touched once answered (its caller may recycle it): the checkpoint
	// requests, answered after the checkpoint, move to the front of kept first.
	ckpts := kept[:0]
	for _, r := range kept {
		if r.checkpoint {
			ckpts = append(ckpts, r)
			continue
		}
		if r.rec != nil && r.commit != nil {
			r.commit(s, &r.out)
		}
		s.answer(r, r.err)
	}
	if ckpt || s.genWrites >= s.opts.CheckpointWrites || s.wal.used() >= s.opts.CheckpointBytes {
		s.answerAll(ckpts, s.checkpoint())
	}
}

// apply applies r's record to the open transaction, beginning one if needed.
func (s *Store) apply(r *request) error {
	if s.tx == nil {
		tx, err := s.db.Begin(true)
		if err != nil {
			return fmt.Errorf("store: begin transaction: %w", err)
		}
		s.tx, s.genStart = newWriteTx(tx), time.Now()
	}
	r.out = applied{}
	if err := applyRecord(s.tx, r.rec, &r.out); err != nil {
		return err
	}
	recordKeys(r.rec, &r.out, s.markDirty)
	return nil
}

// rebuild replaces the open transaction, which may hold part of a failed write, with
// one holding what the log holds of this generation and the writes of kept.
func (s *Store) rebuild(kept []*request) error {
	if s.tx != nil {
		_ = s.tx.Rollback() // nothing in it is lost: the log and kept hold it all
		s.tx = nil
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	s.tx = newWriteTx(tx)
	if _, err := s.wal.readFrames(s.wal.off, func(p []byte) error { return replayPayload(s.tx, p) }); err != nil {
		return err
	}
	for _, r := range kept {
		if r.rec != nil {
			r.out = applied{}
			if err := applyRecord(s.tx, r.rec, &r.out); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayPayload applies the records of one log frame.
func replayPayload(tx *writeTx, payload []byte) error {
	var out applied
	return splitRecords(payload, func(rec []byte) error {
		if err := checkRecord(rec); err != nil {
			return err
		}
		out = applied{}
		return applyRecord(tx, rec, &out)
	})
}

// checkpoint commits the open transaction (synced) and starts a new log generation.
func (s *Store) checkpoint() error {
	if s.failed != nil {
		return s.failed
	}
	if s.tx == nil {
		return nil
	}
	tx := s.tx
	s.tx = nil
	base := uint64(tx.ID())
	if err := tx.Commit(); err != nil {
		// Everything acknowledged is in the log, which a restart replays; continuing
		// would need the transaction rebuilt on a disk that just failed.
		s.fail(fmt.Errorf("store: checkpoint commit: %w", err))
		return s.failed
	}
	s.clearDirty()
	s.checkpoints.Add(1)
	if err := s.wal.reset(s.wal.hdr.gen+1, base); err != nil {
		s.fail(err) // the file has everything; the old header names an older txid, so nothing replays twice
		return s.failed
	}
	s.genWrites = 0
	return nil
}

// finish checkpoints at Close: the log is then empty and the file complete. Close
// returns its error (the writer has exited when Close reads closeErr).
func (s *Store) finish() {
	s.closeErr = s.checkpoint()
	if s.tx != nil {
		_ = s.tx.Rollback()
		s.tx = nil
	}
}

// fail puts the store in its failed state: every later write gets err. It logs once.
func (s *Store) fail(err error) {
	if s.tx != nil {
		_ = s.tx.Rollback()
		s.tx = nil
	}
	s.failed = fmt.Errorf("%w (the store refuses writes until the node restarts; a restart replays the log %s, so nothing acknowledged is lost: check disk space and the store dir, then restart)", err, s.wal.path)
	s.log.Error("message store failed", "err", s.failed)
}

func (s *Store) answerAll(rs []*request, err error) {
	for _, r := range rs {
		s.answer(r, err)
	}
}

func (s *Store) answer(r *request, err error) {
	if r.async {
		s.notify.push(func() { r.done(err) })
		return
	}
	r.reply(err)
}

// dirtySet holds hashes of the session keys whose queue or QoS 2 state changed since the
// last checkpoint; the file does not show those changes yet. A collision only sends a
// read through the writer.
type dirtySet struct {
	mu   sync.Mutex
	seed maphash.Seed
	keys map[uint64]struct{}
}

func (s *Store) markDirty(ek []byte) {
	h := maphash.Bytes(s.dirty.seed, ek)
	s.dirty.mu.Lock()
	s.dirty.keys[h] = struct{}{}
	s.dirty.mu.Unlock()
}

func (s *Store) isDirty(ek []byte) bool {
	h := maphash.Bytes(s.dirty.seed, ek)
	s.dirty.mu.Lock()
	_, ok := s.dirty.keys[h]
	s.dirty.mu.Unlock()
	return ok
}

// clearDirty runs after a checkpoint commit: new read transactions see it all.
func (s *Store) clearDirty() {
	s.dirty.mu.Lock()
	clear(s.dirty.keys)
	s.dirty.mu.Unlock()
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
