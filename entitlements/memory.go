package entitlements

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store kept in process memory. It is meant for tests, the
// sandbox and local development: its data dies with the process and it is
// not shared between instances. The zero value is not usable; call
// NewMemoryStore. It is safe for concurrent use.
type MemoryStore struct {
	mu    sync.Mutex
	users map[int64]*memUser
	subs  []*memSub
}

type memUser struct {
	version  int64
	grants   map[string]Grant
	credits  map[string]int64
	payments map[string]Payment
}

type memSub struct {
	ctx context.Context
	fn  func(int64)
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{users: map[int64]*memUser{}}
}

var (
	_ Store    = (*MemoryStore)(nil)
	_ Notifier = (*MemoryStore)(nil)
)

func (s *MemoryStore) user(id int64) *memUser {
	u, ok := s.users[id]
	if !ok {
		u = &memUser{grants: map[string]Grant{}, credits: map[string]int64{}, payments: map[string]Payment{}}
		s.users[id] = u
	}
	return u
}

// commit bumps the version, stamps the events and notifies subscribers.
// Called with s.mu held; subscribers run after it is released.
func (s *MemoryStore) commit(userID int64, u *memUser, events []Event) (Change, func()) {
	u.version++
	for i := range events {
		events[i].UserID = userID
		events[i].Version = u.version
	}
	subs := slices.Clone(s.subs)
	return Change{Version: u.version, Events: events}, func() {
		for _, sub := range subs {
			if sub.ctx.Err() == nil {
				sub.fn(userID)
			}
		}
	}
}

// Load implements Store.
func (s *MemoryStore) Load(ctx context.Context, userID int64) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{UserID: userID, Credits: map[string]int64{}}
	u, ok := s.users[userID]
	if !ok {
		return st, nil
	}
	st.Version = u.version
	maps.Copy(st.Credits, u.credits)
	for _, id := range slices.Sorted(maps.Keys(u.grants)) {
		st.Grants = append(st.Grants, cloneGrant(u.grants[id]))
	}
	return st, nil
}

// RecordPayment implements Store.
func (s *MemoryStore) RecordPayment(ctx context.Context, p Payment) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	if err := p.validate(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	u := s.user(p.UserID)
	if _, dup := u.payments[p.ChargeID]; dup {
		v := u.version
		s.mu.Unlock()
		return Change{Duplicate: true, Version: v}, nil
	}
	p = clonePayment(p)
	p.Status = StatusPaid
	ev := Event{Type: EventPurchased, ProductID: p.ProductID}
	switch p.Kind {
	case KindSubscription:
		id := SubscriptionGrantID(p.ProductID)
		g, existed := u.grants[id]
		if p.IsRecurring && !p.IsFirstRecurring && existed {
			ev.Type = EventRenewed
		}
		if !existed || p.IsFirstRecurring {
			g.FirstChargeID = p.ChargeID
		}
		// An older payment arriving late neither shortens access nor
		// becomes the charge backing the grant (which a refund revokes).
		if !existed || p.SubscriptionExpiresAt.After(g.ExpiresAt) {
			g.ID, g.ProductID, g.Source = id, p.ProductID, SourceSubscription
			g.Features = slices.Clone(p.Features)
			g.ExpiresAt = p.SubscriptionExpiresAt
			g.AutoRenew = true
			g.ChargeID = p.ChargeID
			g.GrantedAt = p.PaidAt
		}
		u.grants[id] = g
		ev.Grant = ptr(cloneGrant(g))
	case KindOneTime:
		g := Grant{
			ID: OneTimeGrantID(p.ChargeID), ProductID: p.ProductID, Source: SourceOneTime,
			Features: slices.Clone(p.Features), ExpiresAt: p.ExpiresAt, ChargeID: p.ChargeID, GrantedAt: p.PaidAt,
		}
		u.grants[g.ID] = g
		ev.Grant = ptr(cloneGrant(g))
	case KindConsumable:
		for name, n := range p.Credits {
			u.credits[name] += n
		}
	}
	u.payments[p.ChargeID] = p
	ev.Payment = ptr(clonePayment(p))
	ch, notify := s.commit(p.UserID, u, []Event{ev})
	s.mu.Unlock()
	notify()
	return ch, nil
}

// RefundPayment implements Store.
func (s *MemoryStore) RefundPayment(ctx context.Context, userID int64, chargeID string, at time.Time) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	u, ok := s.users[userID]
	var p Payment
	if ok {
		p, ok = u.payments[chargeID]
	}
	if !ok {
		s.mu.Unlock()
		return Change{}, ErrPaymentNotFound
	}
	if p.Status == StatusRefunded {
		v := u.version
		s.mu.Unlock()
		return Change{Duplicate: true, Version: v}, nil
	}
	p.Status, p.RefundedAt = StatusRefunded, at
	ev := Event{Type: EventRefunded, ProductID: p.ProductID}
	switch p.Kind {
	case KindSubscription:
		id := SubscriptionGrantID(p.ProductID)
		if g, ok := u.grants[id]; ok && g.ChargeID == chargeID {
			ev.Grant = ptr(cloneGrant(g))
			delete(u.grants, id)
		}
	case KindOneTime:
		id := OneTimeGrantID(chargeID)
		if g, ok := u.grants[id]; ok {
			ev.Grant = ptr(cloneGrant(g))
			delete(u.grants, id)
		}
	case KindConsumable:
		for name, n := range p.Credits {
			take := min(n, max(u.credits[name], 0))
			u.credits[name] -= take
			if take < n {
				if p.Shortfall == nil {
					p.Shortfall = map[string]int64{}
				}
				p.Shortfall[name] = n - take
			}
		}
	}
	u.payments[chargeID] = p
	ev.Payment = ptr(clonePayment(p))
	ch, notify := s.commit(userID, u, []Event{ev})
	s.mu.Unlock()
	notify()
	return ch, nil
}

// Payment implements Store.
func (s *MemoryStore) Payment(ctx context.Context, userID int64, chargeID string) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userID]; ok {
		if p, ok := u.payments[chargeID]; ok {
			return clonePayment(p), nil
		}
	}
	return Payment{}, ErrPaymentNotFound
}

// Grant implements Store.
func (s *MemoryStore) Grant(ctx context.Context, userID int64, g Grant) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	if g.ID == "" || len(g.Features) == 0 {
		return Change{}, ErrInvalid
	}
	g = cloneGrant(g)
	g.Source = SourceGrant
	s.mu.Lock()
	u := s.user(userID)
	if old, ok := u.grants[g.ID]; ok && grantsEqual(old, g) {
		v := u.version
		s.mu.Unlock()
		return Change{Duplicate: true, Version: v}, nil
	}
	u.grants[g.ID] = g
	ch, notify := s.commit(userID, u, []Event{{Type: EventGranted, ProductID: g.ProductID, Grant: ptr(cloneGrant(g))}})
	s.mu.Unlock()
	notify()
	return ch, nil
}

// Revoke implements Store.
func (s *MemoryStore) Revoke(ctx context.Context, userID int64, grantID string) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	u, ok := s.users[userID]
	var g Grant
	if ok {
		g, ok = u.grants[grantID]
	}
	if !ok {
		s.mu.Unlock()
		return Change{}, ErrGrantNotFound
	}
	delete(u.grants, grantID)
	ch, notify := s.commit(userID, u, []Event{{Type: EventRevoked, ProductID: g.ProductID, Grant: ptr(g)}})
	s.mu.Unlock()
	notify()
	return ch, nil
}

// SetAutoRenew implements Store.
func (s *MemoryStore) SetAutoRenew(ctx context.Context, userID int64, productID string, autoRenew bool) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	u, g, ok := s.subscription(userID, productID)
	if !ok {
		s.mu.Unlock()
		return Change{}, ErrGrantNotFound
	}
	if g.AutoRenew == autoRenew {
		v := u.version
		s.mu.Unlock()
		return Change{Duplicate: true, Version: v}, nil
	}
	g.AutoRenew = autoRenew
	u.grants[g.ID] = g
	typ := EventCanceled
	if autoRenew {
		typ = EventReactivated
	}
	ch, notify := s.commit(userID, u, []Event{{Type: typ, ProductID: productID, Grant: ptr(cloneGrant(g))}})
	s.mu.Unlock()
	notify()
	return ch, nil
}

// EndSubscription implements Store.
func (s *MemoryStore) EndSubscription(ctx context.Context, userID int64, productID string, at time.Time) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	u, g, ok := s.subscription(userID, productID)
	if !ok {
		s.mu.Unlock()
		return Change{}, ErrGrantNotFound
	}
	if !g.AutoRenew && !g.ExpiresAt.After(at) {
		v := u.version
		s.mu.Unlock()
		return Change{Duplicate: true, Version: v}, nil
	}
	if g.ExpiresAt.After(at) {
		g.ExpiresAt = at
	}
	g.AutoRenew = false
	u.grants[g.ID] = g
	ch, notify := s.commit(userID, u, []Event{{Type: EventRenewalFailed, ProductID: productID, Grant: ptr(cloneGrant(g))}})
	s.mu.Unlock()
	notify()
	return ch, nil
}

func (s *MemoryStore) subscription(userID int64, productID string) (*memUser, Grant, bool) {
	u, ok := s.users[userID]
	if !ok {
		return nil, Grant{}, false
	}
	g, ok := u.grants[SubscriptionGrantID(productID)]
	return u, g, ok
}

// Spend implements Store.
func (s *MemoryStore) Spend(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if credit == "" || n <= 0 {
		return 0, ErrInvalid
	}
	s.mu.Lock()
	u := s.user(userID)
	if bal := u.credits[credit]; bal < n {
		s.mu.Unlock()
		return bal, &InsufficientCreditsError{Credit: credit, Balance: bal, Need: n}
	}
	u.credits[credit] -= n
	bal := u.credits[credit]
	_, notify := s.commit(userID, u, nil)
	s.mu.Unlock()
	notify()
	return bal, nil
}

// AddCredits implements Store.
func (s *MemoryStore) AddCredits(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if credit == "" || n <= 0 {
		return 0, ErrInvalid
	}
	s.mu.Lock()
	u := s.user(userID)
	u.credits[credit] += n
	bal := u.credits[credit]
	_, notify := s.commit(userID, u, nil)
	s.mu.Unlock()
	notify()
	return bal, nil
}

// Subscribe implements Notifier. Callbacks run synchronously on the
// goroutine that made the change, after the store's lock is released; keep
// them fast. onReset is never called: in-process notifications are not lost.
func (s *MemoryStore) Subscribe(ctx context.Context, fn func(userID int64), onReset func()) error {
	sub := &memSub{ctx: ctx, fn: fn}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.subs = slices.DeleteFunc(s.subs, func(x *memSub) bool { return x == sub })
		s.mu.Unlock()
	}()
	return nil
}

// Reset deletes everything, as if the store were wiped (tests of
// reconciliation use it).
func (s *MemoryStore) Reset() {
	s.mu.Lock()
	s.users = map[int64]*memUser{}
	s.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }

func cloneGrant(g Grant) Grant {
	g.Features = slices.Clone(g.Features)
	return g
}

func clonePayment(p Payment) Payment {
	p.Features = slices.Clone(p.Features)
	p.Credits = maps.Clone(p.Credits)
	p.Shortfall = maps.Clone(p.Shortfall)
	return p
}

func grantsEqual(a, b Grant) bool {
	return a.ID == b.ID && a.ProductID == b.ProductID && a.Source == b.Source &&
		slices.Equal(a.Features, b.Features) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.AutoRenew == b.AutoRenew && a.ChargeID == b.ChargeID && a.Reason == b.Reason
}

// validate checks what every store needs of a payment before recording it.
func (p *Payment) validate() error {
	if p.UserID == 0 || p.ChargeID == "" || p.ProductID == "" {
		return ErrInvalid
	}
	switch p.Kind {
	case KindSubscription:
		if len(p.Features) == 0 || p.SubscriptionExpiresAt.IsZero() {
			return ErrInvalid
		}
	case KindOneTime:
		if len(p.Features) == 0 {
			return ErrInvalid
		}
	case KindConsumable:
		if len(p.Credits) == 0 {
			return ErrInvalid
		}
		for name, n := range p.Credits {
			if name == "" || n <= 0 {
				return ErrInvalid
			}
		}
	default:
		return ErrInvalid
	}
	return nil
}
