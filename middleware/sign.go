package middleware

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// SignInitData returns raw init data for user, issued at authDate and signed
// with the bot token the way Telegram signs it: what a Mini App would send
// after "tma ". It is meant for tests of apps that use Auth; it cannot add
// the Ed25519 signature (only Telegram holds that key).
func SignInitData(token string, user User, authDate time.Time) string {
	userJSON, _ := json.Marshal(user) // cannot fail: plain fields only
	return SignValues(token, url.Values{
		"auth_date": {strconv.FormatInt(authDate.Unix(), 10)},
		"user":      {string(userJSON)},
	})
}

// SignValues returns fields as raw init data with the hash of the bot token
// added (any "hash" in fields is replaced). Use it to build init data with
// other fields (chat, start_param, …) or none; fields is not modified. The
// first value of each field is used.
func SignValues(token string, fields url.Values) string {
	q := make(url.Values, len(fields)+1)
	pairs := make([]string, 0, len(fields))
	for k, v := range fields {
		if k == "hash" || len(v) == 0 {
			continue
		}
		q.Set(k, v[0])
		pairs = append(pairs, k+"="+v[0])
	}
	q.Set("hash", hex.EncodeToString(dataCheckHMAC(secretKeyFor(token), pairs)))
	return q.Encode()
}

// dataCheckHMAC sorts pairs ("key=value") and returns the HMAC-SHA256 of
// their "\n"-joined data-check-string. Pairs are sorted whole, as
// init-data-golang does. It is the plain form of what the verifier computes
// without building the pairs (scratch.checkHash); the tests hold one to the
// other.
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
