package middleware

import (
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerifiedCache_expiry(t *testing.T) {
	c := newVerifiedCache(10)
	d := &InitData{User: testUser}
	c.put("raw", d, 100, 0)

	for _, tc := range []struct {
		name      string
		whenNow   int64
		expectHit bool
	}{
		{"ok, before expiry", 50, true},
		{"ok, at expiry", 100, true},
		{"nok, after expiry", 101, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.get("raw", tc.whenNow)
			assert.Equal(t, tc.expectHit, ok)
			if tc.expectHit {
				assert.Same(t, d, got)
			}
		})
	}
	_, ok := c.get("raw2", 0)
	assert.False(t, ok)
}

func TestVerifiedCache_bounded(t *testing.T) {
	const size = 32
	c := newVerifiedCache(size)
	for i := range 1000 {
		key := "raw" + strconv.Itoa(i)
		c.put(key, &InitData{}, int64(1000+i), 0)
		_, ok := c.get(key, 0)
		require.True(t, ok, "the entry just put is there")
	}
	assert.LessOrEqual(t, c.len(), size)
	assert.Greater(t, c.len(), size/2, "shards fill up")
}

func TestCacheShard_evict(t *testing.T) {
	newShard := func(expiries map[string]int64) *cacheShard {
		sh := &cacheShard{m: map[string]cacheEntry{}}
		for k, exp := range expiries {
			sh.m[k] = cacheEntry{data: &InitData{}, expires: exp}
		}
		return sh
	}
	tests := []struct {
		name        string
		given       map[string]int64
		whenNow     int64
		expectKeys  []string
		expectCount int
	}{
		{name: "ok, expired entries go first", given: map[string]int64{"a": 5, "b": 50, "c": 7, "d": 60}, whenNow: 10, expectKeys: []string{"b", "d"}},
		{name: "ok, else the one expiring soonest", given: map[string]int64{"a": 30, "b": 20, "c": 40}, whenNow: 10, expectKeys: []string{"a", "c"}},
		{name: "ok, a single entry", given: map[string]int64{"a": 30}, whenNow: 10, expectKeys: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := newShard(tc.given)
			sh.evict(tc.whenNow)
			keys := []string{}
			for k := range sh.m {
				keys = append(keys, k)
			}
			assert.ElementsMatch(t, tc.expectKeys, keys)
		})
	}
}

// A repeat is answered from the cache: the very same *InitData comes back,
// which a fresh parse could not produce.
func TestAuth_cacheServesRepeats(t *testing.T) {
	raw := signed(testToken, nil)
	for _, tc := range []struct {
		name       string
		cacheSize  int
		expectSame bool
	}{
		{"ok, cache on", 0, true},
		{"ok, cache off", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), CacheSize: tc.cacheSize}.newVerifier()
			require.NoError(t, err)
			first, err := v.verify(raw)
			require.NoError(t, err)
			second, err := v.verify(raw)
			require.NoError(t, err)
			assert.Equal(t, first, second)
			assert.Equal(t, tc.expectSame, first == second)
		})
	}
}

// A cached entry is never served past auth_date + MaxAge, and a failure is
// never cached.
func TestAuth_cacheRespectsExpiry(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	v, err := AuthConfig{BotToken: testToken, Now: clock, MaxAge: time.Hour}.newVerifier()
	require.NoError(t, err)
	raw := signed(testToken, nil)

	_, err = v.verify(raw)
	require.NoError(t, err)
	require.Equal(t, 1, v.cache.len())

	now.Store(testNow.Add(time.Hour).UnixNano())
	_, err = v.verify(raw)
	require.NoError(t, err, "still valid at exactly MaxAge")

	now.Store(testNow.Add(time.Hour + time.Second).UnixNano())
	_, err = v.verify(raw)
	require.ErrorIs(t, err, ErrExpired)

	forged := reencode(t, raw, func(q url.Values) { q.Set("start_param", "x") })
	_, err = v.verify(forged)
	require.ErrorIs(t, err, ErrSignatureInvalid)
	assert.Equal(t, 1, v.cache.len(), "failures are not cached")
}

func TestAuth_cacheConcurrent(t *testing.T) {
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), CacheSize: 8}.newVerifier()
	require.NoError(t, err)
	raws := make([]string, 40)
	for i := range raws {
		raws[i] = signed(testToken, func(q url.Values) { q.Set("query_id", strconv.Itoa(i)) })
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				raw := raws[(g*7+i)%len(raws)]
				d, err := v.verify(raw)
				if !assert.NoError(t, err) {
					return
				}
				q, _ := url.ParseQuery(raw)
				assert.Equal(t, q.Get("query_id"), d.QueryID)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, v.cache.len(), cacheShards) // 8 rounds up to one per shard
}
