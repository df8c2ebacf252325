package entitlements

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

// wireGrant is a subscription grant as a paying user has it.
var wireGrant = Grant{
	ID: "sub:pro", ProductID: "pro", Source: SourceSubscription, Features: []string{"premium", "export"},
	ExpiresAt: time.Unix(1772366400, 123456789), AutoRenew: true,
	ChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", FirstChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
	GrantedAt: time.Unix(1769774400, 0),
}

var wirePayment = Payment{
	ChargeID: "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789", ProviderChargeID: "prov", UserID: 1 << 40, ProductID: "pack",
	Amount: 250, Currency: "XTR", PaidAt: time.Unix(1769774400, 5), InvoicePayload: `p:<x>&"y"`, Status: StatusRefunded,
	RefundedAt: time.Unix(1769774401, 0), Kind: KindConsumable, Credits: map[string]int64{"credits": 100, "bonus": 5},
	Shortfall: map[string]int64{"credits": 4},
}

// cjsonRoundTrip returns raw as the scripts store it after editing it:
// decoded and encoded again by Lua's cjson.
func cjsonRoundTrip(t *testing.T, raw string) string {
	t.Helper()
	v, err := scriptEcho.Run(context.Background(), redistest.Client(t), []string{redistest.Prefix(t) + "{x}"}, raw).Result()
	require.NoError(t, err)
	s, ok := v.(string)
	require.True(t, ok)
	return s
}

var scriptEcho = redis.NewScript(`return cjson.encode(cjson.decode(ARGV[1]))`)

// TestRedisWireFastPath checks that the forms the store writes (Go's
// encoding, and cjson's after a script edited a value) take the fast
// decoders, and that they give what encoding/json gives.
func TestRedisWireFastPath(t *testing.T) {
	pj := encodePayment(wirePayment)
	empty := wireGrant
	empty.Features, empty.Reason, empty.Source = nil, `support \ "#12" / ü`+"\n\u2028", "custom"
	grants := map[string]string{
		"go":                encodeGrant(wireGrant),
		"go, odd strings":   encodeGrant(empty),
		"cjson":             cjsonRoundTrip(t, encodeGrant(wireGrant)),
		"cjson, {} and \\/": cjsonRoundTrip(t, encodeGrant(empty)),
		"white space":       " {\n\t\"id\" : \"x\" ,\r\"features\" : [ \"a\" , \"b\" ] , \"auto_renew\" : false } ",
		"empty array":       `{"id":"x","features":[]}`,
		"null features":     `{"id":"x","features":null}`,
		"escapes":           `{"id":"\u00fc\ud7ff\uFFFD\b\f\n\r\t\/\\\"","features":["\u0000"]}`,
	}
	for name, raw := range grants {
		t.Run("grant, "+name, func(t *testing.T) {
			w, ok := scanGrant(raw)
			require.True(t, ok, raw)
			fast, err := w.grant()
			require.NoError(t, err)
			slow, err := decodeGrantJSON(raw)
			require.NoError(t, err)
			assert.Equal(t, slow, fast)
		})
	}
	payments := map[string]string{
		"go":    pj,
		"cjson": cjsonRoundTrip(t, pj),
	}
	for name, raw := range payments {
		t.Run("payment, "+name, func(t *testing.T) {
			w, ok := scanPayment(raw)
			require.True(t, ok, raw)
			fast, err := w.payment()
			require.NoError(t, err)
			slow, err := decodePaymentJSON(raw)
			require.NoError(t, err)
			assert.Equal(t, slow, fast)
			assert.Equal(t, wirePayment.Credits, fast.Credits)
		})
	}
}

// TestRedisWireSlowPath lists forms the fast decoders leave to
// encoding/json; the result must be the same either way.
func TestRedisWireSlowPath(t *testing.T) {
	for _, raw := range []string{
		`{"ID":"x","features":["a"]}`,                    // case-folded key
		`{"id":"x","id":"y","features":["a"]}`,           // repeated key
		`{"id":"x","features":["a"],"new_field":1}`,      // unknown key
		`{"id":"x","reason":null,"features":["a"]}`,      // null
		`{"id":"x","features":{ }}`,                      // not how cjson writes {}
		`{"id":"\ud83d\ude00","features":["a"]}`,         // surrogate pair
		`{"id":"\ud83d","features":["a"]}`,               // lone surrogate
		"{\"id\":\"\xff\",\"features\":[\"a\"]}",         // not UTF-8
		`{"id":"x","features":["a"]} x`,                  // trailing data
		`{"id":"x","features":["a"],}`,                   // trailing comma
		`{"id":"x","expires_at":"\u0031","features":[]}`, // escaped instant
		`{"id":"x","features":["a",null]}`,               // null element
		`{"id":"x","auto_renew":1,"features":[]}`,        // number
		`null`,
		``,
	} {
		t.Run(raw, func(t *testing.T) {
			_, ok := scanGrant(raw)
			require.False(t, ok)
			sameGrantDecoding(t, raw)
		})
	}
}

// sameGrantDecoding requires decodeGrant and encoding/json to agree on raw.
func sameGrantDecoding(t *testing.T, raw string) {
	t.Helper()
	fast, errFast := decodeGrant(raw)
	slow, errSlow := decodeGrantJSON(raw)
	if errSlow != nil {
		require.ErrorIs(t, errSlow, ErrCorrupt)
		require.EqualError(t, errFast, errSlow.Error())
		return
	}
	require.NoError(t, errFast)
	require.Equal(t, slow, fast)
}

// samePaymentDecoding does the same for ledger records. The error may
// differ when several credits are corrupt (maps have no order).
func samePaymentDecoding(t *testing.T, raw string) {
	t.Helper()
	fast, errFast := decodePayment(raw)
	slow, errSlow := decodePaymentJSON(raw)
	if errSlow != nil {
		require.ErrorIs(t, errSlow, ErrCorrupt)
		require.ErrorIs(t, errFast, ErrCorrupt)
		return
	}
	require.NoError(t, errFast)
	require.Equal(t, slow, fast)
}

// FuzzRedisWireFast compares the fast decoders with encoding/json on any
// input: the same value, or both an error.
func FuzzRedisWireFast(f *testing.F) {
	pj := encodePayment(wirePayment)
	f.Add(encodeGrant(wireGrant))
	f.Add(pj)
	f.Add(`{"id":"x","features":{},"reason":"a\/b"}`)
	f.Add(`{"id":"\u00fc\ud83d\ude00","features":["\n"]}`)
	f.Add(`{"credits":{"a":"1","a":"2"},"user_id":"1","amount":"0"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		sameGrantDecoding(t, raw)
		samePaymentDecoding(t, raw)
	})
}

// FuzzRedisStoredValues checks that the events built from the values sent
// to a script equal what decoding their JSON gives.
func FuzzRedisStoredValues(f *testing.F) {
	f.Add("stxCharge", "pro", "premium", "credits", "p:1", int64(1769774400), int64(5), int64(250), int64(42), false)
	f.Add("c\xff", "p<&>", "", "", "", int64(-1), int64(999999999), int64(-1), int64(1<<62), true)
	f.Add("c", "p", "a\u2028", "b\x00", "\xed\xa0\x80", int64(1<<62), int64(0), int64(0), int64(-5), true)
	f.Fuzz(func(t *testing.T, charge, product, feature, credit, payload string, sec, nsec, amount, user int64, local bool) {
		at := time.Unix(sec, nsec)
		if local {
			at = at.In(time.FixedZone("x", 3600))
		}
		p := Payment{
			ChargeID: charge, UserID: user, ProductID: product, Amount: amount, Currency: "XTR",
			PaidAt: at, InvoicePayload: payload, Status: StatusPaid, SubscriptionExpiresAt: at.Add(time.Hour),
			IsRecurring: local, Kind: KindSubscription, Features: []string{feature},
			Credits: map[string]int64{credit: amount}, ExpiresAt: time.Time{},
		}
		if feature == "" {
			p.Features = []string{}
		}
		pj := encodePayment(p)
		want, err := decodePayment(pj)
		require.NoError(t, err)
		got, err := storedPayment(p, pj)
		require.NoError(t, err)
		require.Equal(t, want, got)

		g := Grant{
			ID: charge, ProductID: product, Source: Source(payload), Features: p.Features,
			ExpiresAt: at, AutoRenew: local, ChargeID: charge, FirstChargeID: payload, GrantedAt: time.Now(), Reason: credit,
		}
		gj := encodeGrant(g)
		wantG, errWant := decodeGrant(gj)
		gotG, err := storedGrant(g, gj)
		if errWant != nil {
			require.EqualError(t, err, errWant.Error())
			return
		}
		require.NoError(t, err)
		require.Equal(t, wantG, gotG)
	})
}

func TestCJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "ü", "\xff", "a\xe2\x82b", "\xed\xa0\x80", "\xf4\x90\x80\x80"} {
		raw := `"` + s + `"`
		var want string
		require.NoError(t, json.Unmarshal([]byte(raw), &want), raw)
		assert.Equal(t, want, cjsonString(s), "%q", s)
	}
}

// TestRedisRecordReply runs the record script's three replies against a
// previous grant written by someone else (not UTF-8, escapes) and
// requires the event's grant to be the stored one.
func TestRedisRecordReply(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t)
	s := NewRedisStore(rdb, RedisOptions{Prefix: prefix})
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sub := func(charge string, exp time.Time, first bool) Payment {
		return Payment{
			ChargeID: charge, UserID: 7, ProductID: "pro", Amount: 1, Currency: "XTR", PaidAt: exp.Add(-SubscriptionPeriod),
			SubscriptionExpiresAt: exp, IsRecurring: true, IsFirstRecurring: first, Kind: KindSubscription, Features: []string{"a"},
		}
	}
	// Not UTF-8 (cjson copies such bytes, encoding/json replaces them),
	// and escapes.
	prev := fmt.Sprintf(`{"id":"sub:pro","product_id":"pro","source":"subscription","features":["a"],"expires_at":"%d",`+
		`"auto_renew":true,"charge_id":"c0","first_charge_id":"%s","granted_at":"","reason":"%s"}`,
		base.Unix(), "first\xff", "why \xe2\x82 \\/ \\u00fc")
	require.NoError(t, rdb.HSet(ctx, prefix+"{u:7}", "g:sub:pro", prev).Err())

	steps := []struct {
		name string
		p    Payment
		typ  EventType
	}{
		{"merged: a renewal extends it", sub("c1", base.Add(SubscriptionPeriod), false), EventRenewed},
		{"stored: a late payment keeps it", sub("c-late", base, true), EventPurchased},
		{"merged: the first payment of a new period", sub("c2", base.Add(2*SubscriptionPeriod), true), EventPurchased},
	}
	for _, step := range steps {
		ch, err := s.RecordPayment(ctx, step.p)
		require.NoError(t, err, step.name)
		require.Len(t, ch.Events, 1)
		st, err := s.Load(ctx, 7)
		require.NoError(t, err)
		require.Len(t, st.Grants, 1)
		ev := ch.Events[0]
		assert.Equal(t, step.typ, ev.Type, step.name)
		assert.Equal(t, st.Grants[0], *ev.Grant, step.name)
		want := step.p
		want.Status = StatusPaid
		assert.Equal(t, want, *ev.Payment, step.name)
	}

	// A new subscription is stored as sent.
	p := sub("n1", base, true)
	p.UserID = 8
	ch, err := s.RecordPayment(ctx, p)
	require.NoError(t, err)
	st, err := s.Load(ctx, 8)
	require.NoError(t, err)
	require.Len(t, st.Grants, 1)
	assert.Equal(t, st.Grants[0], *ch.Events[0].Grant)
	raw, err := rdb.HGet(ctx, prefix+"{u:8}", "g:sub:pro").Result()
	require.NoError(t, err)
	assert.Equal(t, encodeGrant(st.Grants[0]), raw)
}

// TestRedisDecodeStateCompact checks that a decoded grant does not keep
// the Redis reply: its strings live in one allocation of their own.
func TestRedisDecodeStateCompact(t *testing.T) {
	raw := encodeGrant(wireGrant)
	w, ok := scanGrant(raw)
	require.True(t, ok)
	g, err := w.grant()
	require.NoError(t, err)
	for _, s := range append([]string{g.ID, g.ProductID, g.ChargeID, g.FirstChargeID}, g.Features...) {
		assert.False(t, within(raw, s), "%q points into the reply", s)
	}
	assert.True(t, within(g.ID, g.ProductID), "the product ID ends the ID")
	assert.True(t, within(g.ChargeID, g.FirstChargeID) || g.ChargeID == "", "equal strings share bytes")
	assert.Equal(t, string(SourceSubscription), string(g.Source))

	grant := wireGrant
	grant.ExpiresAt, grant.GrantedAt = grant.ExpiresAt.UTC(), grant.GrantedAt.UTC()
	assert.Equal(t, grant, g)
}

// within reports whether the bytes of b lie inside those of a.
func within(a, b string) bool {
	if b == "" {
		return true
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.StringData(a))), uintptr(unsafe.Pointer(unsafe.StringData(b)))
	return pb >= pa && pb+uintptr(len(b)) <= pa+uintptr(len(a))
}

// encodeGrantJSON and encodePaymentJSON are the reference encoders: the
// wire structs through encoding/json.
func encodeGrantJSON(g Grant) string {
	w := grantWire{
		ID: g.ID, ProductID: g.ProductID, Source: string(g.Source), Features: g.Features,
		ExpiresAt: encodeTime(g.ExpiresAt), AutoRenew: g.AutoRenew, ChargeID: g.ChargeID,
		FirstChargeID: g.FirstChargeID, GrantedAt: encodeTime(g.GrantedAt), Reason: g.Reason,
	}
	if w.Features == nil {
		w.Features = strList{}
	}
	b, err := json.Marshal(w)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func encodePaymentJSON(p Payment) string {
	ints := func(m map[string]int64) map[string]string {
		if len(m) == 0 {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = strconv.FormatInt(v, 10)
		}
		return out
	}
	w := paymentWire{
		ChargeID: p.ChargeID, ProviderChargeID: p.ProviderChargeID,
		UserID: strconv.FormatInt(p.UserID, 10), ProductID: p.ProductID,
		Amount: strconv.FormatInt(p.Amount, 10), Currency: p.Currency, PaidAt: encodeTime(p.PaidAt),
		InvoicePayload: p.InvoicePayload, Status: string(p.Status), RefundedAt: encodeTime(p.RefundedAt),
		SubscriptionExpiresAt: encodeTime(p.SubscriptionExpiresAt),
		IsRecurring:           p.IsRecurring, IsFirstRecurring: p.IsFirstRecurring,
		Kind: string(p.Kind), Features: p.Features, Credits: ints(p.Credits),
		ExpiresAt: encodeTime(p.ExpiresAt), Shortfall: ints(p.Shortfall),
	}
	b, err := json.Marshal(w)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FuzzRedisEncode requires the hand-written encoders to write exactly what
// encoding/json writes, so stored data looks the same whichever wrote it.
func FuzzRedisEncode(f *testing.F) {
	f.Add("stxCharge", "pro", "premium", "credits", "p:1", int64(1769774400), int64(5), int64(250), int64(42), uint8(0))
	f.Add("c\xff<", "p&>", "", "\u2028\u2029", "a\"\\\n\x00\x7f/", int64(-1), int64(999999999), int64(-1), int64(1<<62), uint8(255))
	f.Add("ü€😀", "\xed\xa0\x80", "\t", "b", "", int64(0), int64(0), int64(0), int64(-5), uint8(0b1010))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5 string, sec, nsec, amount, user int64, flags uint8) {
		at := time.Unix(sec, nsec)
		zeroIf := func(bit uint8, t time.Time) time.Time {
			if flags&bit != 0 {
				return time.Time{}
			}
			return t
		}
		var features []string
		if flags&1 != 0 {
			features = []string{s3, s4}
		} else if flags&2 != 0 {
			features = []string{}
		}
		var credits map[string]int64
		if flags&4 != 0 {
			credits = map[string]int64{s4: amount, s5: user, s3: sec}
		}
		p := Payment{
			ChargeID: s1, ProviderChargeID: s5, UserID: user, ProductID: s2, Amount: amount, Currency: s3,
			PaidAt: zeroIf(8, at), InvoicePayload: s4, Status: PaymentStatus(s5), RefundedAt: zeroIf(16, at.Add(time.Second)),
			SubscriptionExpiresAt: zeroIf(32, at), IsRecurring: flags&64 != 0, IsFirstRecurring: flags&128 != 0,
			Kind: Kind(s2), Features: features, Credits: credits, ExpiresAt: zeroIf(4, at), Shortfall: credits,
		}
		require.Equal(t, encodePaymentJSON(p), encodePayment(p))
		g := Grant{
			ID: s1, ProductID: s2, Source: Source(s3), Features: features, ExpiresAt: zeroIf(8, at),
			AutoRenew: flags&64 != 0, ChargeID: s4, FirstChargeID: s5, GrantedAt: zeroIf(16, at), Reason: s5 + s1,
		}
		require.Equal(t, encodeGrantJSON(g), encodeGrant(g))
	})
}
