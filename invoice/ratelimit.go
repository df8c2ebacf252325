package invoice

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter decides whether a user may create another invoice now. When ok is
// false, retryAfter says when the next request would pass. An error means no
// decision was made; callers must not treat it as allowed.
type Limiter interface {
	Allow(ctx context.Context, userID int64) (ok bool, retryAfter time.Duration, err error)
}

// Rate limit defaults.
const (
	DefaultLimit       = 10
	DefaultLimitPeriod = time.Minute
	DefaultLimitPrefix = "sg:"
)

// LimitConfig configures a [RedisLimiter] or [MemoryLimiter]. A user gets
// Limit invoices at once, then one more every Period/Limit: never more than
// Limit in a burst, and Limit per Period in the long run.
type LimitConfig struct {
	// Limit is how many invoices one user may create per Period.
	// Optional. Default value 10.
	Limit int
	// Period is the window Limit applies to.
	// Optional. Default value 1m.
	Period time.Duration
	// Prefix starts every Redis key; a user's key is
	// Prefix + "ratelimit:invoice:{u:<id>}". It must not contain '{' or '}'
	// (the user's hash tag follows it). Unused by the memory limiter.
	// Optional. Default value "sg:".
	Prefix string
	// Now is the memory limiter's clock; the Redis limiter uses the Redis
	// server's clock so that all instances agree.
	// Optional. Default value time.Now.
	Now func() time.Time
}

// limits is a validated LimitConfig.
type limits struct {
	cfg      LimitConfig
	interval time.Duration // emission interval: Period / Limit
}

func (cfg LimitConfig) validate() (limits, error) {
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultLimitPeriod
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultLimitPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Limit < 0:
		return limits{}, fmt.Errorf("%w: negative Limit", ErrInvalidLimitConfig)
	case cfg.Period < 0:
		return limits{}, fmt.Errorf("%w: negative Period", ErrInvalidLimitConfig)
	case strings.ContainsAny(cfg.Prefix, "{}"):
		return limits{}, fmt.Errorf("%w: Prefix must not contain '{' or '}'", ErrInvalidLimitConfig)
	}
	// The Redis script counts in microseconds; the interval must be at least one.
	interval := (cfg.Period / time.Duration(cfg.Limit)).Truncate(time.Microsecond)
	if interval <= 0 {
		return limits{}, fmt.Errorf("%w: Period too short for Limit", ErrInvalidLimitConfig)
	}
	return limits{cfg: cfg, interval: interval}, nil
}

// RedisLimiter is a [Limiter] shared by every instance that uses the same
// Redis and prefix. It costs one script call per Allow; each user's state is
// one string key that expires on its own once the user is idle.
type RedisLimiter struct {
	rdb redis.Scripter
	limits
}

var _ Limiter = (*RedisLimiter)(nil)

// NewRedisLimiter returns a limiter backed by rdb, which can be a
// *redis.Client, *redis.Ring, *redis.ClusterClient or any
// redis.UniversalClient.
func NewRedisLimiter(rdb redis.Scripter, cfg LimitConfig) (*RedisLimiter, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidLimitConfig)
	}
	l, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &RedisLimiter{rdb: rdb, limits: l}, nil
}

// Allow takes one invoice from userID's budget, if there is one left.
func (l *RedisLimiter) Allow(ctx context.Context, userID int64) (bool, time.Duration, error) {
	reply, err := allowScript.Run(ctx, l.rdb, []string{l.key(userID)},
		l.interval.Microseconds(), l.cfg.Limit).Result()
	if err != nil {
		return false, 0, fmt.Errorf("invoice: rate limiter: %w", err)
	}
	return parseAllowReply(reply)
}

func (l *RedisLimiter) key(userID int64) string {
	return l.cfg.Prefix + "ratelimit:invoice:{u:" + strconv.FormatInt(userID, 10) + "}"
}

// parseAllowReply decodes the script's {allowed, retry_after_us} reply,
// refusing anything else rather than guessing.
func parseAllowReply(reply any) (bool, time.Duration, error) {
	arr, ok := reply.([]any)
	if !ok || len(arr) != 2 {
		return false, 0, fmt.Errorf("%w: %T", ErrLimiterReply, reply)
	}
	allowed, ok1 := arr[0].(int64)
	retryUS, ok2 := arr[1].(int64)
	switch {
	case !ok1 || !ok2:
		return false, 0, fmt.Errorf("%w: element types %T, %T", ErrLimiterReply, arr[0], arr[1])
	case allowed == 1 && retryUS == 0:
		return true, 0, nil
	case allowed == 0 && retryUS > 0 && retryUS <= math.MaxInt64/int64(time.Microsecond):
		return false, time.Duration(retryUS) * time.Microsecond, nil
	default:
		return false, 0, fmt.Errorf("%w: {%d, %d}", ErrLimiterReply, allowed, retryUS)
	}
}
