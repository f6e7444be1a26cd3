//go:build linux

package poller

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Poller is one epoll set. Its own descriptor is waited on through Go's network
// poller, so no OS thread blocks in epoll_wait.
type Poller struct {
	epfd  int
	file  *os.File
	mu    sync.Mutex
	waits map[uint64]func()
	done  chan struct{}
	ready []func() // dispatch's scratch, used by the run goroutine only
	start func(func())
}

// New creates the epoll set and starts dispatching. start runs each ready callback on
// another goroutine, the next to run on this thread as with a go statement (nil: a go statement).
func New(start func(func())) (*Poller, error) {
	if start == nil {
		start = func(fn func()) { go fn() }
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("poller: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("poller: set non-blocking: %w", err)
	}
	// A non-blocking descriptor is registered with the runtime's poller by os.NewFile.
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("poller: %w", err)
	}
	p := &Poller{epfd: epfd, file: f, waits: map[uint64]func(){}, done: make(chan struct{}), start: start}
	go p.run(rc)
	return p, nil
}

// Wait arms fd once: when it is readable (or hung up), fn runs on another goroutine (New),
// unless Cancel(key) took it first. key must be unique among armed descriptors.
// The registration of a closed descriptor disappears with it; call Cancel for its key.
func (p *Poller) Wait(fd int, key uint64, fn func()) error {
	// A descriptor parked before keeps its disarmed one-shot registration: re-arm it.
	return p.arm(fd, key, fn, unix.EPOLL_CTL_MOD, unix.ENOENT, unix.EPOLL_CTL_ADD)
}

// WaitNew is Wait for a descriptor not armed in p before (a connection's first park): it
// adds it first, sparing the failed re-arm that Wait would try.
func (p *Poller) WaitNew(fd int, key uint64, fn func()) error {
	return p.arm(fd, key, fn, unix.EPOLL_CTL_ADD, unix.EEXIST, unix.EPOLL_CTL_MOD)
}

// arm registers fn under key and arms fd with op, or with alt when op fails with miss.
func (p *Poller) arm(fd int, key uint64, fn func(), op int, miss error, alt int) error {
	p.mu.Lock()
	p.waits[key] = fn // before arming: the event may fire at once
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(key), Pad: int32(key >> 32)}
	err := unix.EpollCtl(p.epfd, op, fd, &ev)
	if errors.Is(err, miss) {
		err = unix.EpollCtl(p.epfd, alt, fd, &ev)
	}
	if err != nil {
		p.Cancel(key)
		return fmt.Errorf("poller: arming fd %d: %w", fd, err)
	}
	return nil
}

// Cancel forgets key. It reports true when fn had not run and now never will:
// the caller then owns what fn would have done. Exactly one of the two happens.
func (p *Poller) Cancel(key uint64) bool {
	p.mu.Lock()
	_, ok := p.waits[key]
	delete(p.waits, key)
	p.mu.Unlock()
	return ok
}

// Len is the number of armed descriptors.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waits)
}

// Close stops dispatching; armed callbacks are dropped (their owners Cancel them).
func (p *Poller) Close() error {
	err := p.file.Close()
	<-p.done
	return err
}

func (p *Poller) run(rc syscall.RawConn) {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	// Read returns only when the file is closed: f always asks to wait for more.
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(fd), events, 0)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return false
			}
			p.dispatch(events[:n])
			if n < len(events) {
				// Drained: the runtime's edge-triggered poller wakes us on the next event.
				return false
			}
		}
	})
}

func (p *Poller) dispatch(evs []unix.EpollEvent) {
	p.mu.Lock()
	fns := p.ready[:0]
	for i := range evs {
		key := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
		if fn, ok := p.waits[key]; ok {
			delete(p.waits, key)
			fns = append(fns, fn)
		}
	}
	p.mu.Unlock()
	// Resume in the order the sockets became readable: the goroutine started last runs
	// next on this thread, the others queue in the order they started. A client that writes
	// to one connection and then to another gets them handled in that order (a SUBSCRIBE
	// on one, then a PUBLISH on the other, as request/response programs do).
	if len(fns) > 0 {
		for _, fn := range fns[1:] {
			p.start(fn)
		}
		p.start(fns[0])
	}
	clear(fns)
	p.ready = fns
}
