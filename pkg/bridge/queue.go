package bridge

import "sync"

// Msg is one message on its way through a bridge.
type Msg struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// store keeps the outgoing buffer in order: the sender peeks a batch, sends it, and pops
// it once the remote broker has acknowledged it, so a batch cut short by a lost connection
// is sent again after the reconnect.
type store interface {
	Len() int
	Push(m Msg) error
	Peek(n int) ([]Msg, error) // the first n (or fewer) messages, not removed
	Pop(n int) error           // remove the first n messages
	Close() error
}

// memStore is the in-memory buffer (persistent_queue = off).
type memStore struct {
	mu   sync.Mutex
	msgs []Msg
	head int
}

func (s *memStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs) - s.head
}

func (s *memStore) Push(m Msg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *memStore) Peek(n int) ([]Msg, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.msgs)-s.head)
	return append([]Msg(nil), s.msgs[s.head:s.head+n]...), nil
}

func (s *memStore) Pop(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.msgs)-s.head)
	clear(s.msgs[s.head : s.head+n]) // let the payloads go
	s.head += n
	// Compact once the popped part dominates, so the slice does not grow forever.
	if s.head > 1024 && s.head*2 > len(s.msgs) {
		s.msgs = append([]Msg(nil), s.msgs[s.head:]...)
		s.head = 0
	}
	return nil
}

func (s *memStore) Close() error { return nil }
