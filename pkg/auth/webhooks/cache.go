package webhooks

import (
	"sync"
	"time"
)

// cache keeps ok answers for their max-age (vmq_webhooks_cache); expired
// entries are dropped when looked up or when the cache grows past maxEntries.
type cache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	endpoint Endpoint
	resp     *response
	expires  time.Time
}

const maxEntries = 100000

func newCache() *cache { return &cache{m: map[string]cacheEntry{}} }

func (c *cache) get(k string) (*response, Endpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, Endpoint{}, false
	}
	if time.Now().After(e.expires) {
		delete(c.m, k)
		return nil, Endpoint{}, false
	}
	return e.resp, e.endpoint, true
}

func (c *cache) put(k string, endpoint Endpoint, r *response, age time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxEntries {
		now := time.Now()
		for k2, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, k2)
			}
		}
		if len(c.m) >= maxEntries {
			return // full of live entries: answer uncached rather than grow without bound
		}
	}
	c.m[k] = cacheEntry{endpoint: endpoint, resp: r, expires: time.Now().Add(age)}
}

func (c *cache) dropEndpoint(endpoint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.endpoint.URL == endpoint {
			delete(c.m, k)
		}
	}
}

func (c *cache) clear() {
	c.mu.Lock()
	c.m = map[string]cacheEntry{}
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
