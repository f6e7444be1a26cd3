package session

import "slices"

// subSet holds a session's subscriptions. The first is inline (a device has one: no
// allocation at all, issue 19); the others are in more, a slice while there are few
// (a map of one costs ~400 bytes against 24 for the slice; nine cost 1.4 KB against 216)
// and a map from subsFew on, where a linear search starts to cost more than hashing.
// An empty one.Filter is no subscription: MQTT has no empty filter [MQTT-4.7.3-1].
type subSet struct {
	one  Sub
	more *subsMore // nil while there is at most one
}

type subsMore struct {
	few  []Sub
	many map[string]Sub
}

const subsFew = 32

func (ss *subSet) len() int {
	n := 0
	if ss.one.Filter != "" {
		n++
	}
	if m := ss.more; m != nil {
		n += len(m.few) + len(m.many)
	}
	return n
}

func (ss *subSet) has(filter string) bool {
	if ss.one.Filter == filter {
		return filter != ""
	}
	return ss.more != nil && ss.more.has(filter)
}

// set records sub; it reports whether the filter was new.
func (ss *subSet) set(sub Sub) bool {
	if ss.one.Filter == sub.Filter {
		ss.one = sub
		return false
	}
	if ss.more == nil {
		if ss.one.Filter == "" {
			ss.one = sub
			return true
		}
		ss.more = &subsMore{}
	} else if ss.one.Filter == "" && !ss.more.has(sub.Filter) {
		ss.one = sub
		return true
	}
	return ss.more.set(sub)
}

// remove forgets filter; it reports whether it was there.
func (ss *subSet) remove(filter string) bool {
	if filter == "" {
		return false
	}
	if ss.one.Filter == filter {
		ss.one = Sub{}
		// The next in order takes the inline place, so a few keep the order they came in.
		if m := ss.more; m != nil && len(m.few) > 0 {
			ss.one = m.few[0]
			m.remove(ss.one.Filter)
		}
	} else if ss.more == nil || !ss.more.remove(filter) {
		return false
	}
	if m := ss.more; m != nil && len(m.few) == 0 && len(m.many) == 0 {
		ss.more = nil
	}
	return true
}

// reserve makes room in the slice form for those of subs that are new, so that setting them
// does not grow it step by step. It counts a filter repeated in subs once per time.
func (ss *subSet) reserve(subs []Sub) {
	n := 0
	for _, sub := range subs {
		if !ss.has(sub.Filter) {
			n++
		}
	}
	if ss.one.Filter == "" && n > 0 {
		n-- // the first new one goes inline
	}
	if n == 0 {
		return
	}
	if ss.more == nil {
		ss.more = &subsMore{}
	}
	if m := ss.more; m.many == nil && len(m.few)+n <= subsFew {
		m.few = slices.Grow(m.few, n)
	}
}

func (ss *subSet) appendTo(out []Sub) []Sub {
	if ss.one.Filter != "" {
		out = append(out, ss.one)
	}
	if m := ss.more; m != nil {
		out = append(out, m.few...)
		for _, sub := range m.many {
			out = append(out, sub)
		}
	}
	return out
}

func (ss *subsMore) find(filter string) (int, bool) {
	for i := range ss.few {
		if ss.few[i].Filter == filter {
			return i, true
		}
	}
	return -1, false
}

func (ss *subsMore) has(filter string) bool {
	if ss.many != nil {
		_, ok := ss.many[filter]
		return ok
	}
	_, ok := ss.find(filter)
	return ok
}

// set records sub; it reports whether the filter was new.
func (ss *subsMore) set(sub Sub) bool {
	if ss.many != nil {
		_, had := ss.many[sub.Filter]
		ss.many[sub.Filter] = sub
		return !had
	}
	if i, ok := ss.find(sub.Filter); ok {
		ss.few[i] = sub
		return false
	}
	if len(ss.few) < subsFew {
		if ss.few == nil {
			ss.few = make([]Sub, 0, 1)
		}
		ss.few = append(ss.few, sub)
		return true
	}
	ss.many = make(map[string]Sub, 2*subsFew)
	for _, o := range ss.few {
		ss.many[o.Filter] = o
	}
	ss.few = nil
	ss.many[sub.Filter] = sub
	return true
}

// remove forgets filter; it reports whether it was there.
func (ss *subsMore) remove(filter string) bool {
	if ss.many != nil {
		_, had := ss.many[filter]
		delete(ss.many, filter)
		return had
	}
	i, ok := ss.find(filter)
	if !ok {
		return false
	}
	ss.few = append(ss.few[:i], ss.few[i+1:]...)
	ss.few[:len(ss.few)+1][len(ss.few)] = Sub{} // no stale filter string behind len
	if len(ss.few) == 0 {
		ss.few = nil
	}
	return true
}

// SetSub records a subscription; it reports whether the filter was new.
func (s *Session) SetSub(sub Sub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.set(sub)
}

// SetSubs records the subscriptions of one SUBSCRIBE (or a restored record) and reports per
// filter whether it was new (isNew, reused when long enough). The slice form grows once, to
// what it will hold, not by doubling: ten filters kept 384 B where 216 hold them (issue 19).
func (s *Session) SetSubs(subs []Sub, isNew []bool) []bool {
	isNew = slices.Grow(isNew[:0], len(subs))[:len(subs)]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs.reserve(subs)
	for i, sub := range subs {
		isNew[i] = s.subs.set(sub)
	}
	return isNew
}

// RemoveSub forgets a subscription; it reports whether it existed.
func (s *Session) RemoveSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.remove(filter)
}

// Subs returns a copy of the subscriptions.
func (s *Session) Subs() []Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.appendTo(make([]Sub, 0, s.subs.len()))
}

// AppendSubs appends the subscriptions to out: a caller that only reads them may pass a
// buffer on its stack (the session record written at each SUBSCRIBE, issue 19).
func (s *Session) AppendSubs(out []Sub) []Sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.appendTo(out)
}

// SubCount is the number of subscriptions.
func (s *Session) SubCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.len()
}

// ReceivedQoS2 records an incoming QoS 2 packet id; it reports false when the id is
// already awaiting PUBREL, i.e. the PUBLISH is a resend that must not be delivered again.
func (s *Session) ReceivedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.activeLocked() // the reader's client is attached: a exists
	if a.qos2In == nil {
		a.qos2In = map[uint16]struct{}{}
	}
	if _, dup := a.qos2In[id]; dup {
		return false
	}
	a.qos2In[id] = struct{}{}
	return true
}

// ReleasedQoS2 handles PUBREL: it reports whether id was awaiting release.
func (s *Session) ReleasedQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.a == nil {
		return false
	}
	_, ok := s.a.qos2In[id]
	delete(s.a.qos2In, id)
	return ok
}

// QoS2InLen is the number of incoming QoS 2 messages awaiting PUBREL.
func (s *Session) QoS2InLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.a == nil {
		return 0
	}
	return len(s.a.qos2In)
}

// HasSub reports whether the session is subscribed to filter (as the client sent it).
func (s *Session) HasSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs.has(filter)
}
