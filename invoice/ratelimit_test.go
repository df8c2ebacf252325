package invoice

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

// fakeClock is the memory limiter's injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 7, 14, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// limiterKinds lets one behaviour table run against both implementations.
var limiterKinds = []struct {
	name string
	new  func(t *testing.T, cfg LimitConfig) Limiter
}{
	{name: "memory", new: func(t *testing.T, cfg LimitConfig) Limiter {
		cfg.Now = newFakeClock().Now
		l, err := NewMemoryLimiter(cfg)
		require.NoError(t, err)
		return l
	}},
	{name: "redis", new: func(t *testing.T, cfg LimitConfig) Limiter {
		cfg.Prefix = redistest.Prefix(t)
		l, err := NewRedisLimiter(redistest.Client(t), cfg)
		require.NoError(t, err)
		return l
	}},
}

// exhaust calls Allow n times for user and returns how many were allowed.
func exhaust(t *testing.T, l Limiter, user int64, n int) int {
	t.Helper()
	allowed := 0
	for i := 0; i < n; i++ {
		ok, retry, err := l.Allow(context.Background(), user)
		require.NoError(t, err)
		if ok {
			allowed++
			assert.Zero(t, retry)
		}
	}
	return allowed
}

func TestLimiterBudget(t *testing.T) {
	tests := []struct {
		name         string
		givenConfig  LimitConfig
		expectAllow  int
		expectMinRet time.Duration // retryAfter of the first refusal lies in (min, max]
		expectMaxRet time.Duration
	}{
		{
			name:         "ok, default 10 a minute, the 11th waits for one interval",
			givenConfig:  LimitConfig{},
			expectAllow:  10,
			expectMinRet: 0,
			expectMaxRet: 6 * time.Second,
		},
		{
			// A long period makes the Redis clock's progress during the
			// test negligible, so the bounds can be tight.
			name:         "ok, 3 per 3h, the 4th waits an hour",
			givenConfig:  LimitConfig{Limit: 3, Period: 3 * time.Hour},
			expectAllow:  3,
			expectMinRet: time.Hour - time.Minute,
			expectMaxRet: time.Hour,
		},
		{
			name:         "ok, 1 per day",
			givenConfig:  LimitConfig{Limit: 1, Period: 24 * time.Hour},
			expectAllow:  1,
			expectMinRet: 24*time.Hour - time.Minute,
			expectMaxRet: 24 * time.Hour,
		},
	}
	for _, kind := range limiterKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				l := kind.new(t, tt.givenConfig)
				const user = 279058397
				require.Equal(t, tt.expectAllow, exhaust(t, l, user, tt.expectAllow), "the whole budget is available at once")

				ok, retry, err := l.Allow(context.Background(), user)
				require.NoError(t, err)
				require.False(t, ok, "call %d must be refused", tt.expectAllow+1)
				assert.Greater(t, retry, tt.expectMinRet)
				assert.LessOrEqual(t, retry, tt.expectMaxRet)

				// A refused call takes nothing: the next refusal is no longer.
				ok, again, err := l.Allow(context.Background(), user)
				require.NoError(t, err)
				require.False(t, ok)
				assert.LessOrEqual(t, again, retry)
			})
		}
	}
}

func TestLimiterUsersAreIndependent(t *testing.T) {
	for _, kind := range limiterKinds {
		t.Run(kind.name, func(t *testing.T) {
			l := kind.new(t, LimitConfig{Limit: 5, Period: time.Hour})
			require.Equal(t, 5, exhaust(t, l, 1, 8))
			require.Equal(t, 5, exhaust(t, l, 2, 8), "user 2 is unaffected by user 1")
			require.Equal(t, 5, exhaust(t, l, -1, 8), "negative IDs get keys of their own")
			require.Equal(t, 0, exhaust(t, l, 1, 1))
		})
	}
}

func TestLimiterConcurrentCallersNeverExceedLimit(t *testing.T) {
	for _, kind := range limiterKinds {
		t.Run(kind.name, func(t *testing.T) {
			l := kind.new(t, LimitConfig{})
			const callers = 50
			var allowed, refused atomic.Int32
			errs := make(chan error, callers)
			var start sync.WaitGroup
			start.Add(1)
			var done sync.WaitGroup
			for i := 0; i < callers; i++ {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					ok, retry, err := l.Allow(context.Background(), 42)
					switch {
					case err != nil:
						errs <- err
					case ok:
						allowed.Add(1)
					case retry > 0:
						refused.Add(1)
					}
				}()
			}
			start.Done()
			done.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			assert.Equal(t, int32(DefaultLimit), allowed.Load())
			assert.Equal(t, int32(callers-DefaultLimit), refused.Load(), "every refusal carries a retryAfter")
		})
	}
}

func TestLimitConfigValidation(t *testing.T) {
	tests := []struct {
		name        string
		givenConfig LimitConfig
		expectErr   bool
	}{
		{name: "ok, zero config uses defaults", givenConfig: LimitConfig{}},
		{name: "ok, explicit values", givenConfig: LimitConfig{Limit: 100, Period: time.Hour, Prefix: "app:sg:"}},
		{name: "ok, one per microsecond", givenConfig: LimitConfig{Limit: 1000, Period: time.Millisecond}},
		{name: "nok, negative limit", givenConfig: LimitConfig{Limit: -1}, expectErr: true},
		{name: "nok, negative period", givenConfig: LimitConfig{Period: -time.Second}, expectErr: true},
		{name: "nok, interval under a microsecond", givenConfig: LimitConfig{Limit: 1001, Period: time.Millisecond}, expectErr: true},
		{name: "nok, prefix with an opening brace", givenConfig: LimitConfig{Prefix: "sg:{app}:"}, expectErr: true},
		{name: "nok, prefix with a closing brace", givenConfig: LimitConfig{Prefix: "sg}"}, expectErr: true},
	}
	rdb := redistest.Client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rl, rerr := NewRedisLimiter(rdb, tt.givenConfig)
			ml, merr := NewMemoryLimiter(tt.givenConfig)
			if tt.expectErr {
				require.ErrorIs(t, rerr, ErrInvalidLimitConfig)
				require.ErrorIs(t, merr, ErrInvalidLimitConfig)
				assert.Nil(t, rl)
				assert.Nil(t, ml)
				return
			}
			require.NoError(t, rerr)
			require.NoError(t, merr)
			assert.Positive(t, rl.cfg.Limit)
			assert.Positive(t, rl.interval)
			assert.Equal(t, rl.limits.interval, ml.limits.interval)
		})
	}

	l, err := NewRedisLimiter(nil, LimitConfig{})
	require.ErrorIs(t, err, ErrInvalidLimitConfig)
	assert.Nil(t, l)

	l, err = NewRedisLimiter(rdb, LimitConfig{})
	require.NoError(t, err)
	assert.Equal(t, DefaultLimit, l.cfg.Limit)
	assert.Equal(t, DefaultLimitPeriod, l.cfg.Period)
	assert.Equal(t, DefaultLimitPrefix, l.cfg.Prefix)
	assert.Equal(t, 6*time.Second, l.interval)
}
