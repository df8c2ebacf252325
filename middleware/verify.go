package middleware

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	scratches  sync.Pool      // of *scratch, keyed with secretKey
}

// scratch is the working memory of one verifyCold, reused through
// verifier.scratches so that a first-seen init data costs few allocations.
type scratch struct {
	mac    hash.Hash // HMAC-SHA256 keyed with the verifier's secretKey; nil without one
	fields []field
	buf    []byte // the data-check-string, then a JSON field being decoded
	sum    [sha256.Size]byte
}

// Above these capacities a scratch is not kept: a burst of huge (rejected)
// init data should not pin memory in the pool.
const (
	maxPooledFields = 64
	maxPooledBuf    = 4 << 10
)

func (v *verifier) getScratch() *scratch {
	if s, ok := v.scratches.Get().(*scratch); ok {
		return s
	}
	s := &scratch{}
	if v.secretKey != nil {
		s.mac = hmac.New(sha256.New, v.secretKey)
	}
	return s
}

func (v *verifier) putScratch(s *scratch) {
	if cap(s.fields) > maxPooledFields || cap(s.buf) > maxPooledBuf {
		return
	}
	clear(s.fields[:cap(s.fields)]) // drop references to this request's strings
	s.fields = s.fields[:0]
	v.scratches.Put(s)
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
	s := v.getScratch()
	defer v.putScratch(s)

	fields, err := appendFields(s.fields[:0], raw)
	s.fields = fields
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: not a query string", ErrMalformed)
	}
	// The library reads the first value of a repeated field while a signer
	// may have meant another: refuse the ambiguity.
	slices.SortFunc(fields, compareKeys)
	for i := 1; i < len(fields); i++ {
		if fields[i].key == fields[i-1].key {
			return nil, time.Time{}, fmt.Errorf("%w: repeated field", ErrMalformed)
		}
	}
	// The data-check-string order: whole "key=value" strings, as
	// init-data-golang sorts them. Usually the order by key already.
	slices.SortFunc(fields, comparePairs)

	var (
		hash     string
		authDate int64
		named    initDataFields
	)
	for _, f := range fields {
		switch f.key {
		case "hash":
			hash = f.value
		case "auth_date":
			authDate, err = strconv.ParseInt(f.value, 10, 64)
			if err != nil || authDate <= 0 {
				return nil, time.Time{}, fmt.Errorf("%w: auth_date is not a positive integer", ErrMalformed)
			}
		default:
			named.set(f)
		}
	}
	if authDate == 0 {
		return nil, time.Time{}, fmt.Errorf("%w: no auth_date", ErrMalformed)
	}

	if v.secretKey != nil {
		if err := s.checkHash(fields, hash); err != nil {
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

	d, err := named.decode(s, issued)
	if err != nil {
		return nil, time.Time{}, err
	}
	return d, expires, nil
}

// initDataFields are the values of the fields InitData is built from; empty
// when absent.
type initDataFields struct {
	user, receiver, chat                                      string
	chatType, chatInstance, startParam, queryID, canSendAfter string
}

func (n *initDataFields) set(f field) {
	switch f.key {
	case "user":
		n.user = f.value
	case "receiver":
		n.receiver = f.value
	case "chat":
		n.chat = f.value
	case "chat_type":
		n.chatType = f.value
	case "chat_instance":
		n.chatInstance = f.value
	case "start_param":
		n.startParam = f.value
	case "query_id":
		n.queryID = f.value
	case "can_send_after":
		n.canSendAfter = f.value
	}
}

// decode builds InitData from the verified fields. The JSON objects are
// decoded straight into our User and Chat, whose fields, JSON names and
// types are those of init-data-golang's models (so the same JSON is
// accepted and rejected). The library's Parse is not used: it re-encodes
// the whole query as JSON and so rejects a string field that happens to
// look like a JSON number (a query_id of digits), and it would parse the
// query a second time.
func (n *initDataFields) decode(s *scratch, authDate time.Time) (*InitData, error) {
	d := &InitData{
		ChatType:     n.chatType,
		ChatInstance: n.chatInstance,
		StartParam:   n.startParam,
		QueryID:      n.queryID,
		AuthDate:     authDate,
	}
	for _, f := range [...]struct {
		name, value string
		into        any
	}{{"user", n.user, &d.User}, {"receiver", n.receiver, &d.Receiver}, {"chat", n.chat, &d.Chat}} {
		if f.value == "" {
			continue
		}
		// json.Unmarshal keeps no reference to its input: decode from the
		// scratch buffer rather than a new []byte per field.
		s.buf = append(s.buf[:0], f.value...)
		if err := json.Unmarshal(s.buf, f.into); err != nil {
			return nil, fmt.Errorf("%w: %s is not a JSON object", ErrMalformed, f.name)
		}
	}
	if d.User.ID == 0 {
		return nil, ErrNoUser
	}
	if n.canSendAfter != "" {
		sec, err := strconv.ParseInt(n.canSendAfter, 10, 32)
		if err != nil || sec < 0 {
			return nil, fmt.Errorf("%w: can_send_after is not a number of seconds", ErrMalformed)
		}
		d.CanSendAfter = time.Duration(sec) * time.Second
	}
	return d, nil
}

// checkHash compares the hash with the HMAC of the data-check-string in
// constant time: the library's Validate compares hex strings with !=, so we
// compute the HMAC ourselves (same check string: every field but hash,
// "key=value", sorted, joined by "\n") and compare bytes with hmac.Equal.
// fields must be sorted by comparePairs.
func (s *scratch) checkHash(fields []field, hash string) error {
	if hash == "" {
		return fmt.Errorf("%w: no hash", ErrSignatureInvalid)
	}
	var got [sha256.Size]byte
	if !decodeHex(got[:], hash) {
		return fmt.Errorf("%w: hash is not 64 hex digits", ErrSignatureInvalid)
	}
	s.buf = appendDataCheckString(s.buf[:0], fields)
	s.mac.Reset()
	_, _ = s.mac.Write(s.buf)
	if !hmac.Equal(s.mac.Sum(s.sum[:0]), got[:]) {
		return ErrSignatureInvalid
	}
	return nil
}

// appendDataCheckString appends the data-check-string of fields (sorted by
// comparePairs) to dst: every field but hash as "key=value", joined by "\n".
func appendDataCheckString(dst []byte, fields []field) []byte {
	first := true
	for _, f := range fields {
		if f.key == "hash" {
			continue
		}
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = append(dst, f.key...)
		dst = append(dst, '=')
		dst = append(dst, f.value...)
	}
	return dst
}

// decodeHex decodes the hex string s into dst, which it must fill exactly,
// accepting what hex.DecodeString accepts (either case).
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// field is one "key=value" of init data, both unescaped.
type field struct{ key, value string }

// errSemicolon is url.ParseQuery's refusal of ';' (a separator before Go
// 1.17); never shown to clients.
var errSemicolon = errors.New("invalid semicolon separator in query")

// appendFields appends the fields of the query string raw to dst in the
// order they come, with the keys and values url.ParseQuery would give, and
// fails exactly when ParseQuery fails: a ';' anywhere, or a malformed %
// escape ("+" is a space). Empty segments ("a=1&&b=2") are skipped, a
// segment without "=" is a key with an empty value. Unlike ParseQuery it
// builds no map, and a key or value with nothing to unescape is a substring
// of raw (url.QueryUnescape returns its argument then).
//
// ParseQuery also refuses more than 10000 fields (GODEBUG
// urlmaxqueryparams); raw here is at most MaxInitDataLength bytes, which
// cannot hold that many.
func appendFields(dst []field, raw string) ([]field, error) {
	// ParseQuery refuses a segment that contains ';', and every byte of raw
	// is in some segment.
	if strings.IndexByte(raw, ';') >= 0 {
		return dst, errSemicolon
	}
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, val, _ := strings.Cut(seg, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return dst, err
		}
		if val, err = url.QueryUnescape(val); err != nil {
			return dst, err
		}
		dst = append(dst, field{key: k, value: val})
	}
	return dst, nil
}

// compareKeys orders fields by key.
func compareKeys(a, b field) int { return strings.Compare(a.key, b.key) }

// comparePairs orders fields as strings.Compare orders their "key=value"
// strings (the data-check-string order), without building them.
func comparePairs(a, b field) int {
	if a.key == b.key {
		return strings.Compare(a.value, b.value)
	}
	n := min(len(a.key), len(b.key))
	if c := strings.Compare(a.key[:n], b.key[:n]); c != 0 {
		return c
	}
	// One key is a prefix of the other (chat, chat_type): the shorter pair
	// goes on with '=', the longer with its next key byte.
	if len(a.key) < len(b.key) {
		if b.key[n] != '=' {
			return cmp.Compare('=', b.key[n])
		}
	} else if a.key[n] != '=' {
		return cmp.Compare(a.key[n], '=')
	}
	// The next byte is '=' on both sides (a key with an escaped '='):
	// rare enough to compare the built strings.
	return strings.Compare(a.key+"="+a.value, b.key+"="+b.value)
}
