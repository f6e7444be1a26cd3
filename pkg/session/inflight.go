package session

import "time"

type outState byte

const (
	awaitPuback outState = iota
	awaitPubrec
	awaitPubcomp
)

type outMsg struct {
	id    uint16
	d     Delivery
	state outState
	sent  time.Time // last (re)send, for retry_interval
}

// inflight keeps the outgoing QoS 1/2 messages waiting for an acknowledgement, in send order.
type inflight struct {
	byID  map[uint16]*outMsg
	order []*outMsg // send order, for resends after a reconnect; compacted lazily
	next  uint16
	// free holds entries dropped from order by a compaction, for reuse: no allocation
	// per QoS 1/2 delivery in steady state. An entry is only reused once order no longer
	// refers to it, so each never sees it twice.
	free []*outMsg
}

func (f *inflight) Len() int { return len(f.byID) }

// add assigns a free packet id to d.
func (f *inflight) add(d Delivery) *outMsg {
	if f.byID == nil {
		f.byID = map[uint16]*outMsg{}
	}
	for {
		f.next++
		if f.next == 0 {
			f.next = 1
		}
		if _, used := f.byID[f.next]; !used {
			break
		}
	}
	var m *outMsg
	if n := len(f.free); n > 0 {
		m, f.free = f.free[n-1], f.free[:n-1]
		*m = outMsg{id: f.next, d: d}
	} else {
		m = &outMsg{id: f.next, d: d}
	}
	if d.QoS == 2 {
		m.state = awaitPubrec
	}
	f.byID[m.id] = m
	f.order = append(f.order, m)
	return m
}

func (f *inflight) get(id uint16) *outMsg { return f.byID[id] }

func (f *inflight) remove(id uint16) *outMsg {
	m := f.byID[id]
	if m == nil {
		return nil
	}
	delete(f.byID, id)
	// Compact the order list when most of it is gone, so it stays O(window).
	if len(f.order) > 2*len(f.byID)+16 {
		live := f.order[:0]
		for _, o := range f.order {
			if f.byID[o.id] == o {
				live = append(live, o)
			} else if len(f.free) < 256 && o != m {
				f.free = append(f.free, o) // m is still read by the caller (its delivery's store seq)
			}
		}
		clear(f.order[len(live):])
		f.order = live
	}
	return m
}

// each visits the live inflight messages in send order.
func (f *inflight) each(fn func(*outMsg)) {
	for _, o := range f.order {
		if f.byID[o.id] == o {
			fn(o)
		}
	}
}
