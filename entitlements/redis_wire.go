package entitlements

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	if t.IsZero() {
		return ""
	}
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += fmt.Sprintf(".%09d", ns)
	}
	return s
}

func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	secs, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || secs != strconv.FormatInt(sec, 10) {
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

func encodeGrant(g Grant) string {
	w := grantWire{
		ID: g.ID, ProductID: g.ProductID, Source: string(g.Source), Features: g.Features,
		ExpiresAt: encodeTime(g.ExpiresAt), AutoRenew: g.AutoRenew, ChargeID: g.ChargeID,
		FirstChargeID: g.FirstChargeID, GrantedAt: encodeTime(g.GrantedAt), Reason: g.Reason,
	}
	if w.Features == nil {
		w.Features = strList{}
	}
	b, _ := json.Marshal(w) // strings and bools only: cannot fail
	return string(b)
}

func decodeGrant(raw string) (Grant, error) {
	var w grantWire
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Grant{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
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

func encodePayment(p Payment) (string, error) {
	w := paymentWire{
		ChargeID: p.ChargeID, ProviderChargeID: p.ProviderChargeID,
		UserID: strconv.FormatInt(p.UserID, 10), ProductID: p.ProductID,
		Amount: strconv.FormatInt(p.Amount, 10), Currency: p.Currency, PaidAt: encodeTime(p.PaidAt),
		InvoicePayload: p.InvoicePayload, Status: string(p.Status), RefundedAt: encodeTime(p.RefundedAt),
		SubscriptionExpiresAt: encodeTime(p.SubscriptionExpiresAt),
		IsRecurring:           p.IsRecurring, IsFirstRecurring: p.IsFirstRecurring,
		Kind: string(p.Kind), Features: p.Features, Credits: encodeInts(p.Credits),
		ExpiresAt: encodeTime(p.ExpiresAt), Shortfall: encodeInts(p.Shortfall),
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("entitlements: encode payment: %w", err)
	}
	return string(b), nil
}

func decodePayment(raw string) (Payment, error) {
	var w paymentWire
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return Payment{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
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

func encodeInts(m map[string]int64) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strconv.FormatInt(v, 10)
	}
	return out
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
