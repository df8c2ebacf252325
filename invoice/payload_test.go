package invoice

import (
	"bytes"
	"encoding/base64"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testBotToken = "123456789:AAH-test-token-for-starsgate-tests-only"

func testCodec(t testing.TB) *Codec {
	t.Helper()
	c, err := NewCodec(KeyFromBotToken(testBotToken))
	require.NoError(t, err)
	return c
}

func testPayload() Payload {
	return Payload{
		ProductID: "premium_month",
		UserID:    279058397,
		IssuedAt:  time.Date(2026, 7, 14, 12, 30, 5, 0, time.UTC),
		Nonce:     [NonceSize]byte{1, 2, 3, 4, 5, 6, 7, 8},
	}
}

func TestKeyFromBotToken(t *testing.T) {
	k := KeyFromBotToken(testBotToken)
	require.Len(t, k, 32)
	assert.Equal(t, k, KeyFromBotToken(testBotToken), "derivation is deterministic")
	assert.NotEqual(t, k, KeyFromBotToken(testBotToken+"x"))
	assert.False(t, bytes.Contains(k, []byte(testBotToken[:10])), "key must not embed the token")
	assert.Nil(t, KeyFromBotToken(""))
}

func TestNewCodec(t *testing.T) {
	long := bytes.Repeat([]byte{7}, MinKeyLen)
	tests := []struct {
		name      string
		key       []byte
		previous  [][]byte
		expectErr error
	}{
		{name: "ok, 32-byte key", key: long},
		{name: "ok, derived key", key: KeyFromBotToken(testBotToken)},
		{name: "ok, with previous keys", key: long, previous: [][]byte{KeyFromBotToken("old")}},
		{name: "nok, nil key", key: nil, expectErr: ErrKeyTooShort},
		{name: "nok, 31-byte key", key: long[:31], expectErr: ErrKeyTooShort},
		{name: "nok, short previous key", key: long, previous: [][]byte{long[:8]}, expectErr: ErrKeyTooShort},
		{name: "nok, derived from empty token", key: KeyFromBotToken(""), expectErr: ErrKeyTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCodec(tt.key, tt.previous...)
			if tt.expectErr != nil {
				require.ErrorIs(t, err, tt.expectErr)
				assert.Nil(t, c)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, c)
		})
	}
}

func TestNewCodecCopiesKey(t *testing.T) {
	key := bytes.Repeat([]byte{9}, MinKeyLen)
	c, err := NewCodec(key)
	require.NoError(t, err)
	s, err := c.Encode(testPayload())
	require.NoError(t, err)
	key[0] ^= 0xff // caller reuses its buffer
	_, err = c.Decode(s)
	require.NoError(t, err)
}

func TestCodecRoundTrip(t *testing.T) {
	c := testCodec(t)
	tests := []struct {
		name  string
		given Payload
	}{
		{name: "ok, typical", given: testPayload()},
		{name: "ok, one-char product", given: Payload{ProductID: "a", UserID: 1, IssuedAt: time.Unix(0, 0), Nonce: [NonceSize]byte{1}}},
		{name: "ok, all allowed characters", given: Payload{ProductID: "abcdefghijklmnopqrstuvwxyz0123456789_-", UserID: 42, IssuedAt: time.Unix(1, 0), Nonce: [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
		{name: "ok, worst case sizes", given: Payload{ProductID: strings.Repeat("z", 64), UserID: math.MaxInt64, IssuedAt: time.Unix(math.MaxUint32, 0), Nonce: [NonceSize]byte{9, 9, 9, 9, 9, 9, 9, 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.Encode(tt.given)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(s, PayloadPrefix))

			got, err := c.Decode(s)
			require.NoError(t, err)
			assert.Equal(t, tt.given.ProductID, got.ProductID)
			assert.Equal(t, tt.given.UserID, got.UserID)
			assert.True(t, tt.given.IssuedAt.Equal(got.IssuedAt), "issued at %v, got %v", tt.given.IssuedAt, got.IssuedAt)
			assert.Equal(t, time.UTC, got.IssuedAt.Location())
			assert.Equal(t, tt.given.Nonce, got.Nonce)

			again, err := c.Encode(got)
			require.NoError(t, err)
			assert.Equal(t, s, again, "encoding is deterministic for fixed fields")

			verified, err := c.Verify(s, tt.given.UserID)
			require.NoError(t, err)
			assert.Equal(t, got, verified)
		})
	}
}

func TestCodecEncodeFillsDefaults(t *testing.T) {
	c := testCodec(t)
	before := time.Now().Truncate(time.Second)
	s1, err := c.Encode(Payload{ProductID: "credits_100", UserID: 7})
	require.NoError(t, err)
	s2, err := c.Encode(Payload{ProductID: "credits_100", UserID: 7})
	require.NoError(t, err)
	assert.NotEqual(t, s1, s2, "random nonces make payloads distinct")

	p, err := c.Decode(s1)
	require.NoError(t, err)
	assert.NotEqual(t, [NonceSize]byte{}, p.Nonce)
	assert.False(t, p.IssuedAt.Before(before), "issued at %v is before %v", p.IssuedAt, before)
	assert.False(t, p.IssuedAt.After(time.Now()), "issued at %v is in the future", p.IssuedAt)
}

func TestCodecEncodeInvalid(t *testing.T) {
	c := testCodec(t)
	ok := testPayload()
	tests := []struct {
		name   string
		modify func(p *Payload)
	}{
		{name: "nok, empty product", modify: func(p *Payload) { p.ProductID = "" }},
		{name: "nok, 65-char product", modify: func(p *Payload) { p.ProductID = strings.Repeat("a", 65) }},
		{name: "nok, upper case product", modify: func(p *Payload) { p.ProductID = "Premium" }},
		{name: "nok, dot in product", modify: func(p *Payload) { p.ProductID = "a.b" }},
		{name: "nok, non-ASCII product", modify: func(p *Payload) { p.ProductID = "prémium" }},
		{name: "nok, zero user", modify: func(p *Payload) { p.UserID = 0 }},
		{name: "nok, negative user", modify: func(p *Payload) { p.UserID = -100123 }},
		{name: "nok, issued before 1970", modify: func(p *Payload) { p.IssuedAt = time.Unix(-1, 0) }},
		{name: "nok, issued after 2106", modify: func(p *Payload) { p.IssuedAt = time.Unix(math.MaxUint32+1, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.modify(&p)
			s, err := c.Encode(p)
			require.ErrorIs(t, err, ErrPayloadInvalid)
			assert.Empty(t, s)
		})
	}
}

func TestCodecWorstCaseSize(t *testing.T) {
	c := testCodec(t)
	s, err := c.Encode(Payload{ProductID: strings.Repeat("-", 64), UserID: math.MaxInt64, IssuedAt: time.Unix(math.MaxUint32, 0)})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(s), MaxPayloadLen, "payload %q", s)
	assert.Equal(t, len(PayloadPrefix)+64+1+48, len(s))
	assert.True(t, utf8.ValidString(s))
	for i := 0; i < len(s); i++ {
		assert.True(t, isURLSafe(s[i]), "byte %d (%q) of %q is not URL-safe ASCII", i, s[i], s)
	}
}

func TestCodecPayloadsAreURLSafeASCII(t *testing.T) {
	c := testCodec(t)
	for i := 0; i < 200; i++ { // random nonces cover the base64 alphabet
		s, err := c.Encode(Payload{ProductID: "p", UserID: int64(i + 1)})
		require.NoError(t, err)
		require.True(t, utf8.ValidString(s))
		for j := 0; j < len(s); j++ {
			require.True(t, isURLSafe(s[j]), "byte %d of %q", j, s)
		}
	}
}

func isURLSafe(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.'
}

func TestCodecDecodeErrors(t *testing.T) {
	c := testCodec(t)
	good, err := c.Encode(testPayload())
	require.NoError(t, err)
	other, err := NewCodec(KeyFromBotToken("987654321:another-bot"))
	require.NoError(t, err)
	foreign, err := other.Encode(testPayload())
	require.NoError(t, err)
	// Same fields and tag, product swapped: the tag covers the product.
	swapped := strings.Replace(good, "premium_month", "premium_years", 1)
	// Authentic tag over a user ID of 0, which Encode never issues.
	zeroUser := signRaw(t, c, "p", 0)

	tests := []struct {
		name      string
		given     string
		expectErr error
	}{
		{name: "nok, empty", given: "", expectErr: ErrPayloadNotOurs},
		{name: "nok, other feature's payload", given: "order:12345", expectErr: ErrPayloadNotOurs},
		{name: "nok, JSON payload", given: `{"product":"premium_month","user":1}`, expectErr: ErrPayloadNotOurs},
		{name: "nok, future version", given: "sg2." + good[len(PayloadPrefix):], expectErr: ErrPayloadNotOurs},
		{name: "nok, upper-case prefix", given: strings.ToUpper(good[:3]) + good[3:], expectErr: ErrPayloadNotOurs},
		{name: "nok, long foreign payload", given: strings.Repeat("x", 4096), expectErr: ErrPayloadNotOurs},
		{name: "nok, prefix only", given: PayloadPrefix, expectErr: ErrPayloadMalformed},
		{name: "nok, over 128 bytes", given: good + strings.Repeat("A", MaxPayloadLen), expectErr: ErrPayloadMalformed},
		{name: "nok, appended base64", given: good + "AAAA", expectErr: ErrPayloadMalformed},
		{name: "nok, appended dot", given: good + ".", expectErr: ErrPayloadMalformed},
		{name: "nok, appended character", given: good + "x", expectErr: ErrPayloadMalformed},
		{name: "nok, padding added", given: good[:len(good)-1] + "=", expectErr: ErrPayloadMalformed},
		{name: "nok, standard base64 alphabet", given: good[:len(good)-1] + "+", expectErr: ErrPayloadMalformed},
		{name: "nok, newline inside base64", given: good[:len(good)-1] + "\n", expectErr: ErrPayloadMalformed},
		{name: "nok, empty product", given: PayloadPrefix + good[strings.LastIndexByte(good, '.'):], expectErr: ErrPayloadMalformed},
		{name: "nok, user ID zero under a valid tag", given: zeroUser, expectErr: ErrPayloadMalformed},
		{name: "nok, signed with another key", given: foreign, expectErr: ErrPayloadForged},
		{name: "nok, product swapped", given: swapped, expectErr: ErrPayloadForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.Decode(tt.given)
			require.ErrorIs(t, err, tt.expectErr)
			assert.Equal(t, Payload{}, p)
			_, err = c.Verify(tt.given, testPayload().UserID)
			require.ErrorIs(t, err, tt.expectErr)
		})
	}
}

// signRaw builds a payload with a correct tag over arbitrary fields,
// bypassing Encode's checks.
func signRaw(t *testing.T, c *Codec, productID string, userID int64) string {
	t.Helper()
	st := c.keys[0].Get().(*macState)
	defer c.keys[0].Put(st)
	text := PayloadPrefix + productID + "."
	st.blob = [blobLen]byte{}
	st.blob[7] = byte(userID)
	copy(st.blob[fieldsLen:], st.mac([]byte(text)))
	var out [blobTextLen]byte
	base64.RawURLEncoding.Encode(out[:], st.blob[:])
	return text + string(out[:])
}

func TestCodecVerifyWrongUser(t *testing.T) {
	c := testCodec(t)
	want := testPayload()
	s, err := c.Encode(want)
	require.NoError(t, err)

	p, err := c.Verify(s, want.UserID+1)
	require.ErrorIs(t, err, ErrPayloadWrongUser)
	assert.Equal(t, want.UserID, p.UserID, "the decoded payload comes back for logging")
	assert.Equal(t, want.ProductID, p.ProductID)

	_, err = c.Verify(s, -want.UserID)
	require.ErrorIs(t, err, ErrPayloadWrongUser)
	_, err = c.Verify(s, 0)
	require.ErrorIs(t, err, ErrPayloadWrongUser)
}

// Every byte of a valid payload replaced by every other byte value: the
// result never verifies, and the error says why.
func TestCodecEveryByteTampered(t *testing.T) {
	c := testCodec(t)
	for _, given := range []Payload{testPayload(), {ProductID: strings.Repeat("q", 64), UserID: math.MaxInt64, IssuedAt: time.Unix(1e9, 0)}} {
		good, err := c.Encode(given)
		require.NoError(t, err)
		dot := strings.LastIndexByte(good, '.')
		for i := 0; i < len(good); i++ {
			for v := 0; v < 256; v++ {
				if byte(v) == good[i] {
					continue
				}
				bad := []byte(good)
				bad[i] = byte(v)
				var want error
				switch {
				case i < len(PayloadPrefix):
					want = ErrPayloadNotOurs
				case i < dot && validProductID(string(bad[i])):
					want = ErrPayloadForged
				case i > dot && isBase64URL(byte(v)):
					want = ErrPayloadForged
				default:
					want = ErrPayloadMalformed
				}
				_, err := c.Verify(string(bad), given.UserID)
				if !assert.ErrorIs(t, err, want, "byte %d set to %#x in %q", i, v, good) {
					return
				}
			}
		}
	}
}

func isBase64URL(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

func TestCodecEveryTruncation(t *testing.T) {
	c := testCodec(t)
	good, err := c.Encode(Payload{ProductID: strings.Repeat("m", 64), UserID: 5})
	require.NoError(t, err)
	for n := 0; n < len(good); n++ {
		want := ErrPayloadMalformed
		if n < len(PayloadPrefix) {
			want = ErrPayloadNotOurs
		}
		_, err := c.Decode(good[:n])
		require.ErrorIs(t, err, want, "truncated to %d bytes: %q", n, good[:n])
	}
}

func TestCodecKeyRotation(t *testing.T) {
	oldKey := KeyFromBotToken("111:old-token")
	newKey := KeyFromBotToken("111:new-token")
	oldCodec, err := NewCodec(oldKey)
	require.NoError(t, err)
	rotated, err := NewCodec(newKey, oldKey)
	require.NoError(t, err)
	newOnly, err := NewCodec(newKey)
	require.NoError(t, err)

	s, err := oldCodec.Encode(testPayload())
	require.NoError(t, err)
	p, err := rotated.Verify(s, testPayload().UserID)
	require.NoError(t, err, "a renewal under the old key still verifies")
	assert.Equal(t, testPayload().ProductID, p.ProductID)
	_, err = newOnly.Decode(s)
	require.ErrorIs(t, err, ErrPayloadForged)

	fresh, err := rotated.Encode(testPayload())
	require.NoError(t, err)
	_, err = newOnly.Decode(fresh)
	require.NoError(t, err, "new payloads are signed with the first key")
	_, err = oldCodec.Decode(fresh)
	require.ErrorIs(t, err, ErrPayloadForged)
}

func TestCodecConcurrent(t *testing.T) {
	c := testCodec(t)
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				want := Payload{ProductID: "p", UserID: int64(g*1000 + i + 1)}
				s, err := c.Encode(want)
				if err != nil {
					done <- err
					return
				}
				if _, err := c.Verify(s, want.UserID); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		require.NoError(t, <-done)
	}
}

func FuzzDecode(f *testing.F) {
	c := testCodec(f)
	for _, p := range []Payload{testPayload(), {ProductID: strings.Repeat("z", 64), UserID: math.MaxInt64, IssuedAt: time.Unix(math.MaxUint32, 0), Nonce: [NonceSize]byte{1}}} {
		s, err := c.Encode(p)
		require.NoError(f, err)
		f.Add(s)
	}
	f.Add("")
	f.Add(PayloadPrefix)
	f.Add("sg1.a.")
	f.Add("order:12345")
	f.Add("sg1.p." + strings.Repeat("A", blobTextLen))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := c.Decode(s)
		if err != nil {
			if p != (Payload{}) {
				t.Fatalf("error %v with non-zero payload %+v", err, p)
			}
			return
		}
		again, err := c.Encode(p)
		if err != nil {
			t.Fatalf("decoded %q to %+v which does not encode: %v", s, p, err)
		}
		if again != s {
			t.Fatalf("decoded %q, re-encoded %q", s, again)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	c := testCodec(b)
	p := testPayload()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	c := testCodec(b)
	s, err := c.Encode(testPayload())
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Verify(s, testPayload().UserID); err != nil {
			b.Fatal(err)
		}
	}
}
