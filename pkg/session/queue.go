package session

// queue is a ring buffer of deliveries; it grows up to the session's limit.
type queue struct {
	buf        []Delivery
	head, size int
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
		// Give memory back after a burst so an idle session stays small.
		if len(q.buf) > 64 {
			q.buf = nil
		}
	}
	return d
}

// each calls fn for each queued delivery in order.
func (q *queue) each(fn func(*Delivery)) {
	for i := 0; i < q.size; i++ {
		fn(&q.buf[(q.head+i)%len(q.buf)])
	}
}
