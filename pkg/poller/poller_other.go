//go:build !linux

package poller

// Poller is unavailable off Linux.
type Poller struct{}

// New reports ErrUnsupported.
func New(start func(func())) (*Poller, error) { return nil, ErrUnsupported }

// Wait is never reached: New fails.
func (p *Poller) Wait(fd int, key uint64, fn func()) error { return ErrUnsupported }

// WaitNew is never reached: New fails.
func (p *Poller) WaitNew(fd int, key uint64, fn func()) error { return ErrUnsupported }

// Cancel reports false.
func (p *Poller) Cancel(key uint64) bool { return false }

// Len is 0.
func (p *Poller) Len() int { return 0 }

// Close does nothing.
func (p *Poller) Close() error { return nil }
