package middleware

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	initdata "github.com/telegram-mini-apps/init-data-golang"
)

// fieldsAsValues groups fields as url.ParseQuery would return them.
func fieldsAsValues(fields []field) url.Values {
	q := url.Values{}
	for _, f := range fields {
		q[f.key] = append(q[f.key], f.value)
	}
	return q
}

// checkLikeParseQuery fails unless appendFields and url.ParseQuery agree on
// raw: both reject it, or both give the same fields (and appendFields keeps
// their order).
func checkLikeParseQuery(t *testing.T, raw string) []field {
	t.Helper()
	fields, err := appendFields(nil, raw)
	want, wantErr := url.ParseQuery(raw)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("appendFields(%q) error %v, url.ParseQuery error %v", raw, err, wantErr)
	}
	if err != nil {
		return nil
	}
	if got := fieldsAsValues(fields); !reflect.DeepEqual(got, want) {
		t.Fatalf("appendFields(%q) = %q, url.ParseQuery = %q", raw, got, want)
	}
	return fields
}

// checkDataCheckString fails unless sorting fields with comparePairs and
// appendDataCheckString give the check string built the plain way: every
// "key=value" but hash, sorted as strings, joined by "\n".
func checkDataCheckString(t *testing.T, fields []field) {
	t.Helper()
	var pairs []string
	for _, f := range fields {
		if f.key != "hash" {
			pairs = append(pairs, f.key+"="+f.value)
		}
	}
	slices.Sort(pairs)
	sorted := slices.Clone(fields)
	slices.SortFunc(sorted, comparePairs)
	if got, want := string(appendDataCheckString(nil, sorted)), strings.Join(pairs, "\n"); got != want {
		t.Fatalf("data-check-string of %q:\n got %q\nwant %q", fields, got, want)
	}
}

func TestAppendFields(t *testing.T) {
	tests := []struct {
		name        string
		givenRaw    string
		expect      []field
		expectError bool
	}{
		{name: "ok, empty", givenRaw: ""},
		{name: "ok, order kept", givenRaw: "b=2&a=1", expect: []field{{"b", "2"}, {"a", "1"}}},
		{name: "ok, escapes and plus", givenRaw: "user=%7B%22a%22%3A1%7D&s=a+b%2Bc", expect: []field{{"user", `{"a":1}`}, {"s", "a b+c"}}},
		{name: "ok, escaped key", givenRaw: "a%3Db=1&%2B=2", expect: []field{{"a=b", "1"}, {"+", "2"}}},
		{name: "ok, empty segments skipped", givenRaw: "&a=1&&b=2&", expect: []field{{"a", "1"}, {"b", "2"}}},
		{name: "ok, no '=' is an empty value", givenRaw: "a&b=", expect: []field{{"a", ""}, {"b", ""}}},
		{name: "ok, empty key", givenRaw: "=x", expect: []field{{"", "x"}}},
		{name: "ok, '=' in the value", givenRaw: "a=b=c", expect: []field{{"a", "b=c"}}},
		{name: "ok, repeated key", givenRaw: "a=1&a=2", expect: []field{{"a", "1"}, {"a", "2"}}},
		{name: "ok, escaped NUL and UTF-8", givenRaw: "a=%00%C3%A9", expect: []field{{"a", "\x00é"}}},
		{name: "nok, semicolon", givenRaw: "a=1;b=2", expectError: true},
		{name: "nok, escaped semicolon is fine, raw one is not", givenRaw: "a=%3B&b=;", expectError: true},
		{name: "nok, semicolon in an otherwise empty segment", givenRaw: "a=1&;", expectError: true},
		{name: "nok, bad escape in a value", givenRaw: "a=%zz", expectError: true},
		{name: "nok, bad escape in a key", givenRaw: "%g0=1", expectError: true},
		{name: "nok, truncated escape", givenRaw: "a=1&b=%4", expectError: true},
		{name: "nok, lone percent", givenRaw: "a=%", expectError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appendFields(nil, tc.givenRaw)
			if tc.expectError {
				assert.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.expect, got)
			}
			checkLikeParseQuery(t, tc.givenRaw)
		})
	}
}

func TestComparePairs(t *testing.T) {
	tests := []struct {
		name  string
		given []field
	}{
		{name: "telegram fields", given: []field{{"user", "{}"}, {"chat_type", "private"}, {"chat", "{}"}, {"chat_instance", "1"}, {"auth_date", "1"}, {"signature", "x"}, {"query_id", "q"}}},
		{name: "a key that is a prefix of another", given: []field{{"ab", "1"}, {"a", "2"}, {"a!", "3"}, {"a_", "4"}}},
		{name: "keys with '='", given: []field{{"a=1", "y"}, {"a", "2"}, {"a", "1"}, {"a=", ""}, {"a", ""}, {"a==", "x"}}},
		{name: "equal pairs", given: []field{{"a", "1"}, {"a", "1"}, {"", ""}, {"", "="}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDataCheckString(t, tc.given)
		})
	}
}

// User and Chat are decoded straight from the init data JSON and must accept
// and reject what init-data-golang's models do: same JSON names, same kinds.
func TestModelsMatchLibrary(t *testing.T) {
	jsonFields := func(typ reflect.Type) map[string]reflect.Kind {
		m := map[string]reflect.Kind{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			m[name] = f.Type.Kind()
		}
		return m
	}
	assert.Equal(t, jsonFields(reflect.TypeFor[initdata.User]()), jsonFields(reflect.TypeFor[User]()))
	assert.Equal(t, jsonFields(reflect.TypeFor[initdata.Chat]()), jsonFields(reflect.TypeFor[Chat]()))
}

// The pooled HMAC state and buffers must not leak between concurrent
// verifications, nor between verifiers of different bots.
func TestVerifier_concurrent(t *testing.T) {
	const other = "654321:other-token"
	v1, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), CacheSize: -1}.newVerifier()
	require.NoError(t, err)
	v2, err := AuthConfig{BotToken: other, Now: fixedClock(testNow), CacheSize: -1}.newVerifier()
	require.NoError(t, err)
	valid1, valid2 := signed(testToken, nil), signed(other, nil)
	forged := reencode(t, valid1, func(q url.Values) { q.Set("start_param", "x") })

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				for n, c := range []struct {
					v       *verifier
					raw     string
					wantErr error
				}{{v1, valid1, nil}, {v2, valid2, nil}, {v1, valid2, ErrSignatureInvalid}, {v2, valid1, ErrSignatureInvalid}, {v1, forged, ErrSignatureInvalid}} {
					d, err := c.v.verify(c.raw)
					if !errors.Is(err, c.wantErr) || (err == nil && d.User != testUser) {
						errs <- fmt.Errorf("goroutine %d, iteration %d, case %d: got %v, want %v", g, i, n, err, c.wantErr)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
