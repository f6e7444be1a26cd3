package session

// queue is a ring buffer of deliveries; it grows up to the session's limit.
type queue struct {
	buf        []Delivery
	head, size int
	peak       int // largest size since the queue was last empty
	recent     int // peak of recent bursts, decaying by 1/8 per buffer's worth of pushes
	pushes     int // pushes since recent last decayed
}

func (q *queue) Len() int { return q.size }

func (q *queue) push(d Delivery) {
	if q.size == len(q.buf) {
		n := 2 * len(q.buf)
		if n < 8 {
			n = 8
		}
		nb := make([]Delivery, n)
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = d
	q.size++
	q.pushes++
	q.peak = max(q.peak, q.size)
}

func (q *queue) peek() *Delivery {
	return &q.buf[q.head]
}

func (q *queue) pop() Delivery {
	d := q.buf[q.head]
	q.buf[q.head] = Delivery{}
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 {
		q.head = 0
		// Keep a buffer recent bursts used (regrowing it per burst was 8 allocations, and
		// bursts vary: judging by the last alone freed it every few); give back one far
		// larger than bursts have needed for a while. The peak decays with traffic, not
		// per emptying: a fast flusher empties the queue many times within one burst.
		// trim frees it when the client idles.
		q.recent = max(q.peak, q.recent)
		if q.pushes >= len(q.buf) {
			q.recent -= q.recent / 8
			q.pushes = 0
		}
		if len(q.buf) > 64 && q.recent < len(q.buf)/16 {
			q.buf, q.recent = nil, 0
		}
		q.peak = 0
	}
	return d
}

// trim frees the buffer of an empty queue.
func (q *queue) trim() {
	if q.size == 0 {
		q.buf, q.head, q.peak, q.recent, q.pushes = nil, 0, 0, 0, 0
	}
}

// each calls fn for each queued delivery in order.
func (q *queue) each(fn func(*Delivery)) {
	for i := 0; i < q.size; i++ {
		fn(&q.buf[(q.head+i)%len(q.buf)])
	}
}

// Idle gives back the memory an idle session does not need (the empty queue's
// buffer); the connection calls it when its client has gone quiet.
func (s *Session) Idle() {
	s.mu.Lock()
	if s.a != nil {
		s.a.q.trim()
	}
	s.mu.Unlock()
}
