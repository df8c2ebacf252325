package checkout

import (
	"hash/maphash"
	"strings"
	"sync"
)

const (
	// maxSeenShards bounds the number of locks of a seenCharges; a power of
	// two.
	maxSeenShards = 16
	// minSeenPerShard keeps small sets in few shards, so that every shard
	// holds a fair share.
	minSeenPerShard = 64
)

// seenCharges is a bounded set of the payments (payer, charge ID) this
// processor saw the store confirm as recorded, new or duplicate. A charge
// once in the ledger stays there (a refund keeps its record), so a payment
// found here is a duplicate delivery and needs no store call. A payment not
// found here still goes to the store, which stays the source of truth
// across instances and restarts.
//
// Eviction is first in, first out: duplicates come soon after the first
// delivery (a lost 2xx, concurrent deliveries, a batch replayed), so the
// oldest charge is the least likely to come again, and a hit costs a
// read-locked map lookup with no bookkeeping. A charge evicted and
// delivered again costs one store call and comes back in.
type seenCharges struct {
	seed   maphash.Seed
	shards []seenShard // a power of two
}

type seenShard struct {
	mu   sync.RWMutex
	m    map[seenKey]struct{}
	ring []seenKey // in insertion order from hand on, once full
	hand int       // the oldest entry once ring is full
	size int       // this shard's share of the bound
	_    [40]byte  // keep neighbouring shards' locks off one cache line
}

// seenKey is what the store's ledger is keyed by: the payer and the charge.
type seenKey struct {
	userID   int64
	chargeID string
}

// newSeenCharges returns a set holding at most size payments.
func newSeenCharges(size int) *seenCharges {
	n := 1
	for n < maxSeenShards && size/(2*n) >= minSeenPerShard {
		n *= 2
	}
	s := &seenCharges{seed: maphash.MakeSeed(), shards: make([]seenShard, n)}
	// Split size exactly, so that the shards never hold more in total.
	for i := range s.shards {
		sh := &s.shards[i]
		sh.size = size / n
		if i < size%n {
			sh.size++
		}
		sh.m = make(map[seenKey]struct{})
	}
	return s
}

func (s *seenCharges) shard(chargeID string) *seenShard {
	return &s.shards[maphash.String(s.seed, chargeID)&uint64(len(s.shards)-1)]
}

// has reports whether the payment was seen recorded. It does not allocate.
func (s *seenCharges) has(userID int64, chargeID string) bool {
	sh := s.shard(chargeID)
	sh.mu.RLock()
	_, ok := sh.m[seenKey{userID, chargeID}]
	sh.mu.RUnlock()
	return ok
}

// add remembers a payment the store confirmed as recorded, evicting the
// oldest one of its shard when the shard is full.
func (s *seenCharges) add(userID int64, chargeID string) {
	sh := s.shard(chargeID)
	// The ID may point into a larger buffer (the update, a caller's
	// string); keep only its bytes.
	k := seenKey{userID, strings.Clone(chargeID)}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; ok {
		return
	}
	if len(sh.ring) < sh.size {
		sh.ring = append(sh.ring, k)
	} else {
		delete(sh.m, sh.ring[sh.hand])
		sh.ring[sh.hand] = k
		sh.hand = (sh.hand + 1) % sh.size
	}
	sh.m[k] = struct{}{}
}

// len counts the payments held, for tests.
func (s *seenCharges) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
