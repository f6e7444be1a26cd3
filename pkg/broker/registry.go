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

// Sessions calls fn for each session (a snapshot; fn may call into the broker).
func (b *Broker) Sessions(fn func(*session.Session) bool) {
	b.reg.mu.Lock()
	all := make([]*session.Session, 0, len(b.reg.sessions))
	for _, e := range b.reg.sessions {
		all = append(all, e.s)
	}
	b.reg.mu.Unlock()
	for _, s := range all {
		if !fn(s) {
			return
		}
	}
}
