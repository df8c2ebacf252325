package invoice

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"strings"
	"sync"
	"time"
)

// Payload format, version 1:
//
//	sg1.<product id>.<base64url(user id | issued at | nonce | tag)>
//
// The product ID is already URL-safe ASCII ([a-z0-9_-]), so it is carried as
// is; the fixed-size binary fields are 8 (user ID, big-endian) + 4 (issue
// time, Unix seconds, unsigned) + 8 (nonce) + 16 (tag) = 36 bytes, exactly 48
// base64url characters with no padding bits. The worst case, a 64-character
// product ID, is 4 + 64 + 1 + 48 = 117 bytes, inside Telegram's 128-byte
// limit. Every byte is ASCII, so the payload is valid UTF-8.
//
// The tag is HMAC-SHA256 over "sg1.<product id>." followed by the 20 binary
// field bytes, truncated to 128 bits. '.' cannot occur in a product ID and
// the fields have fixed sizes, so the MAC input is unambiguous. 128 bits is
// far above the 96-bit floor and the budget has room for it: a forger gets
// one online guess per pre-checkout query, each succeeding with
// probability 2^-128.
//
// There is no expiry: subscriptions renew with the original payload every
// period, so an expiring payload would break renewals. IssuedAt is
// informational.
const (
	// PayloadPrefix starts every payload this package issues. Payloads
	// without it are someone else's ([ErrPayloadNotOurs]).
	PayloadPrefix = "sg1."
	// MaxPayloadLen is Telegram's limit on an invoice payload, in bytes.
	MaxPayloadLen = 128
	// NonceSize is the size of [Payload.Nonce] in bytes.
	NonceSize = 8
	// MinKeyLen is the minimum length of a codec key in bytes.
	MinKeyLen = 32
	// KeyLabel is the HKDF info string of [KeyFromBotToken].
	KeyLabel = "starsgate/invoice-payload/v1"

	maxProductIDLen = 64
	tagSize         = 16
	fieldsLen       = 8 + 4 + NonceSize
	blobLen         = fieldsLen + tagSize
	blobTextLen     = blobLen / 3 * 4 // 36 is a multiple of 3: no padding bits
)

// Payload is what an invoice payload carries.
type Payload struct {
	// ProductID is the catalog ID of the product, [a-z0-9_-]{1,64}.
	ProductID string
	// UserID is the Telegram user the invoice was created for (> 0).
	UserID int64
	// IssuedAt is when the invoice was created, to the second. Encode uses
	// the current time when it is zero.
	IssuedAt time.Time
	// Nonce makes two invoices for the same user, product and second
	// distinct. Encode fills it from crypto/rand when it is all zero.
	Nonce [NonceSize]byte
}

// Codec encodes and authenticates invoice payloads. It is safe for
// concurrent use.
type Codec struct {
	keys []*sync.Pool // of *macState; keys[0] signs, all verify
}

// macState is per-call scratch space. Keeping the buffers here rather than on
// the stack avoids an allocation per call: slices written to a hash.Hash
// escape.
type macState struct {
	h    hash.Hash
	sum  [sha256.Size]byte
	text [MaxPayloadLen]byte
	blob [blobLen]byte
}

// NewCodec returns a codec that signs with key and also accepts payloads
// signed with any of previous (for key rotation: subscriptions keep their
// original payload for as long as they renew). Every key must be at least
// [MinKeyLen] bytes; the keys are copied.
func NewCodec(key []byte, previous ...[]byte) (*Codec, error) {
	all := append([][]byte{key}, previous...)
	c := &Codec{keys: make([]*sync.Pool, len(all))}
	for i, k := range all {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("%w: key %d has %d bytes, need %d", ErrKeyTooShort, i, len(k), MinKeyLen)
		}
		k := append([]byte(nil), k...)
		c.keys[i] = &sync.Pool{New: func() any {
			return &macState{h: hmac.New(sha256.New, k)}
		}}
	}
	return c, nil
}

// KeyFromBotToken derives a 32-byte payload key from a bot token with HKDF
// (RFC 5869, SHA-256, info [KeyLabel]), so the token itself never keys the
// MAC and the key is useless for anything else. It returns nil for an empty
// token, which [NewCodec] refuses.
//
// A token can be revoked and replaced; payloads signed under the old one
// then fail to verify unless the old key is passed to NewCodec as a previous
// key. A configured secret of its own avoids that coupling.
func KeyFromBotToken(token string) []byte {
	if token == "" {
		return nil
	}
	key, err := hkdf.Key(sha256.New, []byte(token), nil, KeyLabel, 32)
	if err != nil { // only for lengths above 255*32 bytes
		return nil
	}
	return key
}

// Encode returns the signed payload string for p, at most [MaxPayloadLen]
// bytes of URL-safe ASCII. A zero IssuedAt becomes the current time and a
// zero Nonce a random one. Invalid fields give [ErrPayloadInvalid].
func (c *Codec) Encode(p Payload) (string, error) {
	if !validProductID(p.ProductID) {
		return "", fmt.Errorf("%w: product ID must match [a-z0-9_-]{1,64}", ErrPayloadInvalid)
	}
	if p.UserID <= 0 {
		return "", fmt.Errorf("%w: user ID must be positive", ErrPayloadInvalid)
	}
	if p.IssuedAt.IsZero() {
		p.IssuedAt = time.Now()
	}
	sec := p.IssuedAt.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return "", fmt.Errorf("%w: issue time out of range", ErrPayloadInvalid)
	}
	if p.Nonce == [NonceSize]byte{} {
		if _, err := rand.Read(p.Nonce[:]); err != nil {
			return "", fmt.Errorf("invoice: nonce: %w", err)
		}
	}

	pool := c.keys[0]
	st := pool.Get().(*macState)
	defer pool.Put(st)

	n := copy(st.text[:], PayloadPrefix)
	n += copy(st.text[n:], p.ProductID)
	st.text[n] = '.'
	n++
	binary.BigEndian.PutUint64(st.blob[0:8], uint64(p.UserID))
	binary.BigEndian.PutUint32(st.blob[8:12], uint32(sec))
	copy(st.blob[12:fieldsLen], p.Nonce[:])
	copy(st.blob[fieldsLen:], st.mac(st.text[:n]))
	base64.RawURLEncoding.Encode(st.text[n:], st.blob[:])
	return string(st.text[:n+blobTextLen]), nil
}

// Decode parses s and checks its tag in constant time. The errors are
// [ErrPayloadNotOurs], [ErrPayloadMalformed] and [ErrPayloadForged]. The
// returned ProductID shares memory with s.
func (c *Codec) Decode(s string) (Payload, error) {
	if !strings.HasPrefix(s, PayloadPrefix) {
		return Payload{}, ErrPayloadNotOurs
	}
	if len(s) > MaxPayloadLen {
		return Payload{}, fmt.Errorf("%w: longer than %d bytes", ErrPayloadMalformed, MaxPayloadLen)
	}
	rest := s[len(PayloadPrefix):]
	dot := strings.IndexByte(rest, '.')
	if dot < 0 {
		return Payload{}, fmt.Errorf("%w: no product ID separator", ErrPayloadMalformed)
	}
	productID, text := rest[:dot], rest[dot+1:]
	if !validProductID(productID) {
		return Payload{}, fmt.Errorf("%w: bad product ID", ErrPayloadMalformed)
	}
	if len(text) != blobTextLen {
		return Payload{}, fmt.Errorf("%w: wrong length", ErrPayloadMalformed)
	}
	// 48 characters decode to exactly 36 bytes with no spare bits, so a
	// successful decode is canonical; n catches the \r and \n the decoder
	// skips.
	var raw [blobTextLen]byte
	var blob [blobLen]byte
	copy(raw[:], text)
	if n, err := base64.RawURLEncoding.Decode(blob[:], raw[:]); err != nil || n != blobLen {
		return Payload{}, fmt.Errorf("%w: bad encoding", ErrPayloadMalformed)
	}

	signed := s[:len(PayloadPrefix)+dot+1]
	for _, pool := range c.keys {
		st := pool.Get().(*macState)
		st.blob = blob
		n := copy(st.text[:], signed)
		ok := hmac.Equal(st.mac(st.text[:n])[:tagSize], blob[fieldsLen:])
		pool.Put(st)
		if ok {
			return parseFields(productID, &blob)
		}
	}
	return Payload{}, ErrPayloadForged
}

// Verify decodes s and checks that it was issued to userID, the user the
// payment comes from. On [ErrPayloadWrongUser] the decoded payload is
// returned too, for logging.
func (c *Codec) Verify(s string, userID int64) (Payload, error) {
	p, err := c.Decode(s)
	if err != nil {
		return Payload{}, err
	}
	if p.UserID != userID {
		return p, ErrPayloadWrongUser
	}
	return p, nil
}

// mac returns HMAC(text || fields) for the blob's fields.
func (st *macState) mac(text []byte) []byte {
	st.h.Reset()
	st.h.Write(text)
	st.h.Write(st.blob[:fieldsLen])
	return st.h.Sum(st.sum[:0])
}

func parseFields(productID string, blob *[blobLen]byte) (Payload, error) {
	user := int64(binary.BigEndian.Uint64(blob[0:8]))
	if user <= 0 { // authentic but never issued by Encode
		return Payload{}, fmt.Errorf("%w: bad user ID", ErrPayloadMalformed)
	}
	p := Payload{
		ProductID: productID,
		UserID:    user,
		IssuedAt:  time.Unix(int64(binary.BigEndian.Uint32(blob[8:12])), 0).UTC(),
	}
	copy(p.Nonce[:], blob[12:fieldsLen])
	return p, nil
}

func validProductID(id string) bool {
	if len(id) == 0 || len(id) > maxProductIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}
