package entitlements

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Checker defaults.
const (
	DefaultCheckerTTL      = 30 * time.Second
	DefaultCheckerMaxUsers = 100_000
)

const (
	// maxCheckerShards bounds the shard count; more shards than cores buys
	// nothing but memory.
	maxCheckerShards = 64
	// minUsersPerShard keeps shards big enough for CLOCK to tell a hot user
	// from a cold one (a one-slot shard would evict whoever is there).
	minUsersPerShard = 16
)

// CheckerConfig configures a Checker.
type CheckerConfig struct {
	// TTL is how long a loaded state is trusted without an invalidation,
	// for users who own something and users who own nothing alike.
	// Optional. Default value 30s.
	TTL time.Duration
	// MaxUsers bounds the number of users cached, which bounds memory:
	// about 180 bytes per user who owns nothing and 700 for a subscriber
	// with one grant (BenchmarkChecker_MemoryPerUser), so some 70 MB at the
	// default. When full, a user not asked about recently is evicted.
	// Optional. Default value 100000.
	MaxUsers int
	// Now is the clock used for TTLs and grant expiry.
	// Optional. Default value time.Now.
	Now func() time.Time
	// Logger receives start-up and cache-reset messages.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// Checker answers "does user U have feature F" from an in-process cache of
// each user's State, in front of a Store.
//
// A cached answer costs a map lookup under a read lock and no allocation.
// A miss reads the store once, however many requests ask for that user at
// the same time. Entries live for the TTL or until the user is invalidated:
// by Invalidate, by a change made through Checker.Store, or, after Start, by
// the store's notifications (every instance sharing a Redis store hears of
// every change). Grant expiry is evaluated on every call, so a subscription
// stops at its ExpiresAt even inside the TTL. Store errors are returned,
// never turned into "not entitled", and never cached.
//
// It is safe for concurrent use.
type Checker struct {
	store  Store
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger
	shards []checkerShard
	shift  uint // 64 - log2(len(shards))
}

// checkerShard is one lock's worth of the cache.
//
// Eviction is CLOCK (second chance): a hit only sets the entry's atomic
// reference bit under the read lock, so the hot path never takes the write
// lock or touches a list as LRU would, yet users asked about since the hand
// last passed survive and one-off users go first. Expired entries are
// evicted whatever their bit.
type checkerShard struct {
	mu       sync.RWMutex
	entries  map[int64]*checkerEntry
	ring     []*checkerEntry // CLOCK ring; nil slots are listed in free
	free     []int
	hand     int
	capacity int
	inflight map[int64]*checkerCall
	watchers map[int64]*checkerWatch
	_        [64]byte // keep neighbouring shards' locks off one cache line
}

// checkerEntry is immutable once published, except ref.
type checkerEntry struct {
	userID  int64
	state   State
	expires time.Time
	slot    int
	ref     atomic.Bool
}

// checkerCall is one store read shared by every caller that missed on the
// same user meanwhile. stale is set (under the shard lock) when the user is
// invalidated during the read: its result predates the change and must not
// be cached.
type checkerCall struct {
	done     chan struct{}
	entry    *checkerEntry
	err      error
	canceled bool // err came from the leader's own context
	stale    bool
}

// checkerWatch wakes WaitVersion callers when the user is invalidated.
type checkerWatch struct {
	ch      chan struct{}
	waiters int
}

var errCheckerLoadAborted = errors.New("entitlements: checker: store load aborted")

// NewChecker returns a Checker reading from store. Call Start to hear about
// changes made by other instances.
func NewChecker(store Store, cfg CheckerConfig) (*Checker, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: checker: nil store", ErrInvalid)
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("%w: checker: negative TTL %s", ErrInvalid, cfg.TTL)
	}
	if cfg.MaxUsers < 0 {
		return nil, fmt.Errorf("%w: checker: negative MaxUsers %d", ErrInvalid, cfg.MaxUsers)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultCheckerTTL
	}
	if cfg.MaxUsers == 0 {
		cfg.MaxUsers = DefaultCheckerMaxUsers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	bits := uint(0)
	for 1<<(bits+1) <= maxCheckerShards && cfg.MaxUsers>>(bits+1) >= minUsersPerShard {
		bits++
	}
	n := 1 << bits
	c := &Checker{
		store:  store,
		ttl:    cfg.TTL,
		now:    cfg.Now,
		log:    cfg.Logger,
		shards: make([]checkerShard, n),
		shift:  64 - bits,
	}
	// Split MaxUsers exactly so that the shards never hold more in total.
	for i := range c.shards {
		sh := &c.shards[i]
		sh.capacity = cfg.MaxUsers / n
		if i < cfg.MaxUsers%n {
			sh.capacity++
		}
		sh.entries = map[int64]*checkerEntry{}
		sh.inflight = map[int64]*checkerCall{}
		sh.watchers = map[int64]*checkerWatch{}
	}
	return c, nil
}

// Start subscribes to the store's change notifications when the store
// implements Notifier, so that a change made on any instance invalidates
// the user here, and a possible loss of notifications drops the whole cache.
// The subscription ends with ctx. Without a Notifier only changes made
// through Checker.Store (and Invalidate) are seen before the TTL runs out.
// Call it once.
func (c *Checker) Start(ctx context.Context) error {
	n, ok := c.store.(Notifier)
	if !ok {
		c.log.Warn("entitlements: checker: store has no change notifications; other instances' changes are seen only after the TTL",
			slog.Duration("ttl", c.ttl))
		return nil
	}
	if err := n.Subscribe(ctx, c.Invalidate, c.notificationsLost); err != nil {
		return fmt.Errorf("entitlements: checker: subscribe: %w", err)
	}
	// Anything cached before the subscription existed was not covered by it.
	c.reset()
	return nil
}

// Has reports whether feature is active for the user now. A cached answer
// does not allocate and ignores ctx; a miss reads the store with ctx. A
// store failure is returned as an error (callers answer 503), never as
// false.
func (c *Checker) Has(ctx context.Context, userID int64, feature string) (bool, error) {
	now := c.now()
	if e := c.cached(userID, now); e != nil {
		return e.state.Has(feature, now), nil
	}
	e, err := c.load(ctx, userID)
	if err != nil {
		return false, err
	}
	return e.state.Has(feature, c.now()), nil
}

// State returns the user's state, from the cache when fresh. The returned
// State shares its Grants and Credits with the cache and with other callers:
// treat it as read-only (clone before changing it).
func (c *Checker) State(ctx context.Context, userID int64) (State, error) {
	if e := c.cached(userID, c.now()); e != nil {
		return e.state, nil
	}
	e, err := c.load(ctx, userID)
	if err != nil {
		return State{}, err
	}
	return e.state, nil
}

// Invalidate drops the user's cached state, keeps an in-flight read from
// caching what it read before now, and wakes the user's WaitVersion callers.
func (c *Checker) Invalidate(userID int64) {
	sh := c.shard(userID)
	sh.mu.Lock()
	if e := sh.entries[userID]; e != nil {
		sh.remove(e)
	}
	if call := sh.inflight[userID]; call != nil {
		call.stale = true
		delete(sh.inflight, userID) // later callers start a fresh read
	}
	if w := sh.watchers[userID]; w != nil {
		close(w.ch)
		delete(sh.watchers, userID)
	}
	sh.mu.Unlock()
}

// WaitVersion returns the user's state as soon as its Version is greater
// than after; it re-reads the state whenever the user is invalidated. When
// ctx reaches its deadline first it returns the current state and a nil
// error (the long poll of GET /me); when ctx is canceled otherwise it returns
// the current state and ctx's error. Other errors are store failures.
//
// Changes are noticed through invalidations: call Start (or make changes
// through Checker.Store) or WaitVersion only sees them at its deadline.
func (c *Checker) WaitVersion(ctx context.Context, userID int64, after int64) (State, error) {
	var last State
	seen := false
	for {
		changed, release := c.watch(userID)
		st, err := c.State(ctx, userID)
		if err != nil {
			release()
			if seen && ctx.Err() != nil {
				return last, waitEndErr(ctx)
			}
			return State{}, err
		}
		last, seen = st, true
		if st.Version > after {
			release()
			return st, nil
		}
		select {
		case <-changed:
			release()
		case <-ctx.Done():
			release()
			return last, waitEndErr(ctx)
		}
	}
}

// waitEndErr is nil when ctx ended at its deadline: the wait is over, not
// failed.
func waitEndErr(ctx context.Context) error {
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// Store returns a Store that delegates every call to the checker's store
// and invalidates the user here as soon as a call changed something, so
// that this instance sees its own writes at once (notifications tell the
// other instances). It implements Notifier when the store does.
//
// A call that fails in a way that may have changed the store anyway (a
// timeout after the write) invalidates too; the named "nothing changed"
// errors do not.
func (c *Checker) Store() Store {
	w := &writeThroughStore{Store: c.store, c: c}
	if n, ok := c.store.(Notifier); ok {
		return &writeThroughNotifier{writeThroughStore: w, n: n}
	}
	return w
}

// cached returns the user's entry when it is fresh at now.
func (c *Checker) cached(userID int64, now time.Time) *checkerEntry {
	sh := c.shard(userID)
	sh.mu.RLock()
	e := sh.entries[userID]
	sh.mu.RUnlock()
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	if !e.ref.Load() { // read first: no cache-line write on repeated hits
		e.ref.Store(true)
	}
	return e
}

// load reads the user from the store, joining a read already in flight.
func (c *Checker) load(ctx context.Context, userID int64) (*checkerEntry, error) {
	sh := c.shard(userID)
	for {
		sh.mu.Lock()
		if e := sh.entries[userID]; e != nil && c.now().Before(e.expires) {
			sh.mu.Unlock()
			return e, nil
		}
		call := sh.inflight[userID]
		if call == nil {
			call = &checkerCall{done: make(chan struct{})}
			sh.inflight[userID] = call
			sh.mu.Unlock()
			c.read(ctx, sh, userID, call)
			return call.entry, call.err
		}
		sh.mu.Unlock()
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// The leader's request went away mid-read; ours has not: read again
		// rather than fail a live request for someone else's cancellation.
		if call.err != nil && call.canceled && ctx.Err() == nil {
			continue
		}
		return call.entry, call.err
	}
}

// read runs one store read for call and publishes the result.
func (c *Checker) read(ctx context.Context, sh *checkerShard, userID int64, call *checkerCall) {
	finished := false
	defer func() {
		sh.mu.Lock()
		if sh.inflight[userID] == call {
			delete(sh.inflight, userID)
		}
		if !finished { // Load panicked: release the waiters, let it unwind
			call.err = errCheckerLoadAborted
		} else if call.err == nil && !call.stale {
			sh.put(call.entry, c.now())
		}
		sh.mu.Unlock()
		close(call.done)
	}()
	st, err := c.store.Load(ctx, userID)
	if err != nil {
		call.err = fmt.Errorf("entitlements: checker: load user %d: %w", userID, err)
		call.canceled = ctx.Err() != nil
	} else {
		// The TTL runs from the end of the read: the data is at least that
		// recent, and an invalidation during the read marks the call stale.
		call.entry = &checkerEntry{userID: userID, state: st, expires: c.now().Add(c.ttl)}
	}
	finished = true
}

// watch registers a WaitVersion caller for the user's next invalidation.
func (c *Checker) watch(userID int64) (<-chan struct{}, func()) {
	sh := c.shard(userID)
	sh.mu.Lock()
	w := sh.watchers[userID]
	if w == nil {
		w = &checkerWatch{ch: make(chan struct{})}
		sh.watchers[userID] = w
	}
	w.waiters++
	sh.mu.Unlock()
	return w.ch, func() {
		sh.mu.Lock()
		w.waiters--
		if w.waiters == 0 && sh.watchers[userID] == w {
			delete(sh.watchers, userID)
		}
		sh.mu.Unlock()
	}
}

// notificationsLost is the Notifier's onReset.
func (c *Checker) notificationsLost() {
	c.log.Warn("entitlements: checker: change notifications may have been lost; cache dropped")
	c.reset()
}

// reset drops every cached user, as if each one had been invalidated.
func (c *Checker) reset() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.entries)
		clear(sh.ring)
		sh.ring, sh.free, sh.hand = sh.ring[:0], sh.free[:0], 0
		for id, call := range sh.inflight {
			call.stale = true
			delete(sh.inflight, id)
		}
		for id, w := range sh.watchers {
			close(w.ch)
			delete(sh.watchers, id)
		}
		sh.mu.Unlock()
	}
}

// Len returns the number of users cached, at most MaxUsers (a gauge for
// metrics).
func (c *Checker) Len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.entries)
		sh.mu.RUnlock()
	}
	return n
}

func (c *Checker) shard(userID int64) *checkerShard {
	// Fibonacci hashing spreads sequential IDs over the shards.
	return &c.shards[(uint64(userID)*0x9E3779B97F4A7C15)>>c.shift&uint64(len(c.shards)-1)]
}

// put caches e, replacing the user's previous entry or taking a free slot,
// else evicting one. Called with sh.mu held.
func (sh *checkerShard) put(e *checkerEntry, now time.Time) {
	if old := sh.entries[e.userID]; old != nil {
		e.slot = old.slot
	} else {
		e.slot = sh.takeSlot(now)
	}
	sh.ring[e.slot] = e
	sh.entries[e.userID] = e
}

func (sh *checkerShard) takeSlot(now time.Time) int {
	if n := len(sh.free); n > 0 {
		slot := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return slot
	}
	if len(sh.ring) < sh.capacity {
		sh.ring = append(sh.ring, nil)
		return len(sh.ring) - 1
	}
	// Terminates: the write lock stops new hits, so after one turn every
	// bit is clear but for the few set by hits already past the read lock.
	for {
		slot := sh.hand
		sh.hand = (sh.hand + 1) % len(sh.ring)
		e := sh.ring[slot]
		if e == nil {
			return slot
		}
		if e.ref.Load() && now.Before(e.expires) {
			e.ref.Store(false)
			continue
		}
		delete(sh.entries, e.userID)
		return slot
	}
}

// remove drops e from the shard. Called with sh.mu held.
func (sh *checkerShard) remove(e *checkerEntry) {
	delete(sh.entries, e.userID)
	sh.ring[e.slot] = nil
	sh.free = append(sh.free, e.slot)
}

// writeThroughStore is Checker.Store: the store, plus a local invalidation
// after every change.
type writeThroughStore struct {
	Store
	c *Checker
}

type writeThroughNotifier struct {
	*writeThroughStore
	n Notifier
}

// Subscribe implements Notifier.
func (s *writeThroughNotifier) Subscribe(ctx context.Context, fn func(userID int64), onReset func()) error {
	return s.n.Subscribe(ctx, fn, onReset)
}

// changed invalidates the user unless the call certainly changed nothing.
func (s *writeThroughStore) changed(userID int64, ch Change, err error) {
	if err == nil && ch.Duplicate {
		return
	}
	if err != nil && (errors.Is(err, ErrInvalid) || errors.Is(err, ErrPaymentNotFound) ||
		errors.Is(err, ErrGrantNotFound) || errors.Is(err, ErrInsufficientCredits)) {
		return
	}
	s.c.Invalidate(userID)
}

// RecordPayment implements Store.
func (s *writeThroughStore) RecordPayment(ctx context.Context, p Payment) (Change, error) {
	ch, err := s.Store.RecordPayment(ctx, p)
	s.changed(p.UserID, ch, err)
	return ch, err
}

// RefundPayment implements Store.
func (s *writeThroughStore) RefundPayment(ctx context.Context, userID int64, chargeID string, at time.Time) (Change, error) {
	ch, err := s.Store.RefundPayment(ctx, userID, chargeID, at)
	s.changed(userID, ch, err)
	return ch, err
}

// Grant implements Store.
func (s *writeThroughStore) Grant(ctx context.Context, userID int64, g Grant) (Change, error) {
	ch, err := s.Store.Grant(ctx, userID, g)
	s.changed(userID, ch, err)
	return ch, err
}

// Revoke implements Store.
func (s *writeThroughStore) Revoke(ctx context.Context, userID int64, grantID string) (Change, error) {
	ch, err := s.Store.Revoke(ctx, userID, grantID)
	s.changed(userID, ch, err)
	return ch, err
}

// SetAutoRenew implements Store.
func (s *writeThroughStore) SetAutoRenew(ctx context.Context, userID int64, productID string, autoRenew bool) (Change, error) {
	ch, err := s.Store.SetAutoRenew(ctx, userID, productID, autoRenew)
	s.changed(userID, ch, err)
	return ch, err
}

// EndSubscription implements Store.
func (s *writeThroughStore) EndSubscription(ctx context.Context, userID int64, productID string, at time.Time) (Change, error) {
	ch, err := s.Store.EndSubscription(ctx, userID, productID, at)
	s.changed(userID, ch, err)
	return ch, err
}

// Spend implements Store.
func (s *writeThroughStore) Spend(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	bal, err := s.Store.Spend(ctx, userID, credit, n)
	s.changed(userID, Change{}, err)
	return bal, err
}

// AddCredits implements Store.
func (s *writeThroughStore) AddCredits(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	bal, err := s.Store.AddCredits(ctx, userID, credit, n)
	s.changed(userID, Change{}, err)
	return bal, err
}
