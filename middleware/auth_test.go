package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	valid := signed(testToken, nil)
	vectorAt := func(sec int64, d time.Duration) func(*AuthConfig) {
		return func(cfg *AuthConfig) { cfg.Now = fixedClock(time.Unix(sec, 0).Add(d)) }
	}
	thirdPartyOnly := func(test bool) func(*AuthConfig) {
		return func(cfg *AuthConfig) {
			cfg.BotToken, cfg.ThirdParty, cfg.BotID, cfg.TestEnvironment = "", true, vectorBotID, test
			cfg.Now = fixedClock(time.Unix(vectorThirdPartyAuthDate, 0).Add(time.Minute))
		}
	}

	tests := []struct {
		name         string
		whenConfig   func(*AuthConfig)
		givenHeader  string
		expectUserID int64
		expectErr    error
		// expectErrText, when set, must be in the error's text.
		expectErrText string
	}{
		{name: "ok, valid", givenHeader: "tma " + valid, expectUserID: testUser.ID},
		{name: "ok, scheme is case-insensitive", givenHeader: "TMA " + valid, expectUserID: testUser.ID},
		{
			name:         "ok, auth_date exactly MaxAge ago",
			whenConfig:   func(cfg *AuthConfig) { cfg.Now = fixedClock(testNow.Add(DefaultMaxAge)) },
			givenHeader:  "tma " + valid,
			expectUserID: testUser.ID,
		},
		{
			name:         "ok, auth_date ahead within FutureSkew",
			whenConfig:   func(cfg *AuthConfig) { cfg.Now = fixedClock(testNow.Add(-DefaultFutureSkew)) },
			givenHeader:  "tma " + valid,
			expectUserID: testUser.ID,
		},
		{
			name:         "ok, configured MaxAge",
			whenConfig:   func(cfg *AuthConfig) { cfg.MaxAge, cfg.Now = time.Hour, fixedClock(testNow.Add(59*time.Minute)) },
			givenHeader:  "tma " + valid,
			expectUserID: testUser.ID,
		},
		{
			name:         "ok, init-data-golang HMAC vector",
			whenConfig:   func(cfg *AuthConfig) { cfg.BotToken = vectorToken; vectorAt(vectorHMACAuthDate, time.Hour)(cfg) },
			givenHeader:  "tma " + vectorHMACInitData,
			expectUserID: 279058397,
		},
		{
			name:         "ok, cache disabled",
			whenConfig:   func(cfg *AuthConfig) { cfg.CacheSize = -1 },
			givenHeader:  "tma " + valid,
			expectUserID: testUser.ID,
		},
		{
			name: "ok, signature field is part of the HMAC check string",
			givenHeader: "tma " + signed(testToken, func(q url.Values) {
				q.Set("signature", "zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ")
			}),
			expectUserID: testUser.ID,
		},
		{
			name:         "ok, query_id of digits",
			givenHeader:  "tma " + signed(testToken, func(q url.Values) { q.Set("query_id", "12345") }),
			expectUserID: testUser.ID,
		},
		{
			name:          "nok, can_send_after not a number",
			givenHeader:   "tma " + signed(testToken, func(q url.Values) { q.Set("can_send_after", "soon") }),
			expectErr:     ErrMalformed,
			expectErrText: "can_send_after",
		},
		{name: "nok, empty header", givenHeader: "", expectErr: ErrMissing},
		{name: "nok, scheme without init data", givenHeader: "tma", expectErr: ErrMissing},
		{name: "nok, wrong scheme", givenHeader: "Bearer " + valid, expectErr: ErrMalformed},
		{name: "nok, no scheme", givenHeader: valid, expectErr: ErrMalformed},
		{
			name:          "nok, huge header",
			givenHeader:   "tma " + signed(testToken, func(q url.Values) { q.Set("start_param", strings.Repeat("x", MaxInitDataLength)) }),
			expectErr:     ErrMalformed,
			expectErrText: "longer than 8192 bytes",
		},
		{name: "nok, not a query string", givenHeader: "tma user=%zz&auth_date=1", expectErr: ErrMalformed},
		{name: "nok, repeated field", givenHeader: "tma " + valid + "&user=%7B%22id%22%3A1%7D", expectErr: ErrMalformed, expectErrText: "repeated field"},
		{
			name:        "nok, auth_date missing",
			givenHeader: "tma " + signed(testToken, func(q url.Values) { q.Del("auth_date") }),
			expectErr:   ErrMalformed,
		},
		{
			name:        "nok, auth_date not a number",
			givenHeader: "tma " + signed(testToken, func(q url.Values) { q.Set("auth_date", "yesterday") }),
			expectErr:   ErrMalformed,
		},
		{
			name:          "nok, user is not JSON",
			givenHeader:   "tma " + signed(testToken, func(q url.Values) { q.Set("user", "{id:42") }),
			expectErr:     ErrMalformed,
			expectErrText: "user is not a JSON object",
		},
		{
			name:        "nok, tampered hash",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) { q.Set("hash", flipHex(q.Get("hash"))) }),
			expectErr:   ErrSignatureInvalid,
		},
		{
			name:        "nok, hash is not hex",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) { q.Set("hash", strings.Repeat("z", 64)) }),
			expectErr:   ErrSignatureInvalid,
		},
		{
			name:        "nok, hash missing",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) { q.Del("hash") }),
			expectErr:   ErrSignatureInvalid,
		},
		{
			name: "nok, user changed after signing",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) {
				q.Set("user", strings.Replace(q.Get("user"), `"id":42`, `"id":43`, 1))
			}),
			expectErr: ErrSignatureInvalid,
		},
		{
			name:        "nok, auth_date changed after signing",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) { q.Set("auth_date", strconv.FormatInt(testNow.Unix()+1, 10)) }),
			expectErr:   ErrSignatureInvalid,
		},
		{
			name:        "nok, field added after signing",
			givenHeader: "tma " + reencode(t, valid, func(q url.Values) { q.Set("start_param", "ref_1") }),
			expectErr:   ErrSignatureInvalid,
		},
		{name: "nok, wrong token", givenHeader: "tma " + signed("123456:another-token", nil), expectErr: ErrSignatureInvalid},
		{
			name:        "nok, expired",
			whenConfig:  func(cfg *AuthConfig) { cfg.Now = fixedClock(testNow.Add(DefaultMaxAge + time.Second)) },
			givenHeader: "tma " + valid,
			expectErr:   ErrExpired,
		},
		{
			name:        "nok, expired under configured MaxAge",
			whenConfig:  func(cfg *AuthConfig) { cfg.MaxAge, cfg.Now = time.Hour, fixedClock(testNow.Add(61*time.Minute)) },
			givenHeader: "tma " + valid,
			expectErr:   ErrExpired,
		},
		{
			name:        "nok, future beyond FutureSkew",
			whenConfig:  func(cfg *AuthConfig) { cfg.Now = fixedClock(testNow.Add(-DefaultFutureSkew - time.Second)) },
			givenHeader: "tma " + valid,
			expectErr:   ErrFuture,
		},
		{
			name:        "nok, init-data-golang HMAC vector expired",
			whenConfig:  func(cfg *AuthConfig) { cfg.BotToken = vectorToken; vectorAt(vectorHMACAuthDate, 25*time.Hour)(cfg) },
			givenHeader: "tma " + vectorHMACInitData,
			expectErr:   ErrExpired,
		},
		{
			name:        "nok, missing user",
			givenHeader: "tma " + signed(testToken, func(q url.Values) { q.Del("user") }),
			expectErr:   ErrNoUser,
		},
		{
			name:        "nok, user without id",
			givenHeader: "tma " + signed(testToken, func(q url.Values) { q.Set("user", `{"first_name":"Ada"}`) }),
			expectErr:   ErrNoUser,
		},
		{
			name:         "ok, third-party only, production key (Ed25519 vector)",
			whenConfig:   thirdPartyOnly(false),
			givenHeader:  "tma " + vectorThirdPartyInitData,
			expectUserID: 279058397,
		},
		{
			name: "ok, third-party only, real clock and a MaxAge of a century",
			whenConfig: func(cfg *AuthConfig) {
				thirdPartyOnly(false)(cfg)
				cfg.Now, cfg.MaxAge = nil, 100*365*24*time.Hour
			},
			givenHeader:  "tma " + vectorThirdPartyInitData,
			expectUserID: 279058397,
		},
		{
			name:        "nok, third-party only, test key",
			whenConfig:  thirdPartyOnly(true),
			givenHeader: "tma " + vectorThirdPartyInitData,
			expectErr:   ErrThirdPartyInvalid,
		},
		{
			name:        "nok, third-party only, another bot ID",
			whenConfig:  func(cfg *AuthConfig) { thirdPartyOnly(false)(cfg); cfg.BotID = vectorBotID + 1 },
			givenHeader: "tma " + vectorThirdPartyInitData,
			expectErr:   ErrThirdPartyInvalid,
		},
		{
			name:        "nok, third-party only, field changed after signing",
			whenConfig:  thirdPartyOnly(false),
			givenHeader: "tma " + reencode(t, vectorThirdPartyInitData, func(q url.Values) { q.Set("chat_type", "group") }),
			expectErr:   ErrThirdPartyInvalid,
		},
		{
			name:          "nok, third-party only, signature missing",
			whenConfig:    thirdPartyOnly(false),
			givenHeader:   "tma " + reencode(t, vectorThirdPartyInitData, func(q url.Values) { q.Del("signature") }),
			expectErr:     ErrThirdPartyInvalid,
			expectErrText: "no signature",
		},
		{
			name: "nok, third-party only, expired at the default MaxAge",
			whenConfig: func(cfg *AuthConfig) {
				thirdPartyOnly(false)(cfg)
				vectorAt(vectorThirdPartyAuthDate, 25*time.Hour)(cfg)
			},
			givenHeader: "tma " + vectorThirdPartyInitData,
			expectErr:   ErrExpired,
		},
		{
			name:        "nok, token and third-party, no Ed25519 signature",
			whenConfig:  func(cfg *AuthConfig) { cfg.ThirdParty = true },
			givenHeader: "tma " + valid,
			expectErr:   ErrThirdPartyInvalid,
		},
		{
			name:        "nok, token and third-party, Telegram-signed data of another token",
			whenConfig:  func(cfg *AuthConfig) { thirdPartyOnly(false)(cfg); cfg.BotToken = "7342037359:not-the-real-token" },
			givenHeader: "tma " + vectorThirdPartyInitData,
			expectErr:   ErrSignatureInvalid,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := &recordErrors{}
			cfg := AuthConfig{BotToken: testToken, Now: fixedClock(testNow), ErrorHandler: errs.handle}
			if tc.whenConfig != nil {
				tc.whenConfig(&cfg)
			}
			mw, err := cfg.ToMiddleware()
			require.NoError(t, err)
			e := echo.New()
			e.GET("/me", func(c echo.Context) error {
				u, ok := UserFrom(c)
				if !ok {
					return errors.New("no user behind Auth")
				}
				return c.JSON(http.StatusOK, u)
			}, mw)

			// Twice: the second answer may come from the cache and must agree.
			for i := range 2 {
				rec := serve(e, "/me", tc.givenHeader)
				if tc.expectErr == nil {
					require.Equal(t, http.StatusOK, rec.Code, "request %d: %s", i, rec.Body.String())
					var u User
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
					assert.Equal(t, tc.expectUserID, u.ID)
					assert.Empty(t, errs.errs)
					continue
				}
				require.Equal(t, http.StatusUnauthorized, rec.Code, "request %d: %s", i, rec.Body.String())
				body := decodeError(t, rec)
				assert.Equal(t, "unauthorized", body["code"])
				assert.NotEmpty(t, body["message"])
				require.Len(t, errs.errs, i+1)
				var authErr *AuthError
				require.ErrorAs(t, errs.last(), &authErr)
				assert.ErrorIs(t, errs.last(), tc.expectErr)
				assert.Contains(t, errs.last().Error(), tc.expectErrText)
			}
		})
	}
}

// flipHex changes the last hex digit of h.
func flipHex(h string) string {
	last := h[len(h)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return h[:len(h)-1] + string(repl)
}

func TestAuth_parsedFields(t *testing.T) {
	raw := signed(testToken, func(q url.Values) {
		q.Set("chat", `{"id":-100123,"type":"supergroup","title":"Fans","username":"fans"}`)
		q.Set("chat_type", "supergroup")
		q.Set("chat_instance", "-8134722200314281151")
		q.Set("start_param", "12345") // digits stay a string
		q.Set("can_send_after", "30")
		q.Set("receiver", `{"id":7,"first_name":"Bot","is_bot":true}`)
	})
	v, err := AuthConfig{BotToken: testToken, Now: fixedClock(testNow)}.newVerifier()
	require.NoError(t, err)
	d, err := v.verify(raw)
	require.NoError(t, err)
	assert.Equal(t, &InitData{
		User:         testUser,
		Receiver:     User{ID: 7, FirstName: "Bot", IsBot: true},
		Chat:         Chat{ID: -100123, Type: "supergroup", Title: "Fans", Username: "fans"},
		ChatType:     "supergroup",
		ChatInstance: "-8134722200314281151",
		StartParam:   "12345",
		QueryID:      "AAHdF6IQAAAAAN0XohDhrOrc",
		AuthDate:     time.Unix(testNow.Unix(), 0),
		CanSendAfter: 30 * time.Second,
	}, d)
}

func TestAuthConfig_ToMiddleware(t *testing.T) {
	tests := []struct {
		name        string
		givenConfig AuthConfig
		expectErr   string
		expectBotID int64
	}{
		{name: "ok, token", givenConfig: AuthConfig{BotToken: testToken}, expectBotID: testBotID},
		{name: "ok, token without an ID", givenConfig: AuthConfig{BotToken: "sandbox-token"}},
		{name: "ok, third-party only", givenConfig: AuthConfig{ThirdParty: true, BotID: 7}, expectBotID: 7},
		{name: "ok, third-party, ID from the token", givenConfig: AuthConfig{BotToken: testToken, ThirdParty: true}, expectBotID: testBotID},
		{name: "ok, matching BotID", givenConfig: AuthConfig{BotToken: testToken, BotID: testBotID}, expectBotID: testBotID},
		{name: "nok, nothing to check", givenConfig: AuthConfig{}, expectErr: "BotToken is required"},
		{name: "nok, third-party without bot ID", givenConfig: AuthConfig{ThirdParty: true}, expectErr: "ThirdParty needs BotID"},
		{name: "nok, third-party, token without an ID", givenConfig: AuthConfig{ThirdParty: true, BotToken: "secret-only"}, expectErr: "ThirdParty needs BotID"},
		{name: "nok, BotID not the token's", givenConfig: AuthConfig{BotToken: testToken, BotID: 99}, expectErr: "BotID 99 is not the ID in BotToken"},
		{name: "nok, negative BotID", givenConfig: AuthConfig{ThirdParty: true, BotID: -1}, expectErr: "BotID must be positive"},
		{name: "nok, negative MaxAge", givenConfig: AuthConfig{BotToken: testToken, MaxAge: -time.Second}, expectErr: "must not be negative"},
		{name: "nok, negative FutureSkew", givenConfig: AuthConfig{BotToken: testToken, FutureSkew: -time.Second}, expectErr: "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := tc.givenConfig.ToMiddleware()
			if tc.expectErr != "" {
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.Contains(t, err.Error(), tc.expectErr)
				assert.Nil(t, mw)
				if tc.givenConfig.BotToken != "" {
					assert.NotContains(t, err.Error(), tc.givenConfig.BotToken)
				}
				assert.Panics(t, func() { AuthWithConfig(tc.givenConfig) })
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, mw)
			v, err := tc.givenConfig.newVerifier()
			require.NoError(t, err)
			assert.Equal(t, tc.expectBotID, v.botID)
			assert.Equal(t, DefaultMaxAge, v.maxAge)
			assert.Equal(t, DefaultFutureSkew, v.futureSkew)
			assert.NotNil(t, v.cache)
		})
	}
}

func TestAuth_Skipper(t *testing.T) {
	e := echo.New()
	mw := AuthWithConfig(AuthConfig{BotToken: testToken, Skipper: func(c echo.Context) bool { return c.Path() == "/public" }})
	handler := func(c echo.Context) error {
		_, ok := UserFrom(c)
		return c.String(http.StatusOK, strconv.FormatBool(ok))
	}
	e.GET("/public", handler, mw)
	e.GET("/private", handler, mw)

	rec := serve(e, "/public", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "false", rec.Body.String())
	assert.Equal(t, http.StatusUnauthorized, serve(e, "/private", "").Code)
}

// The reason of a rejection is logged at debug level; neither the init data
// nor the token may reach the log.
func TestAuth_logsReasonWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mw := AuthWithConfig(AuthConfig{BotToken: testToken, Now: fixedClock(testNow.Add(48 * time.Hour)), Logger: logger})
	e := echo.New()
	e.GET("/me", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, mw)

	raw := signed(testToken, nil)
	forged := reencode(t, raw, func(q url.Values) { q.Set("hash", flipHex(q.Get("hash"))) })
	require.Equal(t, http.StatusUnauthorized, serve(e, "/me", "tma "+raw).Code)
	require.Equal(t, http.StatusUnauthorized, serve(e, "/me", "tma "+forged).Code)
	require.Equal(t, http.StatusUnauthorized, serve(e, "/me", "tma user=%zz").Code)

	out := buf.String()
	assert.Contains(t, out, "level=DEBUG")
	assert.Contains(t, out, ErrExpired.Error())
	assert.Contains(t, out, ErrSignatureInvalid.Error())
	assert.Contains(t, out, ErrMalformed.Error())
	q, _ := url.ParseQuery(raw)
	for _, secret := range []string{testToken, "TEST-token", q.Get("hash"), raw[:20], "AAHdF6IQ", "%zz", "Lovelace"} {
		assert.NotContains(t, out, secret)
	}
}

// The *AuthError reaches a custom ErrorHandler, which can branch on it.
func TestAuth_customErrorHandler(t *testing.T) {
	mw := AuthWithConfig(AuthConfig{
		BotToken: testToken,
		Now:      fixedClock(testNow.Add(48 * time.Hour)),
		ErrorHandler: func(c echo.Context, err error) error {
			if errors.Is(err, ErrExpired) {
				return c.JSON(http.StatusUnauthorized, map[string]string{"reopen": "yes"})
			}
			return DefaultErrorHandler(c, err)
		},
	})
	e := echo.New()
	e.GET("/me", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, mw)

	rec := serve(e, "/me", "tma "+signed(testToken, nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.JSONEq(t, `{"reopen":"yes"}`, rec.Body.String())
	rec = serve(e, "/me", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, "unauthorized", decodeError(t, rec)["code"])
}
