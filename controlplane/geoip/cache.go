package geoip

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is how many addresses one generation of a DB's answer
// cache holds; the cache keeps at most two generations (see cache). At
// about 100 bytes an entry (the key and Info: the reader shares the
// strings of equal records; 94 B measured with the GeoLite2 files) the two
// are 3 MiB: the hosts an operator pages through and the remote hosts of
// the alerts listed stay cached, while a sweep over a very large host
// table only costs its own lookups.
const DefaultCacheSize = 1 << 14

// cache remembers the answers of recent lookups, so that a host's
// geography costs one database lookup (about 1.5 µs: a tree walk and the
// decoding of two records) however often answers show it, not one per
// answer or per page refresh.
//
// It is a two-generation cache, an approximation of LRU with O(1)
// operations and a hard bound: new answers go into cur; when cur holds
// size entries it becomes old and a new cur starts, so the least recently
// used entries (those only in the old generation) are dropped as a whole.
// A hit in old moves the entry into cur, so an address in use survives
// any number of rotations. At most 2×size entries are kept.
type cache struct {
	mu       sync.RWMutex
	cur, old map[netip.Addr]Info
	size     int

	hits, misses atomic.Uint64
}

func newCache(size int) *cache {
	return &cache{cur: make(map[netip.Addr]Info, size), size: size}
}

func (c *cache) get(a netip.Addr) (Info, bool) {
	// Hits in the current generation, the common case, share the lock:
	// a query's workers look up in parallel.
	c.mu.RLock()
	info, ok := c.cur[a]
	c.mu.RUnlock()
	if ok {
		c.hits.Add(1)
		return info, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if info, ok := c.cur[a]; ok { // put there since the read above
		c.hits.Add(1)
		return info, true
	}
	if info, ok := c.old[a]; ok {
		c.hits.Add(1)
		delete(c.old, a)
		c.putLocked(a, info)
		return info, true
	}
	c.misses.Add(1)
	return Info{}, false
}

func (c *cache) put(a netip.Addr, info Info) {
	c.mu.Lock()
	c.putLocked(a, info)
	c.mu.Unlock()
}

func (c *cache) putLocked(a netip.Addr, info Info) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[netip.Addr]Info, c.size)
	}
	c.cur[a] = info
}

// len is the number of addresses kept (both generations).
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// CacheStats are a DB's answer cache counters since Open: lookups
// answered from the cache and lookups that read the databases (addresses
// that are not routable count as neither).
type CacheStats struct {
	Hits, Misses uint64
	Entries      int
}

// CacheStats reports the answer cache's counters (zero for a nil DB).
func (db *DB) CacheStats() CacheStats {
	if db == nil || db.cache == nil {
		return CacheStats{}
	}
	return CacheStats{Hits: db.cache.hits.Load(), Misses: db.cache.misses.Load(), Entries: db.cache.len()}
}
