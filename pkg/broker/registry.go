package broker

import (
	"sync"
	"time"

	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// SessionID names a session: mountpoint and client id.
type SessionID = topics.SubscriberID

type entry struct {
	s      *session.Session
	gen    uint64      // bumped on every connect, so stale timers do nothing
	will   *willState  // pending will while the client is offline with a will delay
	expiry *time.Timer // session expiry while offline
}

type registry struct {
	mu       sync.Mutex
	sessions map[SessionID]*entry
	// online holds the sessions a connection is attached to (added by Connect, removed by
	// Disconnect): what the retry scan visits, where a pass over every session each second
	// held mu for a million offline ones and stalled connects (issue 19).
	online map[*session.Session]struct{}
	gen    uint64
	ids    map[SessionID]*idLock // registrations in progress, one lock per client id
	// idFree holds unused id locks for the next lockID: a new one and its unlock closure per
	// connect and per disconnect were a fifteenth of a session's allocations (issue 19).
	idFree []*idLock
}

// maxFreeIDLocks bounds idFree: about as many as registrations run at once.
const maxFreeIDLocks = 256

// idLock serialises what happens to one client id (connect, takeover, disconnect) without
// holding mu, so a slow step for one client (a stuck old connection, a plugin hook, the
// cluster's registration) never makes the others wait.
type idLock struct {
	mu   sync.Mutex
	refs int // callers holding or waiting for mu; the entry goes when it drops to 0
}

// lockID takes id's lock and returns it for unlockID. Never call it holding mu.
func (r *registry) lockID(id SessionID) *idLock {
	r.mu.Lock()
	if r.ids == nil {
		r.ids = map[SessionID]*idLock{}
	}
	l := r.ids[id]
	if l == nil {
		if n := len(r.idFree); n > 0 {
			l = r.idFree[n-1]
			r.idFree[n-1] = nil
			r.idFree = r.idFree[:n-1]
		} else {
			l = &idLock{}
		}
		r.ids[id] = l
	}
	l.refs++
	r.mu.Unlock()
	l.mu.Lock()
	return l
}

// unlockID releases l, id's lock taken with lockID. The last of its holders and waiters
// frees it: no one else can reach it then (lockID finds locks in ids, under mu).
func (r *registry) unlockID(id SessionID, l *idLock) {
	l.mu.Unlock()
	r.mu.Lock()
	if l.refs--; l.refs == 0 {
		delete(r.ids, id)
		if len(r.idFree) < maxFreeIDLocks {
			r.idFree = append(r.idFree, l)
		}
	}
	r.mu.Unlock()
}

func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Session returns the session of id, or nil.
func (b *Broker) Session(id SessionID) *session.Session {
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	if e := b.reg.sessions[id]; e != nil {
		return e.s
	}
	return nil
}

// SessionCounts returns how many sessions the node holds and how many of them a connection
// is attached to, without a walk over them.
func (b *Broker) SessionCounts() (total, online int) {
	b.reg.mu.Lock()
	defer b.reg.mu.Unlock()
	total = len(b.reg.sessions)
	// A session handed to another node leaves the registry before its connection ends: for
	// that moment it is counted online here too.
	return total, min(len(b.reg.online), total)
}

// walkChunk is how many sessions a walk over the registry visits per hold of its lock.
const walkChunk = 1024

// eachEntry calls fn on every registered session with mu held, letting go of mu after
// every walkChunk of them: connects wait for a chunk, not for a pass over a node of a
// million sessions (half a second at 300,000). Ranging over a map that others change
// meanwhile under the same lock is defined as for changes made by fn: an entry removed
// before it is reached is not visited, one added may or may not be.
func (r *registry) eachEntry(fn func(id SessionID, e *entry)) {
	r.mu.Lock()
	n := 0
	for id, e := range r.sessions {
		fn(id, e)
		if n++; n%walkChunk == 0 {
			r.mu.Unlock()
			r.mu.Lock()
		}
	}
	r.mu.Unlock()
}

// Sessions calls fn for each session (a snapshot; fn may call into the broker).
func (b *Broker) Sessions(fn func(*session.Session) bool) {
	all := make([]*session.Session, 0, b.reg.len())
	b.reg.eachEntry(func(_ SessionID, e *entry) { all = append(all, e.s) })
	for _, s := range all {
		if !fn(s) {
			return
		}
	}
}
