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
	gen      uint64
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
