package broker

import (
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/vernemq-go/vernemq/pkg/session"
	"github.com/vernemq-go/vernemq/pkg/topics"
)

// retained holds the last retained message of each topic, per mountpoint.
type retained struct {
	// order is held from the change in memory to its submission to the store, so two
	// retained messages of a topic reach both in the same order; mu is taken under it.
	order sync.Mutex
	mu    sync.RWMutex
	byMP  map[string]map[string]*session.Message
	n     int
	bytes int64 // estimated memory of the stored messages (retain_memory)
	// changed holds the topics set or deleted since the last RetainedChanges, with the
	// time of their last change (Unix ns), once TrackRetainedChanges is called (nil before:
	// a node alone keeps no such set).
	changed map[RetainedKey]int64
	// expiring counts the retained messages with a message expiry interval: the expiry
	// sweep walks the store only when some are.
	expiring int
}

// RetainedKey names one retained message.
type RetainedKey struct{ Mountpoint, Topic string }

func (r *retained) touch(mountpoint, topic string) {
	if r.changed != nil {
		r.changed[RetainedKey{mountpoint, topic}] = time.Now().UnixNano()
	}
}

// retainedBytes estimates the memory of one retained message: the struct, its map slot,
// topic, payload and properties.
func retainedBytes(m *session.Message) int64 {
	n := int64(unsafe.Sizeof(session.Message{})) + 64 + int64(2*len(m.Topic)+len(m.Payload)+len(m.From))
	if p := m.Props; p != nil {
		n += int64(unsafe.Sizeof(*p)) + int64(len(p.ContentType)+len(p.ResponseTopic)+len(p.CorrelationData))
		for _, u := range p.User {
			n += int64(len(u.Key) + len(u.Value) + 32)
		}
	}
	return n
}

func (r *retained) memory() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.bytes
}

func (r *retained) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// set stores m, or deletes the topic's retained message when the payload is empty
// [MQTT-3.3.1-10]. local: a write of this node (a publish here), which the cluster sends
// on; not one restored from the store or received from a peer.
func (r *retained) set(m *session.Message, local bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mp := r.byMP[m.Mountpoint]
	if len(m.Payload) == 0 {
		if old, ok := mp[m.Topic]; ok {
			r.remove(mp, old, local)
		}
		return
	}
	if local {
		r.touch(m.Mountpoint, m.Topic)
	}
	if mp == nil {
		mp = map[string]*session.Message{}
		r.byMP[m.Mountpoint] = mp
	}
	if old, ok := mp[m.Topic]; ok {
		r.bytes -= retainedBytes(old)
		r.expiring -= expiring(old)
	} else {
		r.n++
	}
	r.bytes += retainedBytes(m)
	r.expiring += expiring(m)
	mp[m.Topic] = m
}

// remove deletes old, the retained message of its topic in mp (local as for set); caller holds mu.
func (r *retained) remove(mp map[string]*session.Message, old *session.Message, local bool) {
	delete(mp, old.Topic)
	r.n--
	r.bytes -= retainedBytes(old)
	r.expiring -= expiring(old)
	if local {
		r.touch(old.Mountpoint, old.Topic)
	}
}

func expiring(m *session.Message) int {
	if m.Expiry.IsZero() {
		return 0
	}
	return 1
}

// setRetained makes m its topic's retained message in memory and in the store, in one
// order for both; w (not nil) waits for the store's commit.
func (b *Broker) setRetained(m *session.Message, w *wait) {
	b.retain.order.Lock()
	b.retain.set(m, true)
	b.persist.retained(m, w)
	b.retain.order.Unlock()
}

// hasAny reports whether mountpoint has a retained message.
func (r *retained) hasAny(mountpoint string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byMP[mountpoint]) > 0
}

// match calls fn for each unexpired retained message matching filter.
func (r *retained) match(mountpoint, filter string, fn func(*session.Message)) {
	now := time.Now()
	var found []*session.Message
	r.mu.RLock()
	mp := r.byMP[mountpoint]
	if m, ok := mp[filter]; ok {
		found = append(found, m) // a filter without wildcards is its own topic
	} else if hasWildcard(filter) {
		for topic, m := range mp {
			if topics.Match(filter, topic) {
				found = append(found, m)
			}
		}
	}
	r.mu.RUnlock()
	sort.Slice(found, func(i, j int) bool { return found[i].Topic < found[j].Topic })
	for _, m := range found {
		if !m.Expired(now) {
			fn(m)
		}
	}
}

func hasWildcard(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] == '+' || f[i] == '#' {
			return true
		}
	}
	return false
}

// Retained calls fn for each retained message (vmq-admin retain show).
func (b *Broker) Retained(fn func(m *session.Message) bool) {
	b.retain.mu.RLock()
	var all []*session.Message
	for _, mp := range b.retain.byMP {
		for _, m := range mp {
			all = append(all, m)
		}
	}
	b.retain.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Topic < all[j].Topic })
	for _, m := range all {
		if !fn(m) {
			return
		}
	}
}

// DeleteRetained removes the retained message of topic (vmq-admin retain delete).
func (b *Broker) DeleteRetained(mountpoint, topic string) bool {
	return b.deleteRetainedIf(mountpoint, topic, nil, true)
}

// DeletePeerRetained is DeleteRetained for a delete a cluster peer made (no local change).
func (b *Broker) DeletePeerRetained(mountpoint, topic string) bool {
	return b.deleteRetainedIf(mountpoint, topic, nil, false)
}

// deleteRetainedIf removes the retained message of topic if cond (nil: any) holds for it,
// from memory and the store.
func (b *Broker) deleteRetainedIf(mountpoint, topic string, cond func(*session.Message) bool, local bool) bool {
	b.retain.order.Lock()
	defer b.retain.order.Unlock()
	b.retain.mu.Lock()
	mp := b.retain.byMP[mountpoint]
	old, ok := mp[topic]
	if ok && (cond == nil || cond(old)) {
		b.retain.remove(mp, old, local)
	} else {
		ok = false
	}
	b.retain.mu.Unlock()
	if ok {
		b.persist.retained(&session.Message{Mountpoint: mountpoint, Topic: topic}, nil)
	}
	return ok
}

// DeleteExpiredRetained deletes the retained messages whose message expiry interval has
// passed at now (no subscriber gets them any more [MQTT-3.3.2-5]) from memory, the store
// and, through RetainedChanges, the cluster; it returns how many. It walks the store only
// when some retained message has an expiry, and lets go of the lock every 1,024 messages,
// so a retained publish waits for one chunk at most.
func (b *Broker) DeleteExpiredRetained(now time.Time) int {
	r := &b.retain
	r.mu.RLock()
	if r.expiring == 0 {
		r.mu.RUnlock()
		return 0
	}
	var expired []RetainedKey
	i := 0
	for mp, msgs := range r.byMP {
		for topic, m := range msgs {
			if m.Expired(now) {
				expired = append(expired, RetainedKey{mp, topic})
			}
			if i++; i%1024 == 0 {
				// Go's range goes on over a map changed meanwhile; mountpoint maps are never removed.
				r.mu.RUnlock()
				r.mu.RLock()
			}
		}
	}
	r.mu.RUnlock()
	n := 0
	for _, k := range expired {
		// Replaced meanwhile by a message that has not expired: kept.
		if b.deleteRetainedIf(k.Mountpoint, k.Topic, func(m *session.Message) bool { return m.Expired(now) }, true) {
			n++
		}
	}
	return n
}

// RestoreRetained loads a retained message without persisting it again: one restored from
// the store, or a cluster peer's (neither is a local change for RetainedChanges).
func (b *Broker) RestoreRetained(m *session.Message) { b.retain.set(m, false) }

// RetainedChangedAt is the time (Unix ns) of a local change of k not yet taken by
// RetainedChanges: a peer's write stamped earlier must not replace it.
func (b *Broker) RetainedChangedAt(k RetainedKey) (int64, bool) {
	b.retain.mu.RLock()
	defer b.retain.mu.RUnlock()
	at, ok := b.retain.changed[k]
	return at, ok
}

// TrackRetainedChanges makes the retained store remember which topics change from now on,
// for RetainedChanges (the cluster's replication). Messages restored before are not changes.
func (b *Broker) TrackRetainedChanges() {
	b.retain.mu.Lock()
	defer b.retain.mu.Unlock()
	if b.retain.changed == nil {
		b.retain.changed = map[RetainedKey]int64{}
	}
}

// RetainedChanges calls fn for each topic whose retained message was set or deleted since
// the last call, with the message retained there now (nil: none) and the time of that
// change (Unix ns). Its cost follows the changes, not the number of retained messages.
func (b *Broker) RetainedChanges(fn func(k RetainedKey, m *session.Message, at int64)) {
	b.retain.mu.Lock()
	changed := b.retain.changed
	if len(changed) == 0 {
		b.retain.mu.Unlock()
		return
	}
	b.retain.changed = map[RetainedKey]int64{}
	now := make(map[RetainedKey]*session.Message, len(changed))
	for k := range changed {
		now[k] = b.retain.byMP[k.Mountpoint][k.Topic] // nil when deleted
	}
	b.retain.mu.Unlock()
	for k, m := range now {
		fn(k, m, changed[k])
	}
}
