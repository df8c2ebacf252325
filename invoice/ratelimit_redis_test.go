package invoice

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

// newRing returns a one-shard *redis.Ring on the test Redis: a client type
// other than *redis.Client, to show any redis.Scripter works.
func newRing(t *testing.T) *redis.Ring {
	t.Helper()
	opts, err := redis.ParseURL(redistest.URL())
	require.NoError(t, err)
	ring := redis.NewRing(&redis.RingOptions{
		Addrs:     map[string]string{"one": opts.Addr},
		Username:  opts.Username,
		Password:  opts.Password,
		DB:        opts.DB,
		TLSConfig: opts.TLSConfig,
	})
	t.Cleanup(func() { _ = ring.Close() })
	return ring
}

func TestRedisLimiterInstancesShareBudget(t *testing.T) {
	prefix := redistest.Prefix(t)
	cfg := LimitConfig{Prefix: prefix}
	a, err := NewRedisLimiter(redistest.Client(t), cfg)
	require.NoError(t, err)
	b, err := NewRedisLimiter(newRing(t), cfg)
	require.NoError(t, err)

	allowed := 0
	for i := 0; i < 20; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		ok, _, err := l.Allow(context.Background(), 7)
		require.NoError(t, err)
		if ok {
			allowed++
		}
	}
	assert.Equal(t, DefaultLimit, allowed, "two instances on two clients share one budget")

	// Another prefix is another budget.
	other, err := NewRedisLimiter(redistest.Client(t), LimitConfig{Prefix: redistest.Prefix(t)})
	require.NoError(t, err)
	ok, _, err := other.Allow(context.Background(), 7)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestRedisLimiterKeyAndTTL(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	l, err := NewRedisLimiter(rdb, LimitConfig{Limit: 4, Period: time.Hour, Prefix: prefix})
	require.NoError(t, err)
	ctx := context.Background()

	ok, _, err := l.Allow(ctx, 279058397)
	require.NoError(t, err)
	require.True(t, ok)

	key := prefix + "ratelimit:invoice:{u:279058397}"
	ttl, err := rdb.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Duration(0), "the script sets a TTL")
	assert.LessOrEqual(t, ttl, 15*time.Minute, "one call reserves one interval")

	exhaust(t, l, 279058397, 3)
	ttl, err = rdb.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 45*time.Minute)
	assert.LessOrEqual(t, ttl, time.Hour, "the key never outlives the period")

	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{key}, keys, "one key per user, hash-tagged")
}

func TestRedisLimiterStoredState(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	l, err := NewRedisLimiter(rdb, LimitConfig{Prefix: prefix})
	require.NoError(t, err)

	t.Run("ok, unreadable value is treated as a fresh budget", func(t *testing.T) {
		require.NoError(t, rdb.Set(ctx, l.key(1), "garbage", time.Minute).Err())
		require.Equal(t, DefaultLimit, exhaust(t, l, 1, DefaultLimit+1))
	})
	t.Run("nok, key of another type is an error, not an allowance", func(t *testing.T) {
		require.NoError(t, rdb.HSet(ctx, l.key(2), "f", "v").Err())
		ok, retry, err := l.Allow(ctx, 2)
		require.Error(t, err)
		assert.False(t, ok)
		assert.Zero(t, retry)
	})
}

func TestRedisLimiterFailuresAreErrors(t *testing.T) {
	opts, err := redis.ParseURL(redistest.URL())
	require.NoError(t, err)

	t.Run("nok, closed client", func(t *testing.T) {
		rdb := redis.NewClient(opts)
		l, err := NewRedisLimiter(rdb, LimitConfig{Prefix: redistest.Prefix(t)})
		require.NoError(t, err)
		require.NoError(t, rdb.Close())
		ok, retry, err := l.Allow(context.Background(), 1)
		require.ErrorIs(t, err, redis.ErrClosed)
		assert.False(t, ok)
		assert.Zero(t, retry)
	})
	t.Run("nok, nothing listening", func(t *testing.T) {
		down := *opts
		down.Addr = "127.0.0.1:1" // reserved port, refused at once
		down.MaxRetries = -1
		down.DialerRetries = 1
		rdb := redis.NewClient(&down)
		t.Cleanup(func() { _ = rdb.Close() })
		l, err := NewRedisLimiter(rdb, LimitConfig{})
		require.NoError(t, err)
		ok, _, err := l.Allow(context.Background(), 1)
		require.Error(t, err)
		assert.False(t, ok)
	})
	t.Run("nok, canceled context", func(t *testing.T) {
		l, err := NewRedisLimiter(redistest.Client(t), LimitConfig{Prefix: redistest.Prefix(t)})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ok, _, err := l.Allow(ctx, 1)
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, ok)
	})
}

func TestParseAllowReply(t *testing.T) {
	tests := []struct {
		name        string
		given       any
		expectOK    bool
		expectRetry time.Duration
		expectErr   bool
	}{
		{name: "ok, allowed", given: []any{int64(1), int64(0)}, expectOK: true},
		{name: "ok, refused", given: []any{int64(0), int64(6_000_000)}, expectRetry: 6 * time.Second},
		{name: "nok, nil", given: nil, expectErr: true},
		{name: "nok, integer", given: int64(1), expectErr: true},
		{name: "nok, string", given: "OK", expectErr: true},
		{name: "nok, empty array", given: []any{}, expectErr: true},
		{name: "nok, one element", given: []any{int64(1)}, expectErr: true},
		{name: "nok, three elements", given: []any{int64(1), int64(0), int64(0)}, expectErr: true},
		{name: "nok, string elements", given: []any{"1", "0"}, expectErr: true},
		{name: "nok, nil element", given: []any{nil, int64(0)}, expectErr: true},
		{name: "nok, allowed with a retry", given: []any{int64(1), int64(5)}, expectErr: true},
		{name: "nok, refused without a retry", given: []any{int64(0), int64(0)}, expectErr: true},
		{name: "nok, negative retry", given: []any{int64(0), int64(-1)}, expectErr: true},
		{name: "nok, retry overflowing a Duration", given: []any{int64(0), int64(1) << 62}, expectErr: true},
		{name: "nok, unknown flag", given: []any{int64(2), int64(0)}, expectErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, retry, err := parseAllowReply(tt.given)
			if tt.expectErr {
				require.ErrorIs(t, err, ErrLimiterReply)
				assert.False(t, ok)
				assert.Zero(t, retry)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expectOK, ok)
			assert.Equal(t, tt.expectRetry, retry)
		})
	}
}
