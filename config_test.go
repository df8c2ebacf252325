package starsgate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
)

const testToken = "100000001:sandbox-token"

func testCatalog(t testing.TB) *entitlements.Catalog {
	t.Helper()
	c, err := entitlements.NewCatalog(
		entitlements.Product{ID: "pro", Title: "Pro", Description: "Premium features, renewed monthly", Price: 100,
			Kind: entitlements.KindSubscription, Features: []string{"premium"}},
		entitlements.Product{ID: "export", Title: "Export", Description: "Export for a week", Price: 50,
			Kind: entitlements.KindOneTime, Features: []string{"export"}, Duration: 168 * time.Hour},
		entitlements.Product{ID: "lifetime", Title: "Lifetime", Description: "Themes forever", Price: 500,
			Kind: entitlements.KindOneTime, Features: []string{"themes"}},
		entitlements.Product{ID: "credits_10", Title: "10 credits", Description: "Ten credits", Price: 20,
			Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 10}},
	)
	require.NoError(t, err)
	return c
}

func TestNew_Config(t *testing.T) {
	catalog := testCatalog(t)
	tests := []struct {
		name       string
		givenCfg   Config
		expectErrs []error
	}{
		{name: "ok, minimal", givenCfg: Config{BotToken: testToken, Catalog: catalog}},
		{name: "ok, everything", givenCfg: Config{
			BotToken: testToken, Catalog: catalog, Store: entitlements.NewMemoryStore(),
			WebhookSecret: "s3cret_-X", APIURL: "http://127.0.0.1:1", TestEnvironment: true,
			InitDataMaxAge: time.Hour, InvoiceRateLimit: 3, CacheTTL: time.Second, CacheSize: 10,
			RedisPrefix: "app:", PaySupportText: "help", TermsText: "terms", PreviousBotTokens: []string{"100000001:old-token"},
		}},
		{name: "nok, no bot token", givenCfg: Config{Catalog: catalog}, expectErrs: []error{ErrNoBotToken}},
		{name: "nok, token without colon", givenCfg: Config{BotToken: "12345secret", Catalog: catalog}, expectErrs: []error{ErrInvalidBotToken}},
		{name: "nok, token with a slash", givenCfg: Config{BotToken: "1:abc/def", Catalog: catalog}, expectErrs: []error{ErrInvalidBotToken}},
		{name: "nok, bad previous token", givenCfg: Config{BotToken: testToken, Catalog: catalog, PreviousBotTokens: []string{"1:ok", "oops"}}, expectErrs: []error{ErrInvalidBotToken}},
		{name: "nok, no catalog", givenCfg: Config{BotToken: testToken}, expectErrs: []error{ErrNoCatalog}},
		{name: "nok, webhook secret with a space", givenCfg: Config{BotToken: testToken, Catalog: catalog, WebhookSecret: "a b"}, expectErrs: []error{ErrInvalidWebhookSecret}},
		{name: "nok, webhook secret too long", givenCfg: Config{BotToken: testToken, Catalog: catalog, WebhookSecret: strings.Repeat("a", 257)}, expectErrs: []error{ErrInvalidWebhookSecret}},
		{name: "nok, API URL not http", givenCfg: Config{BotToken: testToken, Catalog: catalog, APIURL: "ftp://example.com"}, expectErrs: []error{ErrInvalidAPIURL}},
		{name: "nok, API URL relative", givenCfg: Config{BotToken: testToken, Catalog: catalog, APIURL: "api.telegram.org"}, expectErrs: []error{ErrInvalidAPIURL}},
		{name: "nok, redis prefix with a brace", givenCfg: Config{BotToken: testToken, Catalog: catalog, RedisPrefix: "a{b"}, expectErrs: []error{ErrInvalidRedisPrefix}},
		{name: "nok, negative max age", givenCfg: Config{BotToken: testToken, Catalog: catalog, InitDataMaxAge: -time.Second}, expectErrs: []error{ErrNegative}},
		{name: "nok, negative rate limit", givenCfg: Config{BotToken: testToken, Catalog: catalog, InvoiceRateLimit: -1}, expectErrs: []error{ErrNegative}},
		{name: "nok, every problem at once", givenCfg: Config{WebhookSecret: "no spaces", CacheTTL: -1},
			expectErrs: []error{ErrNoBotToken, ErrNoCatalog, ErrInvalidWebhookSecret, ErrNegative}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(tc.givenCfg)
			if len(tc.expectErrs) == 0 {
				require.NoError(t, err)
				require.NotNil(t, g)
				return
			}
			require.Error(t, err)
			assert.Nil(t, g)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			for _, want := range tc.expectErrs {
				assert.ErrorIs(t, err, want)
			}
			var ce *ConfigError
			require.True(t, errors.As(err, &ce))
			assert.Len(t, ce.Problems, len(tc.expectErrs))
			if tc.givenCfg.BotToken != "" {
				assert.NotContains(t, err.Error(), tc.givenCfg.BotToken, "the token must never appear in errors")
			}
		})
	}
}

func TestNew_ErrorMessageIsOneLine(t *testing.T) {
	_, err := New(Config{BotToken: "123:bad token"})
	require.Error(t, err)
	assert.Equal(t, "starsgate: invalid config: BotToken must look like \"123456:ABC-def_ghi\" (bot id, colon, secret); Catalog is required", err.Error())
}

func TestNew_PreviousBotTokensVerifyOldPayloads(t *testing.T) {
	const oldToken = "100000001:old-token"
	oldCodec, err := invoice.NewCodec(invoice.KeyFromBotToken(oldToken))
	require.NoError(t, err)
	payload, err := oldCodec.Encode(invoice.Payload{ProductID: "pro", UserID: 42})
	require.NoError(t, err)

	without, err := New(Config{BotToken: testToken, Catalog: testCatalog(t), Store: entitlements.NewMemoryStore()})
	require.NoError(t, err)
	_, err = without.codec.Verify(payload, 42)
	assert.ErrorIs(t, err, invoice.ErrPayloadForged)

	with, err := New(Config{BotToken: testToken, Catalog: testCatalog(t), Store: entitlements.NewMemoryStore(),
		PreviousBotTokens: []string{oldToken}})
	require.NoError(t, err)
	p, err := with.codec.Verify(payload, 42)
	require.NoError(t, err)
	assert.Equal(t, "pro", p.ProductID)
}
