package checkout

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestSeenChargesShards(t *testing.T) {
	tests := []struct {
		givenSize    int
		expectShards int
	}{
		{1, 1},
		{5, 1},
		{127, 1},
		{128, 2},
		{1000, 8},
		{DefaultDuplicateCacheSize, maxSeenShards},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.givenSize), func(t *testing.T) {
			s := newSeenCharges(tc.givenSize)
			assert.Len(t, s.shards, tc.expectShards)
			total := 0
			for i := range s.shards {
				assert.Positive(t, s.shards[i].size)
				total += s.shards[i].size
			}
			assert.Equal(t, tc.givenSize, total, "the shares add up to the bound")
		})
	}
}

func TestSeenChargesFirstInFirstOut(t *testing.T) {
	s := newSeenCharges(3) // one shard
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		s.add(1, id)
	}
	assert.Equal(t, 3, s.len())
	assert.False(t, s.has(1, "a"), "the oldest goes first; adding it again did not refresh it")
	for _, id := range []string{"b", "c", "d"} {
		assert.True(t, s.has(1, id), id)
	}
	assert.False(t, s.has(2, "b"), "another payer's charge")
	s.add(1, "e")
	assert.False(t, s.has(1, "b"))
	assert.True(t, s.has(1, "e"))
}

func TestSeenChargesKeepsOwnCopy(t *testing.T) {
	s := newSeenCharges(10)
	buf := []byte("charge-1 and more")
	id := unsafeString(buf[:8])
	s.add(1, id)
	copy(buf, "xxxxxxxx")
	assert.True(t, s.has(1, "charge-1"))
}

func TestSeenChargesHasDoesNotAllocate(t *testing.T) {
	s := newSeenCharges(100)
	id := strings.Repeat("x", 60)
	s.add(1, id)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if !s.has(1, id) {
			t.Fatal("miss")
		}
	}))
}

// unsafeString views b as a string, as a zero-copy decoder could hand one
// out.
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }

// BenchmarkDuplicateCacheMemory fills a cache of the default size with
// charge IDs of 128 bytes (real ones are about that long) and reports the
// live heap per payment held.
func BenchmarkDuplicateCacheMemory(b *testing.B) {
	ids := make([]string, DefaultDuplicateCacheSize)
	for i := range ids {
		ids[i] = fmt.Sprintf("stx%0125d", i)
	}
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := newSeenCharges(len(ids))
		for i, id := range ids {
			s.add(int64(i), id)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / float64(s.len())
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perEntry, "B/payment")
	b.ReportMetric(perEntry-128, "B/payment-overhead")
}
