package middleware

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	initdata "github.com/telegram-mini-apps/init-data-golang"
)

// authSentinels are the reasons Auth may give; every rejection must be one.
var authSentinels = []error{ErrMissing, ErrMalformed, ErrSignatureInvalid, ErrThirdPartyInvalid, ErrExpired, ErrFuture, ErrNoUser}

func checkAuthOutcome(t *testing.T, d *InitData, err error) {
	t.Helper()
	if err != nil {
		for _, s := range authSentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("rejection without a known reason: %v", err)
	}
	if d == nil || d.User.ID == 0 {
		t.Fatalf("accepted init data without a user: %+v", d)
	}
	if d.AuthDate.After(testNow.Add(DefaultFutureSkew)) || testNow.After(d.AuthDate.Add(DefaultMaxAge)) {
		t.Fatalf("accepted init data issued at %v, outside the window around %v", d.AuthDate, testNow)
	}
}

// FuzzAuthHeader feeds arbitrary Authorization headers to the verifier: it
// must never panic, every rejection must have a named reason, and whatever
// it accepts, init-data-golang's own HMAC check must accept too.
func FuzzAuthHeader(f *testing.F) {
	f.Add("tma " + signed(testToken, nil))
	f.Add("tma " + vectorThirdPartyInitData)
	f.Add("tma " + vectorHMACInitData)
	f.Add("tma user=%7B%22id%22%3A1%7D&auth_date=1&hash=00")
	f.Add("Bearer abc")
	f.Add("tma ")
	f.Add("tma a=%zz;b")
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow)}.newVerifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		d, err := v.verifyHeader(header)
		checkAuthOutcome(t, d, err)
		if err == nil {
			_, raw, _ := strings.Cut(header, " ")
			if lerr := initdata.Validate(raw, testToken, 0); lerr != nil {
				t.Fatalf("accepted init data that init-data-golang rejects: %v", lerr)
			}
		}
	})
}

// FuzzSignedInitData signs arbitrary fields with the test token and feeds
// them to the verifier, so that the fuzzer reaches the field decoding past
// the HMAC: no panic, never "signature invalid" for what SignValues signed,
// and init-data-golang agrees with the signature.
func FuzzSignedInitData(f *testing.F) {
	f.Add("user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Ada%22%7D&auth_date=1772600767")
	f.Add("user=%7B%22id%22%3A42%7D&auth_date=1772600767&chat=%7B%22id%22%3A-1%2C%22type%22%3A%22group%22%7D&can_send_after=5&start_param=123")
	f.Add("user=%5B1%5D&auth_date=1772600767")
	f.Add("user=null&auth_date=1772600767&receiver=%7B%7D")
	f.Add("auth_date=1772600767&signature=abc")
	f.Add("user=%7B%22id%22%3A42%7D&auth_date=99999999999999")
	f.Add("auth_date=-5&user=1")
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow)}.newVerifier()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, fields string) {
		q, err := url.ParseQuery(fields)
		if err != nil {
			return
		}
		raw := SignValues(testToken, q)
		d, err := v.verify(raw)
		checkAuthOutcome(t, d, err)
		if errors.Is(err, ErrSignatureInvalid) {
			t.Fatalf("SignValues output fails the HMAC check: %v", err)
		}
		if lerr := initdata.Validate(raw, testToken, 0); lerr != nil && !errors.Is(lerr, initdata.ErrAuthDateInvalid) {
			t.Fatalf("init-data-golang rejects SignValues output: %v", lerr)
		}
	})
}

// FuzzParseQuery holds the verifier's query parser to url.ParseQuery on
// arbitrary strings (same fields in the same order, or both reject), and
// its data-check-string to the plain one (pairs built, sorted, joined).
func FuzzParseQuery(f *testing.F) {
	f.Add("auth_date=1&hash=ab&user=%7B%22id%22%3A1%7D")
	f.Add("a=1;b=2")
	f.Add("a%3Db=1&a=2&a=")
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Count(raw, "&") >= 10000 {
			return // url.ParseQuery's limit on fields; Auth's inputs are far shorter
		}
		if fields := checkLikeParseQuery(t, raw); fields != nil {
			checkDataCheckString(t, fields)
		}
	})
}
