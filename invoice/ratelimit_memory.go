package invoice

import (
	"context"
	"sync"
	"time"
)

// MemoryLimiter is a [Limiter] for a single instance (the memory-store
// configuration, tests, the sandbox). It runs the same GCRA as
// [RedisLimiter] on the configured clock. Memory is bounded by the users
// active in the last two periods: a user whose theoretical arrival time has
// passed is indistinguishable from a new one, and such entries are dropped by
// a sweep at most once per period.
type MemoryLimiter struct {
	limits
	burst time.Duration // interval * Limit

	mu        sync.Mutex
	tat       map[int64]time.Time
	lastSweep time.Time
}

var _ Limiter = (*MemoryLimiter)(nil)

// NewMemoryLimiter returns an in-process limiter. cfg.Prefix is not used.
func NewMemoryLimiter(cfg LimitConfig) (*MemoryLimiter, error) {
	l, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &MemoryLimiter{
		limits:    l,
		burst:     l.interval * time.Duration(l.cfg.Limit),
		tat:       make(map[int64]time.Time),
		lastSweep: l.cfg.Now(),
	}, nil
}

// Allow takes one invoice from userID's budget, if there is one left.
func (l *MemoryLimiter) Allow(ctx context.Context, userID int64) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	now := l.cfg.Now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	tat, ok := l.tat[userID]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(l.interval)
	if allowAt := newTAT.Add(-l.burst); now.Before(allowAt) {
		return false, allowAt.Sub(now), nil
	}
	l.tat[userID] = newTAT
	return true, 0, nil
}

// sweep drops users whose budget is full again. Each entry lies at most one
// period ahead of the moment it was written, so sweeping once per period
// keeps only users seen in the last two periods.
func (l *MemoryLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.burst {
		return
	}
	for id, tat := range l.tat {
		if !tat.After(now) {
			delete(l.tat, id)
		}
	}
	l.lastSweep = now
}
