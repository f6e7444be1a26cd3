// Package store is the broker's durable message store on bbolt: persistent sessions,
// offline queues, QoS2 receive state and retained messages. All writes go through one
// group-committing writer goroutine so many concurrent writers share each fsync.
package store

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tune durability and batching; zero values pick the defaults.
type Options struct {
	// CommitDelay is how long the writer waits at most to fill a batch (default 2ms; negative:
	// not at all); a lull of a sixteenth of it without a new write ends the wait (fill).
	CommitDelay time.Duration
	MaxBatch    int  // requests per group commit at most; default 1000
	NoSync      bool // skip fsync of log and file (tests, or when losing recent writes on power loss is fine)
	// The checkpoint policy (docs/store.md): the open transaction is committed to the file
	// and the log restarted after CheckpointInterval (default 1s), CheckpointWrites writes
	// (default 8192) or CheckpointBytes of log (default 64 MiB), whichever comes first.
	CheckpointInterval time.Duration
	CheckpointWrites   int
	CheckpointBytes    int64
	Logger             *slog.Logger
}

// SessionKey identifies a session: MQTT client ids are unique per mountpoint.
type SessionKey struct {
	Mountpoint, ClientID string
}

// Subscription is one topic filter of a persistent session.
type Subscription struct {
	Filter            string
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	SubID             uint32
}

// Session is a persistent session as stored.
type Session struct {
	Key             SessionKey
	ProtocolVersion byte
	ExpiryInterval  uint32    // seconds; 0xFFFFFFFF never
	DisconnectedAt  time.Time // zero while online
	Username        string
	Subscriptions   []Subscription
	// QoS2 are the packet ids awaiting PUBREL, ascending. Sessions fills it (in the same pass,
	// not a read per session); PutSession ignores it: PutQoS2 and DeleteQoS2 keep them.
	QoS2 []uint16
}

// Message is a stored application message. Props is opaque to the store.
type Message struct {
	Topic     string
	Payload   []byte
	QoS       byte
	Retain    bool
	Dup       bool
	Props     []byte
	Expiry    int64 // unix nanos, 0 = none
	Published int64 // unix nanos
}

// Queued is a message in a session queue with its per-session sequence number.
type Queued struct {
	Seq uint64
	Msg Message
}

// Stats is a snapshot of store counters.
type Stats struct {
	Sessions, Messages int
	Commits            uint64 // group commits: batches of writes made durable by one log sync
	Batched            uint64 // write requests carried by those commits
	Checkpoints        uint64 // bbolt transactions committed by the writer
	FileSize           int64
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store: closed (reopen the store with Open)")

// lockTimeout is how long Open waits for the file lock; a var so tests can shorten it.
var lockTimeout = 5 * time.Second

// Bucket names; see docs/store.md.
var (
	bucketMeta     = []byte("meta")
	bucketSessions = []byte("sessions")
	bucketQueues   = []byte("queues")
	bucketExpiry   = []byte("expiry")
	bucketQoS2     = []byte("qos2")
	bucketRetained = []byte("retained")
	keyFormat      = []byte("format")
)

// Store is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	log  *slog.Logger

	// submitMu guards closed and sends on reqs, so Close can close reqs safely.
	submitMu sync.RWMutex
	closed   bool
	reqs     chan *request
	writerWG sync.WaitGroup
	notify   *notifier

	// The writer goroutine's own state (commit.go); Open sets it up before the writer runs.
	wal       *wal
	tx        *writeTx  // open transaction holding the writes since the last checkpoint; nil if none
	genStart  time.Time // when tx began
	genWrites int       // writes logged in this generation
	recs      [][]byte  // reused: the records of a batch
	failed    error     // set once a log write or checkpoint failed; every later write gets it
	closeErr  error     // the checkpoint at Close
	dirty     dirtySet

	// cmu guards the in-memory counters, updated only after a commit succeeds.
	cmu  sync.Mutex
	qlen map[SessionKey]int
	// sessions counts the session records. Only a count: a set of keys would hold a second
	// copy of every client id beside the broker's (issue 19); commits learn from the
	// bucket whether a record is new.
	sessions int
	messages int

	commits     atomic.Uint64
	batched     atomic.Uint64
	checkpoints atomic.Uint64
}

// Open opens or creates the store file at path, creating parent directories.
func Open(path string, opts Options) (*Store, error) {
	if opts.CommitDelay == 0 {
		opts.CommitDelay = 2 * time.Millisecond
	}
	if opts.CommitDelay < 0 {
		opts.CommitDelay = 0
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Second
	}
	if opts.CheckpointWrites <= 0 {
		opts.CheckpointWrites = 8192
	}
	if opts.CheckpointBytes <= 0 {
		opts.CheckpointBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w (check permissions of the store dir)", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		NoSync:         opts.NoSync,
		NoFreelistSync: true, // freelist is rebuilt at open; saves a page write per commit
		FreelistType:   bolt.FreelistMapType,
		// Address space only. When the file outgrows the map, bbolt remaps and copies every
		// key and value the open transaction holds (a checkpoint of 64 MiB took a second
		// growing from a small map); at 1 GiB that happens once per GiB of file.
		InitialMmapSize: 1 << 30,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is locked by another process after %s; another node may use this data dir (stop it or give this node its own store dir)", path, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// With the large map bbolt grows the file by AllocSize at a time (16 MiB by default);
	// 1 MiB keeps a small store's file small, for one extra truncate+sync per MiB grown.
	db.AllocSize = 1 << 20
	w, hasLog, err := openWAL(path+walSuffix, opts.NoSync)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{
		db: db, path: path, opts: opts, log: opts.Logger, wal: w,
		reqs:  make(chan *request, 2*opts.MaxBatch),
		qlen:  make(map[SessionKey]int),
		dirty: dirtySet{seed: maphash.MakeSeed(), keys: map[uint64]struct{}{}},
	}
	if err := s.init(hasLog); err != nil {
		w.close()
		db.Close()
		return nil, err
	}
	s.notify = newNotifier()
	s.writerWG.Add(1)
	go s.writer()
	s.log.Info("store opened", "path", path, "sessions", s.sessions, "messages", s.messages)
	return s, nil
}

// init creates buckets, checks the format version, replays the log if the file does not
// hold its generation yet, starts a new generation and rebuilds the in-memory counters.
func (s *Store) init(hasLog bool) error {
	replayed := int64(0)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := s.initBuckets(tx); err != nil {
			return err
		}
		// The generation follows the txid in its header; a later committed txid means the
		// checkpoint that ended it was committed (and the crash came before the log reset).
		if !hasLog || s.wal.hdr.base != uint64(tx.ID()-1) {
			return nil
		}
		wtx := newWriteTx(tx)
		end, err := s.wal.readFrames(s.wal.size, func(p []byte) error { return replayPayload(wtx, p) })
		replayed = end - walDataStart
		return err
	})
	if err != nil {
		return err
	}
	if replayed > 0 {
		s.log.Info("store: replayed the log", "path", s.wal.path, "bytes", replayed)
	}
	var base uint64
	err = s.db.View(func(tx *bolt.Tx) error {
		base = uint64(tx.ID())
		return s.count(tx)
	})
	if err != nil {
		return err
	}
	gen := uint64(1)
	if hasLog {
		gen = s.wal.hdr.gen + 1
	}
	return s.wal.reset(gen, base)
}

func (s *Store) initBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketSessions, bucketQueues, bucketExpiry, bucketQoS2, bucketRetained} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keyFormat); v == nil {
		if err := meta.Put(keyFormat, []byte{formatVersion}); err != nil {
			return err
		}
	} else if len(v) != 1 || v[0] != formatVersion {
		return fmt.Errorf("store: %s has format %v, this build reads %d (use a matching build or a fresh store dir)", s.path, v, formatVersion)
	}
	return nil
}

// count rebuilds the in-memory counters from committed data (bucket stats read pages,
// not a write transaction's changes).
func (s *Store) count(tx *bolt.Tx) error {
	s.sessions = tx.Bucket(bucketSessions).Stats().KeyN
	return tx.Bucket(bucketQueues).ForEachBucket(func(k []byte) error {
		key, _, err := decodeKey(k)
		if err != nil {
			return fmt.Errorf("store: load queues: %w", err)
		}
		n := tx.Bucket(bucketQueues).Bucket(k).Stats().KeyN
		if n > 0 {
			s.qlen[key] = n
			s.messages += n
		}
		return nil
	})
}

// Close waits for pending writes to commit, then closes the file.
func (s *Store) Close() error {
	s.submitMu.Lock()
	if s.closed {
		s.submitMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.reqs)
	s.submitMu.Unlock()
	s.writerWG.Wait()
	s.notify.close()
	return errors.Join(s.closeErr, s.wal.close(), s.db.Close())
}

// Stats returns counters; FileSize comes from the file system.
func (s *Store) Stats() Stats {
	s.cmu.Lock()
	st := Stats{Sessions: s.sessions, Messages: s.messages}
	s.cmu.Unlock()
	st.Commits = s.commits.Load()
	st.Batched = s.batched.Load()
	st.Checkpoints = s.checkpoints.Load()
	if fi, err := os.Stat(s.path); err == nil {
		st.FileSize = fi.Size()
	}
	return st
}

// QueueLen is the number of queued messages of k, from memory.
func (s *Store) QueueLen(k SessionKey) int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.qlen[k]
}

// addQueueLen applies a committed change to the counters; callers hold no locks.
func (s *Store) addQueueLen(k SessionKey, delta int) {
	if delta == 0 {
		return
	}
	s.cmu.Lock()
	n := s.qlen[k] + delta
	if n <= 0 {
		delete(s.qlen, k)
	} else {
		s.qlen[k] = n
	}
	s.messages += delta
	s.cmu.Unlock()
}

// view runs a read-only transaction, failing fast after Close.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.submitMu.RLock()
	closed := s.closed
	s.submitMu.RUnlock()
	if closed {
		return ErrClosed
	}
	return s.db.View(fn)
}
