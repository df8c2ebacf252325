package entitlements

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// How grants and payments are stored in Redis. The JSON holds no JSON
// numbers: Lua's cjson decodes numbers to doubles and encodes them with 14
// significant digits, so integers (user IDs, amounts) and instants are
// decimal strings, which the scripts can re-encode losslessly and compare
// exactly.

// encodeTime writes an instant as Unix seconds, with ".<9 digits>" when it
// has nanoseconds; "" is the zero time. The Lua scripts compare these
// strings exactly (tcmp); the location is not kept (decodeTime gives UTC).
func encodeTime(t time.Time) string {
	var buf [32]byte
	return string(appendTime(buf[:0], t))
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = strconv.AppendInt(b, t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		for d := 100_000_000; d > 0; d /= 10 {
			b = append(b, byte('0'+ns/d%10))
		}
	}
	return b
}

func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	secs, frac, hasFrac := strings.Cut(s, ".")
	sec, ok := parseCanonicalInt(secs)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: instant %q", ErrCorrupt, s)
	}
	var ns int64
	if hasFrac {
		if len(frac) != 9 || strings.TrimLeft(frac, "0123456789") != "" {
			return time.Time{}, fmt.Errorf("%w: instant %q", ErrCorrupt, s)
		}
		ns, _ = strconv.ParseInt(frac, 10, 64)
		if ns == 0 { // canonical: whole seconds have no fraction
			return time.Time{}, fmt.Errorf("%w: instant %q", ErrCorrupt, s)
		}
	}
	return time.Unix(sec, ns).UTC(), nil
}

// parseCanonicalInt parses an int64 written as strconv.FormatInt writes it
// (no '+', no leading zeros, no "-0"), without allocating.
func parseCanonicalInt(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || digits[0] < '0' || digits[0] > '9' || digits[0] == '0' && s != "0" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// strList is a JSON array of strings that also accepts null and {} (how
// Lua's cjson encodes an empty table).
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	switch strings.TrimSpace(string(b)) {
	case "null", "{}":
		*l = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// grantWire is a Grant as stored in the user hash.
type grantWire struct {
	ID            string  `json:"id"`
	ProductID     string  `json:"product_id"`
	Source        string  `json:"source"`
	Features      strList `json:"features"`
	ExpiresAt     string  `json:"expires_at"`
	AutoRenew     bool    `json:"auto_renew"`
	ChargeID      string  `json:"charge_id"`
	FirstChargeID string  `json:"first_charge_id"`
	GrantedAt     string  `json:"granted_at"`
	Reason        string  `json:"reason"`
}

// encodeGrant writes what json.Marshal writes for the grant's grantWire
// (FuzzRedisEncode checks), without reflection.
func encodeGrant(g Grant) string {
	var buf [512]byte
	b := append(buf[:0], `{"id":`...)
	b = appendJSONString(b, g.ID)
	b = appendJSONString(append(b, `,"product_id":`...), g.ProductID)
	b = appendJSONString(append(b, `,"source":`...), string(g.Source))
	b = appendJSONList(append(b, `,"features":`...), g.Features)
	b = appendJSONTime(append(b, `,"expires_at":`...), g.ExpiresAt)
	b = strconv.AppendBool(append(b, `,"auto_renew":`...), g.AutoRenew)
	b = appendJSONString(append(b, `,"charge_id":`...), g.ChargeID)
	b = appendJSONString(append(b, `,"first_charge_id":`...), g.FirstChargeID)
	b = appendJSONTime(append(b, `,"granted_at":`...), g.GrantedAt)
	b = appendJSONString(append(b, `,"reason":`...), g.Reason)
	return string(append(b, '}'))
}

// decodeGrant decodes a stored grant: scanGrant reads the usual form fast,
// encoding/json the rest.
func decodeGrant(raw string) (Grant, error) {
	if w, ok := scanGrant(raw); ok {
		return w.grant()
	}
	return decodeGrantJSON(raw)
}

func decodeGrantJSON(raw string) (Grant, error) {
	var w grantWire
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Grant{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return w.grant()
}

func (w *grantWire) grant() (Grant, error) {
	exp, err1 := decodeTime(w.ExpiresAt)
	granted, err2 := decodeTime(w.GrantedAt)
	if err := errors.Join(err1, err2); err != nil {
		return Grant{}, err
	}
	if w.ID == "" {
		return Grant{}, fmt.Errorf("%w: grant without ID", ErrCorrupt)
	}
	return Grant{
		ID: w.ID, ProductID: w.ProductID, Source: Source(w.Source), Features: []string(w.Features),
		ExpiresAt: exp, AutoRenew: w.AutoRenew, ChargeID: w.ChargeID, FirstChargeID: w.FirstChargeID,
		GrantedAt: granted, Reason: w.Reason,
	}, nil
}

// storedGrant returns what decodeGrant(encodeGrant(g)) returns, without
// the JSON: instants in UTC, a fresh features slice (empty, not nil, when
// there are none). gj is encodeGrant(g), decoded only in the rare case
// that a string is not valid UTF-8 (JSON encoding replaces the bad bytes).
func storedGrant(g Grant, gj string) (Grant, error) {
	if g.ID == "" || !validUTF8(g.ID, g.ProductID, string(g.Source), g.ChargeID, g.FirstChargeID, g.Reason) || !validUTF8(g.Features...) {
		return decodeGrant(gj)
	}
	g.Features = append([]string{}, g.Features...)
	g.ExpiresAt, g.GrantedAt = storedTime(g.ExpiresAt), storedTime(g.GrantedAt)
	return g, nil
}

// storedTime is decodeTime(encodeTime(t)).
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func validUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// paymentWire is a Payment as stored in its ledger key.
type paymentWire struct {
	ChargeID              string            `json:"charge_id"`
	ProviderChargeID      string            `json:"provider_charge_id,omitempty"`
	UserID                string            `json:"user_id"`
	ProductID             string            `json:"product_id"`
	Amount                string            `json:"amount"`
	Currency              string            `json:"currency"`
	PaidAt                string            `json:"paid_at"`
	InvoicePayload        string            `json:"invoice_payload,omitempty"`
	Status                string            `json:"status"`
	RefundedAt            string            `json:"refunded_at,omitempty"`
	SubscriptionExpiresAt string            `json:"subscription_expires_at,omitempty"`
	IsRecurring           bool              `json:"is_recurring,omitempty"`
	IsFirstRecurring      bool              `json:"is_first_recurring,omitempty"`
	Kind                  string            `json:"kind"`
	Features              strList           `json:"features,omitempty"`
	Credits               map[string]string `json:"credits,omitempty"`
	ExpiresAt             string            `json:"expires_at,omitempty"`
	Shortfall             map[string]string `json:"shortfall,omitempty"`
}

// encodePayment writes what json.Marshal writes for the payment's
// paymentWire (FuzzRedisEncode checks), without reflection.
func encodePayment(p Payment) string {
	var buf [1024]byte
	b := append(buf[:0], `{"charge_id":`...)
	b = appendJSONString(b, p.ChargeID)
	if p.ProviderChargeID != "" {
		b = appendJSONString(append(b, `,"provider_charge_id":`...), p.ProviderChargeID)
	}
	b = appendJSONInt(append(b, `,"user_id":`...), p.UserID)
	b = appendJSONString(append(b, `,"product_id":`...), p.ProductID)
	b = appendJSONInt(append(b, `,"amount":`...), p.Amount)
	b = appendJSONString(append(b, `,"currency":`...), p.Currency)
	b = appendJSONTime(append(b, `,"paid_at":`...), p.PaidAt)
	if p.InvoicePayload != "" {
		b = appendJSONString(append(b, `,"invoice_payload":`...), p.InvoicePayload)
	}
	b = appendJSONString(append(b, `,"status":`...), string(p.Status))
	if !p.RefundedAt.IsZero() {
		b = appendJSONTime(append(b, `,"refunded_at":`...), p.RefundedAt)
	}
	if !p.SubscriptionExpiresAt.IsZero() {
		b = appendJSONTime(append(b, `,"subscription_expires_at":`...), p.SubscriptionExpiresAt)
	}
	if p.IsRecurring {
		b = append(b, `,"is_recurring":true`...)
	}
	if p.IsFirstRecurring {
		b = append(b, `,"is_first_recurring":true`...)
	}
	b = appendJSONString(append(b, `,"kind":`...), string(p.Kind))
	if len(p.Features) > 0 {
		b = appendJSONList(append(b, `,"features":`...), p.Features)
	}
	if len(p.Credits) > 0 {
		b = appendJSONInts(append(b, `,"credits":`...), p.Credits)
	}
	if !p.ExpiresAt.IsZero() {
		b = appendJSONTime(append(b, `,"expires_at":`...), p.ExpiresAt)
	}
	if len(p.Shortfall) > 0 {
		b = appendJSONInts(append(b, `,"shortfall":`...), p.Shortfall)
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as json.Marshal writes it. Strings that need
// no escaping (the usual IDs) are copied; the rest is left to
// encoding/json, for its exact escapes (HTML characters, U+2028, bytes
// that are not UTF-8).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshaled(b, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendMarshaled(b, s)
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshaled(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string: cannot fail
	return append(b, q...)
}

// appendJSONList appends a string list; nil is [] (cjson reads null as
// nothing at all).
func appendJSONList(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONInt appends an integer as a JSON string (see the top of the
// file for why).
func appendJSONInt(b []byte, n int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '"')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = appendTime(b, t)
	return append(b, '"')
}

// appendJSONInts appends amounts by name, in json.Marshal's order of keys.
func appendJSONInts(b []byte, m map[string]int64) []byte {
	var buf [8]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONInt(append(appendJSONString(b, k), ':'), m[k])
	}
	return append(b, '}')
}

// decodePayment decodes a ledger record: scanPayment reads the usual form
// fast, encoding/json the rest.
func decodePayment(raw string) (Payment, error) {
	if w, ok := scanPayment(raw); ok {
		return w.payment()
	}
	return decodePaymentJSON(raw)
}

func decodePaymentJSON(raw string) (Payment, error) {
	var w paymentWire
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Payment{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return w.payment()
}

func (w *paymentWire) payment() (Payment, error) {
	uid, err1 := strconv.ParseInt(w.UserID, 10, 64)
	amount, err2 := strconv.ParseInt(w.Amount, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Payment{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	paid, err1 := decodeTime(w.PaidAt)
	refunded, err2 := decodeTime(w.RefundedAt)
	subExp, err3 := decodeTime(w.SubscriptionExpiresAt)
	exp, err4 := decodeTime(w.ExpiresAt)
	credits, err5 := decodeInts(w.Credits)
	shortfall, err6 := decodeInts(w.Shortfall)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return Payment{}, err
	}
	return Payment{
		ChargeID: w.ChargeID, ProviderChargeID: w.ProviderChargeID, UserID: uid, ProductID: w.ProductID,
		Amount: amount, Currency: w.Currency, PaidAt: paid, InvoicePayload: w.InvoicePayload,
		Status: PaymentStatus(w.Status), RefundedAt: refunded, SubscriptionExpiresAt: subExp,
		IsRecurring: w.IsRecurring, IsFirstRecurring: w.IsFirstRecurring, Kind: Kind(w.Kind),
		Features: []string(w.Features), Credits: credits, ExpiresAt: exp, Shortfall: shortfall,
	}, nil
}

// storedPayment returns what decodePayment(encodePayment(p)) returns,
// without the JSON: instants in UTC, fresh slices and maps, nil when empty.
// pj is encodePayment(p), decoded only in the rare case that a string is
// not valid UTF-8.
func storedPayment(p Payment, pj string) (Payment, error) {
	ok := validUTF8(p.ChargeID, p.ProviderChargeID, p.ProductID, p.Currency, p.InvoicePayload, string(p.Status), string(p.Kind)) &&
		validUTF8(p.Features...)
	for k := range p.Credits {
		ok = ok && utf8.ValidString(k)
	}
	for k := range p.Shortfall {
		ok = ok && utf8.ValidString(k)
	}
	if !ok {
		return decodePayment(pj)
	}
	p.PaidAt, p.RefundedAt = storedTime(p.PaidAt), storedTime(p.RefundedAt)
	p.SubscriptionExpiresAt, p.ExpiresAt = storedTime(p.SubscriptionExpiresAt), storedTime(p.ExpiresAt)
	if len(p.Features) == 0 {
		p.Features = nil
	} else {
		p.Features = slices.Clone(p.Features)
	}
	p.Credits, p.Shortfall = storedInts(p.Credits), storedInts(p.Shortfall)
	return p, nil
}

func storedInts(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func decodeInts(m map[string]string) (map[string]int64, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: amount %q: %q", ErrCorrupt, k, v)
		}
		out[k] = n
	}
	return out, nil
}

// The fast decoders below read the JSON this package stores, as Go's
// encoding/json and Lua's cjson write it, without reflection. They accept
// only the plain form: an object of the known keys, each at most once,
// values of the expected type, strings of valid UTF-8 without surrogate
// escapes. On anything else (unknown or repeated keys, null, numbers,
// trailing data) they give up and encoding/json decodes the value, so both
// give the same result (FuzzRedisWireFast checks).

// scanner is a cursor over one stored JSON value.
type scanner struct {
	s string
	i int
}

// peek skips white space and returns the next byte, 0 at the end.
func (sc *scanner) peek() byte {
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; c {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return c
		}
	}
	return 0
}

// eat consumes c, after white space.
func (sc *scanner) eat(c byte) bool {
	if sc.peek() == c {
		sc.i++
		return true
	}
	return false
}

// word consumes a literal (true, false, null, {}), after white space.
func (sc *scanner) word(w string) bool {
	sc.peek()
	if strings.HasPrefix(sc.s[sc.i:], w) {
		sc.i += len(w)
		return true
	}
	return false
}

// end reports whether only white space is left.
func (sc *scanner) end() bool {
	return sc.peek() == 0 && sc.i == len(sc.s)
}

// next ends one member of an object: true to read another, false at '}'.
func (sc *scanner) next() (more, ok bool) {
	if sc.eat(',') {
		return true, true
	}
	return false, sc.eat('}')
}

// raw reads a string and returns it as written, without the quotes; plain
// is false when it holds escapes, which are checked by unescape only.
func (sc *scanner) raw() (s string, plain, ok bool) {
	if !sc.eat('"') {
		return "", false, false
	}
	start := sc.i
	plain = true
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return sc.s[start : sc.i-1], plain, true
		case c == '\\':
			plain = false
			sc.i += 2
		case c < 0x20:
			return "", false, false
		case c < utf8.RuneSelf:
			sc.i++
		default:
			r, size := utf8.DecodeRuneInString(sc.s[sc.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false, false
			}
			sc.i += size
		}
	}
	return "", false, false
}

// key reads an object key; keys with escapes are not plain.
func (sc *scanner) key() (string, bool) {
	k, plain, ok := sc.raw()
	if !ok || !plain || !sc.eat(':') {
		return "", false
	}
	return k, true
}

// str reads a string value into *dst.
func (sc *scanner) str(dst *string) bool {
	s, plain, ok := sc.raw()
	if ok && !plain {
		s, ok = unescape(s)
	}
	*dst = s
	return ok
}

// plainStr reads a string value without escapes (an instant, a number).
func (sc *scanner) plainStr(dst *string) bool {
	s, plain, ok := sc.raw()
	*dst = s
	return ok && plain
}

func (sc *scanner) boolean(dst *bool) bool {
	switch {
	case sc.word("true"):
		*dst = true
	case sc.word("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// list reads a strList: an array of strings, or null or {} (nil), in the
// form strList.UnmarshalJSON accepts. The elements are appended to buf.
func (sc *scanner) list(buf []string) (l []string, ok bool) {
	if sc.word("null") || sc.word("{}") {
		return nil, true
	}
	if !sc.eat('[') {
		return nil, false
	}
	l = buf[:0]
	if sc.eat(']') {
		return []string{}, true
	}
	for {
		var s string
		if !sc.str(&s) {
			return nil, false
		}
		l = append(l, s)
		if sc.eat(']') {
			return l, true
		}
		if !sc.eat(',') {
			return nil, false
		}
	}
}

// strMap reads an object of strings (credits, shortfall), or null.
func (sc *scanner) strMap() (m map[string]string, ok bool) {
	if sc.word("null") {
		return nil, true
	}
	if !sc.eat('{') {
		return nil, false
	}
	m = map[string]string{}
	if sc.eat('}') {
		return m, true
	}
	for {
		k, plain, ok := sc.raw()
		if ok && !plain {
			k, ok = unescape(k)
		}
		var v string
		if !ok || !sc.eat(':') || !sc.str(&v) {
			return nil, false
		}
		m[k] = v // a repeated key: the last wins, as in encoding/json
		more, ok := sc.next()
		if !ok {
			return nil, false
		}
		if !more {
			return m, true
		}
	}
}

// unescape decodes the escapes of a JSON string as encoding/json does; a
// surrogate escape (which encoding/json may turn into U+FFFD) is refused.
func unescape(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			b = append(b, s[i:]...)
			break
		}
		b = append(b, s[i:i+j]...)
		i += j
		if i+1 >= len(s) {
			return "", false
		}
		c := s[i+1]
		i += 2
		switch c {
		case '"', '\\', '/':
			b = append(b, c)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if i+4 > len(s) {
				return "", false
			}
			var r rune
			for _, h := range []byte(s[i : i+4]) {
				switch {
				case '0' <= h && h <= '9':
					h -= '0'
				case 'a' <= h && h <= 'f':
					h -= 'a' - 10
				case 'A' <= h && h <= 'F':
					h -= 'A' - 10
				default:
					return "", false
				}
				r = r<<4 | rune(h)
			}
			if utf16.IsSurrogate(r) {
				return "", false
			}
			b = utf8.AppendRune(b, r)
			i += 4
		default:
			return "", false
		}
	}
	return string(b), true
}

// Grant keys, one bit each, to refuse repeated keys.
const (
	gkID = 1 << iota
	gkProduct
	gkSource
	gkFeatures
	gkExpires
	gkAutoRenew
	gkCharge
	gkFirstCharge
	gkGranted
	gkReason
)

// scanGrant is the fast decoder of a stored grant.
func scanGrant(raw string) (grantWire, bool) {
	var (
		w     grantWire
		sc    = scanner{s: raw}
		seen  uint
		buf   [8]string
		feats []string
	)
	if !sc.eat('{') {
		return grantWire{}, false
	}
	more := !sc.eat('}')
	for more {
		k, ok := sc.key()
		if !ok {
			return grantWire{}, false
		}
		var bit uint
		switch k {
		case "id":
			bit, ok = gkID, sc.str(&w.ID)
		case "product_id":
			bit, ok = gkProduct, sc.str(&w.ProductID)
		case "source":
			bit, ok = gkSource, sc.str(&w.Source)
		case "features":
			bit = gkFeatures
			feats, ok = sc.list(buf[:])
		case "expires_at":
			bit, ok = gkExpires, sc.plainStr(&w.ExpiresAt)
		case "auto_renew":
			bit, ok = gkAutoRenew, sc.boolean(&w.AutoRenew)
		case "charge_id":
			bit, ok = gkCharge, sc.str(&w.ChargeID)
		case "first_charge_id":
			bit, ok = gkFirstCharge, sc.str(&w.FirstChargeID)
		case "granted_at":
			bit, ok = gkGranted, sc.plainStr(&w.GrantedAt)
		case "reason":
			bit, ok = gkReason, sc.str(&w.Reason)
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return grantWire{}, false
		}
		seen |= bit
		if more, ok = sc.next(); !ok {
			return grantWire{}, false
		}
	}
	if !sc.end() {
		return grantWire{}, false
	}
	w.compact(feats)
	return w, true
}

// compact sets the features to a copy of feats and moves the strings a
// Grant keeps into one allocation: they pointed into the Redis reply,
// which a cached grant should not hold on to. The instants are parsed, not
// kept. A string equal to an earlier one or ending the ID ("sub:<product>",
// "pay:<charge>") takes no room of its own.
func (w *grantWire) compact(feats []string) {
	if feats != nil {
		w.Features = append(make(strList, 0, len(feats)), feats...)
	}
	fields := [...]*string{&w.ID, &w.ChargeID, &w.FirstChargeID, &w.ProductID, &w.Reason, &w.Source}
	own := fields[:]
	switch Source(w.Source) {
	case SourceSubscription:
		w.Source, own = string(SourceSubscription), fields[:5]
	case SourceOneTime:
		w.Source, own = string(SourceOneTime), fields[:5]
	case SourceGrant:
		w.Source, own = string(SourceGrant), fields[:5]
	}
	n := 0
	for i, p := range own {
		if _, ok := reuse(own[:i], nil, *p); !ok {
			n += len(*p)
		}
	}
	for i, f := range w.Features {
		if _, ok := reuse(own, w.Features[:i], f); !ok {
			n += len(f)
		}
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	place := func(s string) string {
		b.WriteString(s)
		return b.String()[b.Len()-len(s):]
	}
	for i, p := range own {
		if s, ok := reuse(own[:i], nil, *p); ok {
			*p = s
		} else {
			*p = place(*p)
		}
	}
	for i, f := range w.Features {
		if s, ok := reuse(own, w.Features[:i], f); ok {
			w.Features[i] = s
		} else {
			w.Features[i] = place(f)
		}
	}
}

// reuse returns s from the strings before it: the end of the first field
// (the ID), or an equal field or feature.
func reuse(fields []*string, feats []string, s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if len(fields) > 0 && strings.HasSuffix(*fields[0], s) {
		id := *fields[0]
		return id[len(id)-len(s):], true
	}
	for _, p := range fields {
		if *p == s {
			return *p, true
		}
	}
	for _, f := range feats {
		if f == s {
			return f, true
		}
	}
	return "", false
}

// Payment keys, one bit each, to refuse repeated keys.
const (
	pkCharge = 1 << iota
	pkProviderCharge
	pkUser
	pkProduct
	pkAmount
	pkCurrency
	pkPaid
	pkPayload
	pkStatus
	pkRefunded
	pkSubExpires
	pkRecurring
	pkFirstRecurring
	pkKind
	pkFeatures
	pkCredits
	pkExpires
	pkShortfall
)

// scanPayment is the fast decoder of a ledger record. Its strings point
// into raw: payments are not cached.
func scanPayment(raw string) (paymentWire, bool) {
	var (
		w     paymentWire
		sc    = scanner{s: raw}
		seen  uint
		buf   [8]string
		feats []string
	)
	if !sc.eat('{') {
		return paymentWire{}, false
	}
	more := !sc.eat('}')
	for more {
		k, ok := sc.key()
		if !ok {
			return paymentWire{}, false
		}
		var bit uint
		switch k {
		case "charge_id":
			bit, ok = pkCharge, sc.str(&w.ChargeID)
		case "provider_charge_id":
			bit, ok = pkProviderCharge, sc.str(&w.ProviderChargeID)
		case "user_id":
			bit, ok = pkUser, sc.plainStr(&w.UserID)
		case "product_id":
			bit, ok = pkProduct, sc.str(&w.ProductID)
		case "amount":
			bit, ok = pkAmount, sc.plainStr(&w.Amount)
		case "currency":
			bit, ok = pkCurrency, sc.str(&w.Currency)
		case "paid_at":
			bit, ok = pkPaid, sc.plainStr(&w.PaidAt)
		case "invoice_payload":
			bit, ok = pkPayload, sc.str(&w.InvoicePayload)
		case "status":
			bit, ok = pkStatus, sc.str(&w.Status)
		case "refunded_at":
			bit, ok = pkRefunded, sc.plainStr(&w.RefundedAt)
		case "subscription_expires_at":
			bit, ok = pkSubExpires, sc.plainStr(&w.SubscriptionExpiresAt)
		case "is_recurring":
			bit, ok = pkRecurring, sc.boolean(&w.IsRecurring)
		case "is_first_recurring":
			bit, ok = pkFirstRecurring, sc.boolean(&w.IsFirstRecurring)
		case "kind":
			bit, ok = pkKind, sc.str(&w.Kind)
		case "features":
			bit = pkFeatures
			feats, ok = sc.list(buf[:])
		case "credits":
			bit = pkCredits
			w.Credits, ok = sc.strMap()
		case "expires_at":
			bit, ok = pkExpires, sc.plainStr(&w.ExpiresAt)
		case "shortfall":
			bit = pkShortfall
			w.Shortfall, ok = sc.strMap()
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return paymentWire{}, false
		}
		seen |= bit
		if more, ok = sc.next(); !ok {
			return paymentWire{}, false
		}
	}
	if !sc.end() {
		return paymentWire{}, false
	}
	if feats != nil {
		w.Features = append(make(strList, 0, len(feats)), feats...)
	}
	return w, true
}

// cjsonString returns a string of a script's reply as encoding/json would
// decode it from cjson's JSON: cjson copies bytes that are not UTF-8 as
// they are, and encoding/json turns each of them into U+FFFD.
func cjsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
