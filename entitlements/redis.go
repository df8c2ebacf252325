package entitlements

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key layout. Every key of a user carries the hash tag {u:<id>}, so a Lua
// script touches one slot (Redis Cluster) and one shard (Ring):
//
//	<prefix>{u:<id>}                  hash: the user's state, read by Load with one HGETALL
//	    v                             version (integer)
//	    c:<credit>                    balance (integer)
//	    g:<grant id>                  grant (JSON, see grantWire)
//	<prefix>{u:<id>}:pay:<charge id>  string: one ledger record (JSON, see paymentWire)
//	<prefix>changes                   pub/sub channel: the ID of each changed user
//
// No key has a TTL: expiry instants are data. Stored JSON holds no JSON
// numbers (integers and instants are decimal strings) so that the Lua
// scripts, the only writers, can decode and re-encode it with cjson without
// losing precision.

// DefaultRedisPrefix is the key prefix used when RedisOptions.Prefix is empty.
const DefaultRedisPrefix = "sg:"

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Prefix starts every key and the notification channel. It must not
	// contain '{' or '}' (the user's hash tag must be the first one).
	// Optional. Default value "sg:".
	Prefix string
	// Logger receives configuration warnings and notification problems.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// RedisStore is a Store and Notifier kept in Redis: single node, Sentinel,
// Cluster or Ring, through redis.UniversalClient. Every change is one Lua
// script that updates the user's ledger, grants, balances and version
// atomically, is idempotent by charge ID, and publishes the user's ID for
// the other instances' caches. It is safe for concurrent use.
//
// Corrupt stored data is reported as an error wrapping ErrCorrupt, never a
// panic; an unreachable Redis as an error, never as "not found". In the
// rare case a change was applied but the data it returns for its event does
// not decode, the Change is returned together with an ErrCorrupt error.
type RedisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	channel string
	log     *slog.Logger
}

var (
	_ Store    = (*RedisStore)(nil)
	_ Notifier = (*RedisStore)(nil)
)

// errNoClient is returned by every method of a store made without a client.
var errNoClient = fmt.Errorf("%w: nil Redis client", ErrInvalid)

// NewRedisStore returns a store on rdb (Required). It does not contact
// Redis; call CheckConfig at start-up to check the server's eviction policy.
func NewRedisStore(rdb redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		opts.Logger.Warn("entitlements: Redis key prefix contains '{' or '}'; a user's keys may not share a Redis Cluster slot",
			slog.String("prefix", opts.Prefix))
	}
	return &RedisStore{rdb: rdb, prefix: opts.Prefix, channel: opts.Prefix + "changes", log: opts.Logger}
}

// CheckConfig reads Redis's maxmemory-policy and logs a warning when the
// server may evict this store's keys (any allkeys-* policy: our keys have no
// TTL, so volatile-* policies never pick them). Eviction would silently
// lose payments and entitlements. It returns an error only when Redis is
// unreachable; a server that refuses CONFIG (managed Redis) is logged at
// debug level and accepted. Call it once at start-up.
func (s *RedisStore) CheckConfig(ctx context.Context) error {
	if s.rdb == nil {
		return errNoClient
	}
	cfg, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && !errors.Is(err, redis.Nil) {
			s.log.Debug("entitlements: cannot read Redis maxmemory-policy (CONFIG refused); make sure it is noeviction or volatile-*",
				slog.String("error", err.Error()))
			return nil
		}
		return s.wrap("config get maxmemory-policy", err)
	}
	policy, ok := cfg["maxmemory-policy"]
	if !ok {
		s.log.Debug("entitlements: Redis did not report maxmemory-policy; make sure it is noeviction or volatile-*")
		return nil
	}
	if PolicyMayEvict(policy) {
		s.log.Warn("entitlements: Redis maxmemory-policy may evict payments and entitlements when memory is full; set it to noeviction",
			slog.String("maxmemory-policy", policy))
	}
	return nil
}

// PolicyMayEvict reports whether a Redis maxmemory-policy may evict keys
// that have no TTL, as this store's keys. noeviction and the volatile-*
// policies cannot; allkeys-* and unknown policies may.
func PolicyMayEvict(policy string) bool {
	p := strings.ToLower(strings.TrimSpace(policy))
	return p != "noeviction" && !strings.HasPrefix(p, "volatile-")
}

func (s *RedisStore) userKey(userID int64) string {
	var buf [64]byte
	return string(s.appendUserKey(buf[:0], userID))
}

func (s *RedisStore) payKey(userID int64, chargeID string) string {
	var buf [128]byte
	b := append(s.appendUserKey(buf[:0], userID), ":pay:"...)
	return string(append(b, chargeID...))
}

func (s *RedisStore) appendUserKey(b []byte, userID int64) []byte {
	b = append(append(b, s.prefix...), "{u:"...)
	return append(strconv.AppendInt(b, userID, 10), '}')
}

// wrap turns a Redis error into ours: corrupt data (a script's SGCORRUPT, a
// key of the wrong type) wraps ErrCorrupt, the rest (connection, context)
// is wrapped as is.
func (s *RedisStore) wrap(op string, err error) error {
	if redis.HasErrorPrefix(err, "SGCORRUPT") || redis.HasErrorPrefix(err, "WRONGTYPE") {
		return fmt.Errorf("%w: redis %s: %w", ErrCorrupt, op, err)
	}
	return fmt.Errorf("entitlements: redis %s: %w", op, err)
}

// run runs a script for one user and checks the reply's shape: an array
// starting with a status string and a version.
func (s *RedisStore) run(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (status string, version int64, reply []any, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, nil, err
	}
	if s.rdb == nil {
		return "", 0, nil, errNoClient
	}
	v, err := sc.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return "", 0, nil, s.wrap(op, err)
	}
	reply, ok := v.([]any)
	if !ok || len(reply) < 2 {
		return "", 0, nil, fmt.Errorf("%w: redis %s: unexpected reply %T", ErrCorrupt, op, v)
	}
	if status, err = replyString(reply, 0); err != nil {
		return "", 0, nil, fmt.Errorf("%w: redis %s: %w", ErrCorrupt, op, err)
	}
	if version, err = replyInt(reply, 1); err != nil {
		return "", 0, nil, fmt.Errorf("%w: redis %s: %w", ErrCorrupt, op, err)
	}
	return status, version, reply, nil
}

// userArgs are ARGV[1] and ARGV[2] of every script.
func (s *RedisStore) userArgs(userID int64, more ...any) []any {
	args := make([]any, 0, 2+len(more))
	return append(append(args, s.channel, strconv.FormatInt(userID, 10)), more...)
}

// Load implements Store with a single HGETALL.
func (s *RedisStore) Load(ctx context.Context, userID int64) (State, error) {
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	if s.rdb == nil {
		return State{}, errNoClient
	}
	fields, err := s.rdb.HGetAll(ctx, s.userKey(userID)).Result()
	if err != nil {
		return State{}, s.wrap("load", err)
	}
	return decodeState(userID, fields)
}

// decodeState builds a State from the user hash. Unknown fields are
// ignored, so that a newer version may add some.
func decodeState(userID int64, fields map[string]string) (State, error) {
	st := State{UserID: userID, Credits: make(map[string]int64)}
	grants := 0
	for k := range fields {
		if strings.HasPrefix(k, "g:") {
			grants++
		}
	}
	if grants > 0 {
		st.Grants = make([]Grant, 0, grants)
	}
	for k, v := range fields {
		switch {
		case k == "v":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return State{}, fmt.Errorf("%w: version %q", ErrCorrupt, v)
			}
			st.Version = n
		case strings.HasPrefix(k, "c:"):
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return State{}, fmt.Errorf("%w: balance %q: %q", ErrCorrupt, k, v)
			}
			st.Credits[k[2:]] = n
		case strings.HasPrefix(k, "g:"):
			g, err := decodeGrant(v)
			if err != nil {
				return State{}, fmt.Errorf("grant %q: %w", k, err)
			}
			if g.ID != k[2:] {
				return State{}, fmt.Errorf("%w: grant %q has ID %q", ErrCorrupt, k, g.ID)
			}
			st.Grants = append(st.Grants, g)
		}
	}
	slices.SortFunc(st.Grants, func(a, b Grant) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}

// RecordPayment implements Store.
//
// The events are built from p and the grant sent to the script, as they
// are stored; the script's reply only says how the stored grant differs
// (see luaRecord), so the usual purchase decodes no JSON.
func (s *RedisStore) RecordPayment(ctx context.Context, p Payment) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	if err := p.validate(); err != nil {
		return Change{}, err
	}
	p.Status = StatusPaid
	pj := encodePayment(p)
	var g Grant
	switch p.Kind {
	case KindSubscription:
		g = Grant{
			ID: SubscriptionGrantID(p.ProductID), ProductID: p.ProductID, Source: SourceSubscription,
			Features: p.Features, ExpiresAt: p.SubscriptionExpiresAt, AutoRenew: true,
			ChargeID: p.ChargeID, FirstChargeID: p.ChargeID, GrantedAt: p.PaidAt,
		}
	case KindOneTime:
		g = Grant{
			ID: OneTimeGrantID(p.ChargeID), ProductID: p.ProductID, Source: SourceOneTime,
			Features: p.Features, ExpiresAt: p.ExpiresAt, ChargeID: p.ChargeID, GrantedAt: p.PaidAt,
		}
	}
	var field, gj string
	if g.ID != "" {
		field, gj = "g:"+g.ID, encodeGrant(g)
	}
	args := s.userArgs(p.UserID, pj, string(p.Kind), field, gj, flag(p.IsRecurring), flag(p.IsFirstRecurring), p.ChargeID)
	if p.Kind == KindConsumable {
		for _, name := range slices.Sorted(maps.Keys(p.Credits)) {
			args = append(args, name, strconv.FormatInt(p.Credits[name], 10))
		}
	}
	status, version, reply, err := s.run(ctx, "record payment", scriptRecord,
		[]string{s.userKey(p.UserID), s.payKey(p.UserID, p.ChargeID)}, args...)
	switch {
	case err != nil:
		return Change{}, err
	case status == "dup":
		return Change{Duplicate: true, Version: version}, nil
	case status == "overflow":
		return Change{}, fmt.Errorf("%w: a credit balance would overflow", ErrInvalid)
	case status != "ok":
		return Change{}, unexpectedStatus("record payment", status)
	}
	ev := Event{Type: EventPurchased, UserID: p.UserID, ProductID: p.ProductID, Version: version}
	pay, err1 := storedPayment(p, pj)
	ev.Payment = &pay
	var err2 error
	if g.ID != "" {
		ev.Type, ev.Grant, err2 = recordedGrant(reply, g, gj)
	}
	return Change{Version: version, Events: []Event{ev}}, applied("record payment", version, err1, err2)
}

// recordedGrant reads the record script's reply after the version: nothing
// when the grant g (encoded as gj) was stored as sent, else the event type
// and how the stored grant differs.
func recordedGrant(reply []any, g Grant, gj string) (EventType, *Grant, error) {
	if len(reply) == 2 {
		stored, err := storedGrant(g, gj)
		return EventPurchased, &stored, err
	}
	typ := EventPurchased
	if t, err := replyString(reply, 2); err != nil {
		return typ, nil, err
	} else if t == string(EventRenewed) {
		typ = EventRenewed
	}
	how, err := replyString(reply, 3)
	if err != nil {
		return typ, nil, err
	}
	switch how {
	case "merged":
		stored, err := storedGrant(g, gj)
		first, err1 := replyString(reply, 4)
		reason, err2 := replyString(reply, 5)
		stored.FirstChargeID, stored.Reason = cjsonString(first), cjsonString(reason)
		return typ, &stored, errors.Join(err, err1, err2)
	case "stored":
		raw, err := replyString(reply, 4)
		if err != nil {
			return typ, nil, err
		}
		stored, err := decodeGrant(raw)
		return typ, &stored, err
	}
	return typ, nil, fmt.Errorf("%w: record script reply %q", ErrCorrupt, how)
}

// RefundPayment implements Store.
func (s *RedisStore) RefundPayment(ctx context.Context, userID int64, chargeID string, at time.Time) (Change, error) {
	status, version, reply, err := s.run(ctx, "refund payment", scriptRefund,
		[]string{s.userKey(userID), s.payKey(userID, chargeID)},
		s.userArgs(userID, encodeTime(at), chargeID)...)
	switch {
	case err != nil:
		return Change{}, err
	case status == "notfound":
		return Change{}, ErrPaymentNotFound
	case status == "dup":
		return Change{Duplicate: true, Version: version}, nil
	case status != "ok":
		return Change{}, unexpectedStatus("refund payment", status)
	}
	ev := Event{Type: EventRefunded, UserID: userID, Version: version}
	rawPay, err1 := replyString(reply, 2)
	var err2 error
	if err1 == nil {
		var p Payment
		p, err2 = decodePayment(rawPay)
		ev.Payment, ev.ProductID = &p, p.ProductID
	}
	rawGrant, err3 := replyString(reply, 3)
	var err4 error
	if rawGrant != "" {
		var g Grant
		g, err4 = decodeGrant(rawGrant)
		ev.Grant = &g
	}
	return Change{Version: version, Events: []Event{ev}}, applied("refund payment", version, err1, err2, err3, err4)
}

// Payment implements Store.
func (s *RedisStore) Payment(ctx context.Context, userID int64, chargeID string) (Payment, error) {
	if err := ctx.Err(); err != nil {
		return Payment{}, err
	}
	if s.rdb == nil {
		return Payment{}, errNoClient
	}
	raw, err := s.rdb.Get(ctx, s.payKey(userID, chargeID)).Result()
	if errors.Is(err, redis.Nil) {
		return Payment{}, ErrPaymentNotFound
	}
	if err != nil {
		return Payment{}, s.wrap("payment", err)
	}
	p, err := decodePayment(raw)
	if err != nil {
		return Payment{}, fmt.Errorf("payment %q: %w", chargeID, err)
	}
	if p.UserID != userID || p.ChargeID != chargeID {
		return Payment{}, fmt.Errorf("%w: payment %q is stored for user %d charge %q", ErrCorrupt, chargeID, p.UserID, p.ChargeID)
	}
	return p, nil
}

// Grant implements Store.
func (s *RedisStore) Grant(ctx context.Context, userID int64, g Grant) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	if g.ID == "" || len(g.Features) == 0 {
		return Change{}, ErrInvalid
	}
	g.Source = SourceGrant
	gj := encodeGrant(g)
	status, version, _, err := s.run(ctx, "grant", scriptGrant,
		[]string{s.userKey(userID)}, s.userArgs(userID, "g:"+g.ID, gj)...)
	switch {
	case err != nil:
		return Change{}, err
	case status == "dup":
		return Change{Duplicate: true, Version: version}, nil
	case status != "ok":
		return Change{}, unexpectedStatus("grant", status)
	}
	stored, err := storedGrant(g, gj)
	return Change{Version: version, Events: []Event{{
		Type: EventGranted, UserID: userID, ProductID: g.ProductID, Grant: &stored, Version: version,
	}}}, applied("grant", version, err)
}

// Revoke implements Store.
func (s *RedisStore) Revoke(ctx context.Context, userID int64, grantID string) (Change, error) {
	status, version, reply, err := s.run(ctx, "revoke", scriptRevoke,
		[]string{s.userKey(userID)}, s.userArgs(userID, "g:"+grantID)...)
	switch {
	case err != nil:
		return Change{}, err
	case status == "notfound":
		return Change{}, ErrGrantNotFound
	case status != "ok":
		return Change{}, unexpectedStatus("revoke", status)
	}
	return s.grantChange("revoke", EventRevoked, userID, "", version, reply)
}

// SetAutoRenew implements Store.
func (s *RedisStore) SetAutoRenew(ctx context.Context, userID int64, productID string, autoRenew bool) (Change, error) {
	typ := EventCanceled
	if autoRenew {
		typ = EventReactivated
	}
	return s.changeSubscription(ctx, "set auto-renew", scriptAutoRenew, typ, userID, productID, flag(autoRenew))
}

// EndSubscription implements Store.
func (s *RedisStore) EndSubscription(ctx context.Context, userID int64, productID string, at time.Time) (Change, error) {
	return s.changeSubscription(ctx, "end subscription", scriptEnd, EventRenewalFailed, userID, productID, encodeTime(at))
}

// changeSubscription runs a script that edits the user's subscription grant
// for productID and turns its reply into a Change with one event of typ.
func (s *RedisStore) changeSubscription(ctx context.Context, op string, sc *redis.Script, typ EventType, userID int64, productID, arg string) (Change, error) {
	status, version, reply, err := s.run(ctx, op, sc,
		[]string{s.userKey(userID)}, s.userArgs(userID, "g:"+SubscriptionGrantID(productID), arg)...)
	switch {
	case err != nil:
		return Change{}, err
	case status == "notfound":
		return Change{}, ErrGrantNotFound
	case status == "dup":
		return Change{Duplicate: true, Version: version}, nil
	case status != "ok":
		return Change{}, unexpectedStatus(op, status)
	}
	return s.grantChange(op, typ, userID, productID, version, reply)
}

// grantChange builds the Change of a script whose third reply element is a
// grant. productID "" means the grant's own.
func (s *RedisStore) grantChange(op string, typ EventType, userID int64, productID string, version int64, reply []any) (Change, error) {
	ev := Event{Type: typ, UserID: userID, ProductID: productID, Version: version}
	raw, err := replyString(reply, 2)
	if err == nil {
		var g Grant
		g, err = decodeGrant(raw)
		if err == nil {
			ev.Grant = &g
			if productID == "" {
				ev.ProductID = g.ProductID
			}
		}
	}
	return Change{Version: version, Events: []Event{ev}}, applied(op, version, err)
}

// Spend implements Store.
func (s *RedisStore) Spend(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	status, reply, err := s.runCredits(ctx, "spend", scriptSpend, userID, credit, n)
	if err != nil {
		return 0, err
	}
	bal, berr := replyInt(reply, 2)
	switch {
	case status == "insufficient":
		if berr != nil {
			return 0, fmt.Errorf("%w: redis spend: %w", ErrCorrupt, berr)
		}
		return bal, &InsufficientCreditsError{Credit: credit, Balance: bal, Need: n}
	case status != "ok":
		return 0, unexpectedStatus("spend", status)
	}
	if berr != nil {
		return 0, fmt.Errorf("%w: redis spend applied: %w", ErrCorrupt, berr)
	}
	return bal, nil
}

// AddCredits implements Store.
func (s *RedisStore) AddCredits(ctx context.Context, userID int64, credit string, n int64) (int64, error) {
	status, reply, err := s.runCredits(ctx, "add credits", scriptAddCredits, userID, credit, n)
	switch {
	case err != nil:
		return 0, err
	case status == "overflow":
		return 0, fmt.Errorf("%w: the %q balance would overflow", ErrInvalid, credit)
	case status != "ok":
		return 0, unexpectedStatus("add credits", status)
	}
	bal, err := replyInt(reply, 2)
	if err != nil {
		return 0, fmt.Errorf("%w: redis add credits applied: %w", ErrCorrupt, err)
	}
	return bal, nil
}

// runCredits checks the arguments of Spend and AddCredits (a canceled
// context wins over ErrInvalid) and runs sc on the credit's balance.
func (s *RedisStore) runCredits(ctx context.Context, op string, sc *redis.Script, userID int64, credit string, n int64) (status string, reply []any, err error) {
	if credit == "" || n <= 0 {
		if err := ctx.Err(); err != nil {
			return "", nil, err
		}
		return "", nil, ErrInvalid
	}
	status, _, reply, err = s.run(ctx, op, sc,
		[]string{s.userKey(userID)}, s.userArgs(userID, "c:"+credit, strconv.FormatInt(n, 10))...)
	return status, reply, err
}

// Subscribe implements Notifier with Redis pub/sub on <prefix>changes. It
// returns once the subscription is active (or with an error when Redis is
// unreachable); fn then runs on one goroutine, in order, until ctx ends.
// go-redis re-subscribes by itself after a lost connection; every
// re-subscription calls onReset, since changes published meanwhile were
// lost.
func (s *RedisStore) Subscribe(ctx context.Context, fn func(userID int64), onReset func()) error {
	if s.rdb == nil {
		return errNoClient
	}
	ps := s.rdb.Subscribe(ctx, s.channel)
	// The first reply confirms the subscription: changes made after
	// Subscribe returns are heard.
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return fmt.Errorf("entitlements: redis subscribe %s: %w", s.channel, err)
	}
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	go func() {
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				s.dispatch(m, fn, onReset)
			}
		}
	}()
	return nil
}

func (s *RedisStore) dispatch(m any, fn func(int64), onReset func()) {
	switch m := m.(type) {
	case *redis.Message:
		id, err := strconv.ParseInt(m.Payload, 10, 64)
		if err != nil {
			s.log.Warn("entitlements: ignoring a malformed change notification",
				slog.String("channel", m.Channel), slog.String("payload", truncate(m.Payload, 64)))
			return
		}
		fn(id)
	case *redis.Subscription:
		if m.Kind != "subscribe" {
			return
		}
		s.log.Info("entitlements: Redis change notifications re-subscribed; some may have been lost",
			slog.String("channel", m.Channel))
		if onReset != nil {
			onReset()
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func unexpectedStatus(op, status string) error {
	return fmt.Errorf("%w: redis %s: unexpected script status %q", ErrCorrupt, op, status)
}

// applied reports decoding failures of data returned by a script that has
// already applied its change (version), so the caller knows not to retry.
func applied(op string, version int64, errs ...error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: redis %s applied (version %d) but its reply did not decode: %w", ErrCorrupt, op, version, err)
	}
	return nil
}

// replyString returns element i of a script reply as a string.
func replyString(r []any, i int) (string, error) {
	if i >= len(r) {
		return "", fmt.Errorf("%w: script reply has %d elements, want > %d", ErrCorrupt, len(r), i)
	}
	s, ok := r[i].(string)
	if !ok {
		return "", fmt.Errorf("%w: script reply element %d is %T, want string", ErrCorrupt, i, r[i])
	}
	return s, nil
}

// replyInt returns element i of a script reply as an integer, given as an
// integer reply or a decimal string.
func replyInt(r []any, i int) (int64, error) {
	if i >= len(r) {
		return 0, fmt.Errorf("%w: script reply has %d elements, want > %d", ErrCorrupt, len(r), i)
	}
	switch v := r[i].(type) {
	case int64:
		return v, nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: script reply element %d: %q is not an integer", ErrCorrupt, i, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: script reply element %d is %T, want integer", ErrCorrupt, i, r[i])
}
