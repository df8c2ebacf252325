package middleware

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	initdata "github.com/telegram-mini-apps/init-data-golang"
)

// MaxInitDataLength bounds the raw init data Auth accepts (the part after
// "tma "). Real init data is well under 2 KiB.
const MaxInitDataLength = 8 << 10

// lastUnixNano is the last instant time.Time.UnixNano can represent.
var lastUnixNano = time.Unix(0, math.MaxInt64)

// verifier checks raw init data; it is what Auth runs on each request.
type verifier struct {
	secretKey  []byte // HMAC-SHA256("WebAppData", bot token); nil: no HMAC check
	botID      int64
	thirdParty bool
	testEnv    bool
	maxAge     time.Duration
	futureSkew time.Duration
	now        func() time.Time
	cache      *verifiedCache // nil: disabled
}

// secretKeyFor derives the init data HMAC key from the bot token (research
// doc §4.1). Done once, at construction, so the token is not kept.
func secretKeyFor(token string) []byte {
	mac := hmac.New(sha256.New, []byte("WebAppData"))
	_, _ = io.WriteString(mac, token)
	return mac.Sum(nil)
}

// verifyHeader checks an Authorization header value: "tma <initData>".
func (v *verifier) verifyHeader(h string) (*InitData, error) {
	if h == "" {
		return nil, ErrMissing
	}
	scheme, raw, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "tma") {
		return nil, fmt.Errorf("%w: authorization scheme is not tma", ErrMalformed)
	}
	if raw == "" {
		return nil, ErrMissing
	}
	return v.verify(raw)
}

// verify checks raw init data, from the cache when it has been seen before.
func (v *verifier) verify(raw string) (*InitData, error) {
	if len(raw) > MaxInitDataLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxInitDataLength)
	}
	now := v.now()
	if v.cache != nil {
		if d, ok := v.cache.get(raw, now.UnixNano()); ok {
			return d, nil
		}
	}
	d, expires, err := v.verifyCold(raw, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil && !expires.After(lastUnixNano) { // a MaxAge of centuries is just not cached
		v.cache.put(raw, d, expires.UnixNano(), now.UnixNano())
	}
	return d, nil
}

// verifyCold runs every check: signatures first, so that forged data is
// always reported as forged, then the clock, then the fields.
func (v *verifier) verifyCold(raw string, now time.Time) (*InitData, time.Time, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: not a query string", ErrMalformed)
	}
	var (
		hash     string
		authDate int64
		pairs    = make([]string, 0, len(q))
	)
	for k, vals := range q {
		// The library reads the first value of a repeated field while a
		// signer may have meant another: refuse the ambiguity.
		if len(vals) != 1 {
			return nil, time.Time{}, fmt.Errorf("%w: repeated field", ErrMalformed)
		}
		switch k {
		case "hash":
			hash = vals[0]
			continue // the only field outside the HMAC check string
		case "auth_date":
			authDate, err = strconv.ParseInt(vals[0], 10, 64)
			if err != nil || authDate <= 0 {
				return nil, time.Time{}, fmt.Errorf("%w: auth_date is not a positive integer", ErrMalformed)
			}
		}
		pairs = append(pairs, k+"="+vals[0])
	}
	if authDate == 0 {
		return nil, time.Time{}, fmt.Errorf("%w: no auth_date", ErrMalformed)
	}

	if v.secretKey != nil {
		if err := v.checkHash(pairs, hash); err != nil {
			return nil, time.Time{}, err
		}
	}
	if v.thirdParty {
		// The library verifies the Ed25519 signature with Telegram's public
		// key for the environment; expiry (0 here) is checked below.
		switch err := initdata.ValidateThirdPartyWithEnv(raw, v.botID, 0, v.testEnv); {
		case errors.Is(err, initdata.ErrSignMissing):
			return nil, time.Time{}, fmt.Errorf("%w: no signature", ErrThirdPartyInvalid)
		case err != nil:
			return nil, time.Time{}, ErrThirdPartyInvalid
		}
	}

	issued := time.Unix(authDate, 0)
	if issued.After(now.Add(v.futureSkew)) {
		return nil, time.Time{}, ErrFuture
	}
	expires := issued.Add(v.maxAge)
	if now.After(expires) {
		return nil, time.Time{}, ErrExpired
	}

	d, err := decodeFields(q, issued)
	if err != nil {
		return nil, time.Time{}, err
	}
	return d, expires, nil
}

// decodeFields builds InitData from the verified fields. The JSON objects
// are decoded into init-data-golang's models. Its Parse is not used: it
// re-encodes the whole query as JSON and so rejects a string field that
// happens to look like a JSON number (a query_id of digits), and it would
// parse the query a second time.
func decodeFields(q url.Values, authDate time.Time) (*InitData, error) {
	var (
		user, receiver initdata.User
		chat           initdata.Chat
		canSendAfter   int64
	)
	for _, f := range [...]struct {
		name string
		into any
	}{{"user", &user}, {"receiver", &receiver}, {"chat", &chat}} {
		if v := q.Get(f.name); v != "" {
			if err := json.Unmarshal([]byte(v), f.into); err != nil {
				return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, f.name)
			}
		}
	}
	if user.ID == 0 {
		return nil, ErrNoUser
	}
	if v := q.Get("can_send_after"); v != "" {
		var err error
		if canSendAfter, err = strconv.ParseInt(v, 10, 32); err != nil || canSendAfter < 0 {
			return nil, fmt.Errorf("%w: can_send_after is not a number of seconds", ErrMalformed)
		}
	}
	return &InitData{
		User:         userFromLibrary(user),
		Receiver:     userFromLibrary(receiver),
		Chat:         Chat{ID: chat.ID, Type: string(chat.Type), Title: chat.Title, Username: chat.Username, PhotoURL: chat.PhotoURL},
		ChatType:     q.Get("chat_type"),
		ChatInstance: q.Get("chat_instance"),
		StartParam:   q.Get("start_param"),
		QueryID:      q.Get("query_id"),
		AuthDate:     authDate,
		CanSendAfter: time.Duration(canSendAfter) * time.Second,
	}, nil
}

// checkHash compares the hash with the HMAC of the data-check-string in
// constant time: the library's Validate compares hex strings with !=, so we
// compute the HMAC ourselves (same check string: every field but hash,
// "key=value", sorted, joined by "\n") and compare bytes with hmac.Equal.
func (v *verifier) checkHash(pairs []string, hash string) error {
	if hash == "" {
		return fmt.Errorf("%w: no hash", ErrSignatureInvalid)
	}
	got, err := hex.DecodeString(hash)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: hash is not 64 hex digits", ErrSignatureInvalid)
	}
	if !hmac.Equal(dataCheckHMAC(v.secretKey, pairs), got) {
		return ErrSignatureInvalid
	}
	return nil
}

// dataCheckHMAC sorts pairs ("key=value") and returns the HMAC-SHA256 of
// their "\n"-joined data-check-string. Pairs are sorted whole, as
// init-data-golang does.
func dataCheckHMAC(key []byte, pairs []string) []byte {
	slices.Sort(pairs)
	mac := hmac.New(sha256.New, key)
	for i, p := range pairs {
		if i > 0 {
			_, _ = mac.Write([]byte{'\n'})
		}
		_, _ = io.WriteString(mac, p)
	}
	return mac.Sum(nil)
}
