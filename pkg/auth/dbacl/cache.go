package dbacl

import (
	"sync"

	"github.com/vernemq-go/vernemq/pkg/auth"
)

// Cache holds each connected client's ACLs, keyed by {mountpoint, client id}
// as vmq_diversity_cache; Forget (on disconnect) evicts.
type Cache struct {
	mu sync.RWMutex
	m  map[auth.SubscriberID]*ACLs
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{m: map[auth.SubscriberID]*ACLs{}} }

// Put stores a client's ACLs, replacing earlier ones.
func (c *Cache) Put(id auth.SubscriberID, a *ACLs) {
	c.mu.Lock()
	c.m[id] = a
	c.mu.Unlock()
}

// Get returns the client's ACLs, nil if it did not log in through this plugin.
func (c *Cache) Get(id auth.SubscriberID) *ACLs {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[id]
}

// Forget evicts the client.
func (c *Cache) Forget(mountpoint, clientID string) {
	c.mu.Lock()
	delete(c.m, auth.SubscriberID{Mountpoint: mountpoint, ClientID: clientID})
	c.mu.Unlock()
}

// Len is the number of cached clients.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
