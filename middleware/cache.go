package middleware

import (
	"hash/maphash"
	"sync"
)

const (
	cacheShards = 16 // power of two; spreads lock traffic on many cores
	// evictSample is how many entries an insert into a full shard looks at.
	evictSample = 32
)

// verifiedCache remembers init data that passed verification, keyed by the
// exact raw string, until auth_date + MaxAge. A Mini App sends the same init
// data with every request of a session, so repeats skip the HMAC, the
// Ed25519 check and the parsing. A hit is a read-locked map lookup with no
// allocation (indexing a map with a string does not copy it).
//
// Only successes are stored, so an attacker cannot fill it without valid
// signatures. Entries that fail the checks again (expired) are never served.
type verifiedCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
	_  [32]byte // keep shards' locks on separate cache lines
}

type cacheEntry struct {
	data    *InitData
	expires int64 // Unix nanoseconds: auth_date + MaxAge
}

func newVerifiedCache(size int) *verifiedCache {
	c := &verifiedCache{seed: maphash.MakeSeed(), perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *verifiedCache) shard(raw string) *cacheShard {
	return &c.shards[maphash.String(c.seed, raw)&(cacheShards-1)]
}

// get returns the entry for raw if it is still valid at now (Unix ns).
func (c *verifiedCache) get(raw string, now int64) (*InitData, bool) {
	sh := c.shard(raw)
	sh.mu.RLock()
	e, ok := sh.m[raw]
	sh.mu.RUnlock()
	if !ok || now > e.expires {
		return nil, false
	}
	return e.data, true
}

// put stores d until expires. When the shard is full it first drops expired
// entries among a sample, else the sampled entry that expires soonest (the
// least useful one); the sample is random because map iteration is.
func (c *verifiedCache) put(raw string, d *InitData, expires, now int64) {
	sh := c.shard(raw)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[raw]; !ok && len(sh.m) >= c.perShard {
		sh.evict(now)
	}
	sh.m[raw] = cacheEntry{data: d, expires: expires}
}

func (sh *cacheShard) evict(now int64) {
	var (
		soonest    string
		soonestExp int64
		seen       int
		dropped    bool
		found      bool
	)
	for k, e := range sh.m {
		if now > e.expires {
			delete(sh.m, k)
			dropped = true
		} else if !found || e.expires < soonestExp {
			soonest, soonestExp, found = k, e.expires, true
		}
		if seen++; seen == evictSample {
			break
		}
	}
	if !dropped {
		delete(sh.m, soonest)
	}
}

// len counts the entries, for tests.
func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
