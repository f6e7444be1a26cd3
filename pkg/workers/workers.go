// Package workers runs functions on goroutines kept for the next one. A connection's
// goroutine (the listener's, for the handshake) and a parked connection's resumed reader
// each used to be a new goroutine: the runtime allocated its starting stack, growstack grew
// it, and the runtime freed it at the end, ~6% of the broker's CPU per created session
// (issue 19). A worker keeps its grown stack from one function to the next.
package workers

import (
	"sync"
	"sync/atomic"

	"github.com/vernemq-go/vernemq/pkg/growstack"
)

// Pool hands functions to idle workers and starts a new one when none waits; at most
// maxIdle workers wait at once, the others end after their function.
type Pool struct {
	jobs    chan func() // unbuffered: a send succeeds only when a worker is waiting
	done    chan struct{}
	closing sync.Once
	idle    atomic.Int32
	started atomic.Int64 // workers started, for tests
	maxIdle int32
}

// New returns a pool keeping up to maxIdle waiting workers (at least 1).
func New(maxIdle int) *Pool {
	return &Pool{jobs: make(chan func()), done: make(chan struct{}), maxIdle: int32(max(maxIdle, 1))}
}

// Close ends the waiting workers; functions given to Go afterwards still run. A second
// Close does nothing (a node may be stopped twice).
func (p *Pool) Close() { p.closing.Do(func() { close(p.done) }) }

// Go runs fn on another goroutine, as a go statement does, and like one it makes that
// goroutine the next to run on this thread: a caller starting several keeps their order
// (the poller resumes connections in the order their data came).
func (p *Pool) Go(fn func()) {
	select {
	case p.jobs <- fn:
	default:
		p.started.Add(1)
		go p.work(fn)
	}
}

func (p *Pool) work(fn func()) {
	growstack.Grow()
	for {
		fn()
		if p.idle.Add(1) > p.maxIdle {
			p.idle.Add(-1)
			return
		}
		select {
		case fn = <-p.jobs:
			p.idle.Add(-1)
		case <-p.done:
			p.idle.Add(-1)
			return
		}
	}
}

// Idle is the number of workers waiting for a function.
func (p *Pool) Idle() int { return int(p.idle.Load()) }
