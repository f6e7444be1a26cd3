package broker

import (
	"sync"

	"github.com/vernemq-go/vernemq/pkg/session"
)

// Store is the durable side of the router; nil keeps everything in memory.
type Store interface{}

// persister connects sessions to the store; with no store every method is a no-op.
type persister struct {
	b *Broker
}

func (p persister) forSession() session.Persister                                       { return nil }
func (p persister) saveSession(s *session.Session)                                      {}
func (p persister) deleteSession(id SessionID)                                          {}
func (p persister) wakeup(s *session.Session)                                           {}
func (p persister) offline(s *session.Session)                                          {}
func (p persister) retained(m *session.Message)                                         {}
func (p persister) qos2(s *session.Session, id uint16, add bool)                        {}
func (p persister) enqueueOffline(s *session.Session, d session.Delivery, w *wait) bool { return false }

// wait counts the durable writes one publish waits for before its acknowledgement.
type wait struct {
	mu      sync.Mutex
	pending int
	err     error
	done    func(error)
}

func (p persister) newWait(done func(error)) *wait {
	return &wait{pending: 1, done: done}
}

func (w *wait) add() {
	w.mu.Lock()
	w.pending++
	w.mu.Unlock()
}

// finish ends one write; the last one calls done.
func (w *wait) finish(err error) {
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.pending--
	last := w.pending == 0
	w.mu.Unlock()
	if last && w.done != nil {
		w.done(w.err)
	}
}

func (w *wait) release() { w.finish(nil) }
