package invoice

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestMemoryLimiter(t *testing.T, cfg LimitConfig) (*MemoryLimiter, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Now = clock.Now
	l, err := NewMemoryLimiter(cfg)
	require.NoError(t, err)
	return l, clock
}

func TestMemoryLimiterRefills(t *testing.T) {
	l, clock := newTestMemoryLimiter(t, LimitConfig{})
	ctx := context.Background()
	require.Equal(t, 10, exhaust(t, l, 1, 11))

	ok, retry, err := l.Allow(ctx, 1)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 6*time.Second, retry, "one interval of a 10-a-minute limit")

	clock.Advance(retry - time.Nanosecond)
	ok, retry, err = l.Allow(ctx, 1)
	require.NoError(t, err)
	require.False(t, ok, "not before retryAfter")
	require.Equal(t, time.Nanosecond, retry)

	clock.Advance(time.Nanosecond)
	require.Equal(t, 1, exhaust(t, l, 1, 3), "one request per interval after the burst")

	clock.Advance(time.Minute)
	require.Equal(t, 10, exhaust(t, l, 1, 12), "an idle period restores the whole budget")

	clock.Advance(30 * time.Second)
	require.Equal(t, 5, exhaust(t, l, 1, 12), "half a period restores half the budget")
}

func TestMemoryLimiterDropsIdleUsers(t *testing.T) {
	l, clock := newTestMemoryLimiter(t, LimitConfig{Limit: 2, Period: time.Minute})
	for user := int64(1); user <= 1000; user++ {
		exhaust(t, l, user, 1)
	}
	require.Len(t, l.tat, 1000)

	clock.Advance(30 * time.Second)
	exhaust(t, l, 5000, 2) // busy until 1m30s
	assert.Len(t, l.tat, 1001, "no sweep within a period")

	clock.Advance(31 * time.Second) // users 1..1000 are full again, 5000 is not
	exhaust(t, l, 6000, 1)
	assert.Len(t, l.tat, 2, "idle users are dropped")
	assert.Contains(t, l.tat, int64(5000))
	assert.Contains(t, l.tat, int64(6000))

	require.Equal(t, 2, exhaust(t, l, 1, 3), "a dropped user starts with a full budget")
}

func TestMemoryLimiterCanceledContext(t *testing.T) {
	l, _ := newTestMemoryLimiter(t, LimitConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, _, err := l.Allow(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, ok)
	assert.Empty(t, l.tat, "a canceled call takes nothing")
}

func BenchmarkMemoryLimiterAllow(b *testing.B) {
	l, err := NewMemoryLimiter(LimitConfig{Limit: 1000, Period: time.Second})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	var user int64
	for b.Loop() {
		user = (user + 1) % 1024
		if _, _, err := l.Allow(ctx, user); err != nil {
			b.Fatal(err)
		}
	}
}
