package topics

import (
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/vernemq-go/vernemq/pkg/packets"
)

// SubscriberID names a session: client ids are unique per mountpoint.
type SubscriberID struct {
	Mountpoint string
	ClientID   string
}

// Entry is one subscription in the index.
type Entry struct {
	Subscriber SubscriberID
	Filter     string // without the "$share/<group>/" prefix
	Options    packets.SubOptions
	SubID      uint32 // v5 subscription identifier, 0 for none
	// Owner is the router's handle for a local subscriber (its session), set by the router.
	Owner any
	// at is the node and shared group, nil for an ordinary subscription of this node: what a
	// node mostly holds, and without the two strings an entry is 80 B, not 112 (issue 19).
	at *entryAt
}

type entryAt struct{ node, group string }

// Node is the owning node's name, "" for a session of this node.
func (e *Entry) Node() string {
	if e.at == nil {
		return ""
	}
	return e.at.node
}

// Group is the shared-subscription group, "" for an ordinary subscription.
func (e *Entry) Group() string {
	if e.at == nil {
		return ""
	}
	return e.at.group
}

// At sets the owning node ("" for this one) and the shared group ("" for none) of e, which
// is not in an index yet, and returns e.
func (e *Entry) At(node, group string) *Entry {
	if node == "" && group == "" {
		e.at = nil
	} else {
		e.at = &entryAt{node, group}
	}
	return e
}

// SharedMatch is one shared group whose filter matched: the router picks one member.
type SharedMatch struct {
	Group   string
	Filter  string
	Members []*Entry
}

// Result collects the matches of one topic; reuse it to avoid allocations.
type Result struct {
	Direct []*Entry
	Shared []SharedMatch
	// Seen is scratch space for the router (owner → first index in Direct), cleared by Reset.
	Seen map[any]int
}

// Reset empties r, keeping its storage.
func (r *Result) Reset() {
	clear(r.Direct)
	r.Direct = r.Direct[:0]
	for i := range r.Shared {
		r.Shared[i] = SharedMatch{}
	}
	r.Shared = r.Shared[:0]
	clear(r.Seen)
}

// entryKey is an ordinary entry's key in its node's entries: shared ones are apart, by group.
type entryKey struct {
	sub  SubscriberID
	node string
}

type trieNode struct {
	// kids, nkids and ckids are the slice of the node's children while they are few
	// (kidsFew), searched in order: a map of one to four children costs ~250 B where the
	// slice costs 24-96, and a device's filters make about seven such nodes each (issue 19).
	// More go to more.wide. The slice is kept as its parts, with 32-bit length and capacity,
	// so that a node is 32 B, not 48 (a device's filters make 14 nodes); kidSlice and
	// setKids are the only code that handles them.
	kids         *child
	nkids, ckids uint32
	// solo is the node's one ordinary entry while it has only one, with entries nil: most
	// filters (device topics such as dev/<id>) have one subscriber, and a map of one costs
	// ~600 bytes against none (issue 19). A second entry moves both into entries.
	solo *Entry
	// more holds what few nodes have, many children, a second ordinary entry or shared
	// groups: apart, a device's leaf (solo alone) is 32 bytes. nil while all are empty.
	more *nodeMore
}

// child is one level below a node and the node for it.
type child struct {
	level string
	node  *trieNode
}

// kidsFew is the most children a node keeps in its slice; past it they go to a map (a
// node such as dev/ with a child per device), where a linear search would cost too much.
const kidsFew = 8

type nodeMore struct {
	wide    map[string]*trieNode // the children once there are more than kidsFew (kids is nil then)
	entries map[entryKey]*Entry
	// shared holds per-group member lists kept sorted by insertion for stable round-robin.
	shared map[string][]*Entry
}

// kidSlice is the node's slice of children (nil when it has none or they are in more.wide).
func (n *trieNode) kidSlice() []child {
	if n.kids == nil {
		return nil
	}
	return unsafe.Slice(n.kids, n.ckids)[:n.nkids]
}

// setKids makes kids the node's slice of children (at most kidsFew).
func (n *trieNode) setKids(kids []child) {
	if len(kids) == 0 {
		n.kids, n.nkids, n.ckids = nil, 0, 0
		return
	}
	n.kids, n.nkids, n.ckids = unsafe.SliceData(kids), uint32(len(kids)), uint32(cap(kids))
}

// child returns the child for level, nil if none.
func (n *trieNode) child(level string) *trieNode {
	if m := n.more; m != nil && m.wide != nil {
		return m.wide[level]
	}
	kids := n.kidSlice()
	for i := range kids {
		if kids[i].level == level {
			return kids[i].node
		}
	}
	return nil
}

// addChild makes the child for level, which must not exist.
func (n *trieNode) addChild(level string) *trieNode {
	c := &trieNode{}
	if m := n.more; m != nil && m.wide != nil {
		m.wide[level] = c
		return c
	}
	if kids := n.kidSlice(); len(kids) < kidsFew {
		n.setKids(append(kids, child{level, c}))
		return c
	}
	wide := make(map[string]*trieNode, 2*kidsFew)
	for _, k := range n.kidSlice() {
		wide[k.level] = k.node
	}
	wide[level] = c
	n.grow().wide = wide
	n.setKids(nil)
	return c
}

// removeChild forgets the child for level. A wide node stays wide until its last child
// goes: nodes that once had many children usually get them again.
func (n *trieNode) removeChild(level string) {
	if m := n.more; m != nil && m.wide != nil {
		delete(m.wide, level)
		if len(m.wide) == 0 {
			m.wide = nil
			n.shrink()
		}
		return
	}
	kids := n.kidSlice()
	for i := range kids {
		if kids[i].level == level {
			n.setKids(slices.Delete(kids, i, i+1)) // clears the freed slot; none left frees the array
			return
		}
	}
}

// eachKid calls fn for each child until it returns false.
func (n *trieNode) eachKid(fn func(*trieNode) bool) bool {
	if m := n.more; m != nil && m.wide != nil {
		for _, c := range m.wide {
			if !fn(c) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kidSlice() {
		if !fn(k.node) {
			return false
		}
	}
	return true
}

// entries and shared read the node's maps; nil while empty.
func (n *trieNode) entries() map[entryKey]*Entry {
	if n.more == nil {
		return nil
	}
	return n.more.entries
}

func (n *trieNode) shared() map[string][]*Entry {
	if n.more == nil {
		return nil
	}
	return n.more.shared
}

// grow returns n.more, making it if need be (under the index's write lock).
func (n *trieNode) grow() *nodeMore {
	if n.more == nil {
		n.more = &nodeMore{}
	}
	return n.more
}

// shrink frees n.more once it holds nothing.
func (n *trieNode) shrink() {
	if m := n.more; m != nil && len(m.entries) == 0 && len(m.shared) == 0 && len(m.wide) == 0 {
		n.more = nil
	}
}

func (n *trieNode) empty() bool {
	return n.nkids == 0 && n.solo == nil && n.more == nil
}

func keyOf(e *Entry) entryKey { return entryKey{e.Subscriber, e.Node()} }

// eachDirect calls fn for the node's ordinary (not shared) entries until it returns false.
func (n *trieNode) eachDirect(fn func(*Entry) bool) bool {
	if n.solo != nil {
		return fn(n.solo)
	}
	for _, e := range n.entries() {
		if !fn(e) {
			return false
		}
	}
	return true
}

// Index is the subscription trie of all mountpoints. Reads (Match) run in
// parallel; writes take the lock exclusively because subscribes are rare next to publishes.
type Index struct {
	mu    sync.RWMutex
	roots map[string]*trieNode // by mountpoint
	n     int
	bytes int64 // estimated memory of nodes and entries (router_memory)
}

// Memory estimates, in bytes, of one trie node and one entry beyond their strings: the
// structs plus their slot in the parent's children or a share of the map that holds them.
const (
	nodeBytes  = int64(unsafe.Sizeof(trieNode{})+unsafe.Sizeof(child{})) + 8
	entryBytes = int64(unsafe.Sizeof(Entry{})+unsafe.Sizeof(entryKey{})) + 48
)

func entrySize(e *Entry) int64 {
	n := entryBytes + int64(len(e.Subscriber.Mountpoint)+len(e.Subscriber.ClientID)+len(e.Filter))
	if e.at != nil {
		n += int64(unsafe.Sizeof(entryAt{})) + int64(len(e.at.node)+len(e.at.group))
	}
	return n
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{roots: map[string]*trieNode{}}
}

// Add inserts or replaces e (same subscriber, node, filter and group). It reports whether it was new.
func (ix *Index) Add(e *Entry) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.addLocked(e)
}

// AddAll adds each of es as Add does, under one lock (a SUBSCRIBE's filters, a restored batch).
func (ix *Index) AddAll(es []*Entry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, e := range es {
		ix.addLocked(e)
	}
}

func (ix *Index) addLocked(e *Entry) bool {
	root := ix.roots[e.Subscriber.Mountpoint]
	if root == nil {
		root = &trieNode{}
		ix.roots[e.Subscriber.Mountpoint] = root
		ix.bytes += nodeBytes + int64(len(e.Subscriber.Mountpoint))
	}
	n := root
	for start := 0; ; {
		end := levelEnd(e.Filter, start)
		level := e.Filter[start:end]
		c := n.child(level)
		if c == nil {
			c = n.addChild(level)
			ix.bytes += nodeBytes + int64(len(level))
		}
		n = c
		if end == len(e.Filter) {
			break
		}
		start = end + 1
	}
	if group := e.Group(); group != "" {
		more := n.grow()
		if more.shared == nil {
			more.shared = map[string][]*Entry{}
		}
		members := more.shared[group]
		for i, m := range members {
			if m.Subscriber == e.Subscriber && m.Node() == e.Node() {
				// Copy on write: a Match result holds this slice after the read lock.
				members = slices.Clone(members)
				ix.bytes += entrySize(e) - entrySize(m)
				members[i] = e
				more.shared[group] = members
				return false
			}
		}
		more.shared[group] = append(members, e)
		ix.n++
		ix.bytes += entrySize(e)
		return true
	}
	k := keyOf(e)
	if n.entries() == nil {
		if n.solo == nil || keyOf(n.solo) == k {
			old := n.solo
			n.solo = e
			if old != nil {
				ix.bytes += entrySize(e) - entrySize(old)
				return false
			}
			ix.n++
			ix.bytes += entrySize(e)
			return true
		}
		n.grow().entries = map[entryKey]*Entry{keyOf(n.solo): n.solo}
		n.solo = nil
	}
	// One map operation, not a lookup and a store: an entry it replaces has the same key and
	// filter, so the same size.
	entries := n.more.entries
	had := len(entries)
	entries[k] = e
	if len(entries) == had {
		return false
	}
	ix.n++
	ix.bytes += entrySize(e)
	return true
}

// Remove deletes the subscription of sub (on node) to filter in group; it reports whether one existed.
func (ix *Index) Remove(sub SubscriberID, node, filter, group string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.removeLocked(sub, node, filter, group)
}

func (ix *Index) removeLocked(sub SubscriberID, node, filter, group string) bool {
	root := ix.roots[sub.Mountpoint]
	if root == nil {
		return false
	}
	var pathBuf [8]*trieNode
	var levelBuf [8]string
	path, levels := append(pathBuf[:0], root), levelBuf[:0]
	n := root
	for start := 0; ; {
		end := levelEnd(filter, start)
		level := filter[start:end]
		c := n.child(level)
		if c == nil {
			return false
		}
		path = append(path, c)
		levels = append(levels, level)
		n = c
		if end == len(filter) {
			break
		}
		start = end + 1
	}
	removed := false
	if group != "" {
		members := n.shared()[group]
		for i, m := range members {
			if m.Subscriber == sub && m.Node() == node {
				ix.bytes -= entrySize(m)
				members = append(members[:i:i], members[i+1:]...)
				removed = true
				break
			}
		}
		if len(members) == 0 {
			if n.more != nil {
				delete(n.more.shared, group)
				n.shrink()
			}
		} else {
			n.more.shared[group] = members
		}
	} else {
		k := entryKey{sub, node}
		var old *Entry
		if n.solo != nil {
			if removed = keyOf(n.solo) == k; removed {
				old, n.solo = n.solo, nil
			}
		} else if old, removed = n.entries()[k]; removed {
			delete(n.more.entries, k)
			if len(n.more.entries) == 0 {
				n.more.entries = nil // the next Add starts over with solo
				n.shrink()
			}
		}
		if removed {
			ix.bytes -= entrySize(old)
		}
	}
	if !removed {
		return false
	}
	ix.n--
	// Prune empty nodes bottom-up so churn of unique topics does not leak memory.
	for i := len(path) - 1; i > 0 && path[i].empty(); i-- {
		path[i-1].removeChild(levels[i-1])
		ix.bytes -= nodeBytes + int64(len(levels[i-1]))
	}
	if root.empty() {
		delete(ix.roots, sub.Mountpoint)
		ix.bytes -= nodeBytes + int64(len(sub.Mountpoint))
	}
	return true
}

// RemoveNode deletes every entry owned by node (a cluster member that left) and returns how many.
func (ix *Index) RemoveNode(node string) int {
	var gone []*Entry
	ix.Walk(func(e *Entry) bool {
		if e.Node() == node {
			gone = append(gone, e)
		}
		return true
	})
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := 0
	for _, e := range gone {
		if ix.removeLocked(e.Subscriber, e.Node(), e.Filter, e.Group()) {
			n++
		}
	}
	return n
}

// Len is the number of entries.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

// Memory is the estimated memory of the index in bytes (VerneMQ's router_memory).
func (ix *Index) Memory() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.bytes
}

// Walk calls fn for every entry until fn returns false. fn must not modify the index.
func (ix *Index) Walk(fn func(*Entry) bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, root := range ix.roots {
		if !walk(root, fn) {
			return
		}
	}
}

func walk(n *trieNode, fn func(*Entry) bool) bool {
	if !n.eachDirect(fn) {
		return false
	}
	for _, members := range n.shared() {
		for _, e := range members {
			if !fn(e) {
				return false
			}
		}
	}
	return n.eachKid(func(c *trieNode) bool { return walk(c, fn) })
}

// Match appends to r every entry whose filter matches topic in mountpoint.
// The entries are shared: callers must treat them as read-only.
func (ix *Index) Match(mountpoint, topic string, r *Result) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	root := ix.roots[mountpoint]
	if root == nil {
		return
	}
	dollar := strings.HasPrefix(topic, "$")
	match(root, topic, 0, true, dollar, r)
}

// match walks one level; first is true at the root, where wildcards must not match '$' topics [MQTT-4.7.2-1].
func match(n *trieNode, topic string, start int, first, dollar bool, r *Result) {
	end := levelEnd(topic, start)
	level := topic[start:end]
	var hash, exact, plus *trieNode
	if m := n.more; m != nil && m.wide != nil {
		hash, exact, plus = m.wide["#"], m.wide[level], m.wide["+"]
	} else {
		kids := n.kidSlice()
		if len(kids) == 0 {
			return
		}
		// One pass over the few children finds all three.
		for i := range kids {
			k := &kids[i]
			if k.level == level {
				exact = k.node
			}
			switch k.level {
			case "#":
				hash = k.node
			case "+":
				plus = k.node
			}
		}
	}
	last := end == len(topic)
	wild := !(first && dollar)
	if hash != nil && wild {
		collect(hash, r)
	}
	if exact != nil {
		descend(exact, topic, end, last, dollar, r)
	}
	if plus != nil && wild {
		descend(plus, topic, end, last, dollar, r)
	}
}

func descend(c *trieNode, topic string, end int, last, dollar bool, r *Result) {
	if last {
		collect(c, r)
		// "a/#" also matches "a" [MQTT-4.7.1-2].
		if h := c.child("#"); h != nil {
			collect(h, r)
		}
		return
	}
	match(c, topic, end+1, false, dollar, r)
}

func collect(n *trieNode, r *Result) {
	if n.solo != nil {
		r.Direct = append(r.Direct, n.solo)
	}
	m := n.more
	if m == nil {
		return
	}
	for _, e := range m.entries {
		r.Direct = append(r.Direct, e)
	}
	for g, members := range m.shared {
		if len(members) > 0 {
			r.Shared = append(r.Shared, SharedMatch{Group: g, Filter: members[0].Filter, Members: members})
		}
	}
}

// Of returns every entry of subscriber sub on node "" (the local one), for session listings.
func (ix *Index) Of(sub SubscriberID) []*Entry {
	var out []*Entry
	ix.Walk(func(e *Entry) bool {
		if e.Subscriber == sub && e.Node() == "" {
			out = append(out, e)
		}
		return true
	})
	return out
}
