package invoice_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/invoice"
)

func TestLinkParams(t *testing.T) {
	cat := testCatalog(t)
	tests := []struct {
		name   string
		whenID string
		expect botapi.CreateInvoiceLinkParams
	}{
		{
			name: "ok, subscription has the 30-day period", whenID: "premium_monthly",
			expect: botapi.CreateInvoiceLinkParams{
				Title: "Premium", Description: "30 days of premium", Payload: "P", Currency: "XTR",
				Prices: []botapi.LabeledPrice{{Label: "Premium", Amount: 250}}, SubscriptionPeriod: 2592000,
			},
		},
		{
			name: "ok, one-time with a photo has no period", whenID: "lifetime",
			expect: botapi.CreateInvoiceLinkParams{
				Title: "Lifetime", Description: "Premium for life", Payload: "P", Currency: "XTR",
				Prices: []botapi.LabeledPrice{{Label: "Lifetime", Amount: 1000}}, PhotoURL: "https://example.com/lifetime.png",
			},
		},
		{
			name: "ok, consumable", whenID: "credits_100",
			expect: botapi.CreateInvoiceLinkParams{
				Title: "100 credits", Description: "100 generation credits", Payload: "P", Currency: "XTR",
				Prices: []botapi.LabeledPrice{{Label: "100 credits", Amount: 50}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := cat.Product(tc.whenID)
			require.True(t, ok)
			got := invoice.LinkParams(p, "P")
			assert.Equal(t, tc.expect, got)
			assert.Empty(t, got.ProviderToken, "Stars: empty provider token")
		})
	}
}

func TestLinksCreate(t *testing.T) {
	sb := newSandbox(t)
	client, err := sb.Client()
	require.NoError(t, err)
	codec, err := invoice.NewCodec(invoice.KeyFromBotToken(sb.Token()))
	require.NoError(t, err)
	p, _ := testCatalog(t).Product("premium_monthly")
	refusal := &botapi.Error{Method: "createInvoiceLink", Code: 400, Description: "Bad Request: PAYLOAD_INVALID"}

	tests := []struct {
		name      string
		givenBot  invoice.Bot
		whenUser  int64
		whenID    string
		expectErr error
	}{
		{name: "ok, sandbox accepts the link", givenBot: client, whenUser: 5, whenID: p.ID},
		{name: "nok, user ID not positive", givenBot: client, whenUser: 0, whenID: p.ID, expectErr: invoice.ErrPayloadInvalid},
		{name: "nok, product ID the payload cannot carry", givenBot: client, whenUser: 5, whenID: "Premium!", expectErr: invoice.ErrPayloadInvalid},
		{name: "nok, Bot API refusal", givenBot: stubBot{refusal}, whenUser: 5, whenID: p.ID, expectErr: invoice.ErrCreateLink},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bot := &countingBot{Bot: tc.givenBot}
			links, err := invoice.NewLinks(bot, codec)
			require.NoError(t, err)
			prod := p
			prod.ID = tc.whenID
			link, err := links.Create(context.Background(), prod, tc.whenUser)
			if tc.expectErr != nil {
				require.ErrorIs(t, err, tc.expectErr)
				assert.Empty(t, link)
				if tc.expectErr == invoice.ErrPayloadInvalid {
					assert.Zero(t, bot.calls.Load(), "nothing sent to Telegram")
				}
				return
			}
			require.NoError(t, err)
			assert.Regexp(t, `^https://t\.me/\$[A-Za-z0-9_-]+$`, link)
		})
	}

	t.Run("nok, the Bot API error stays reachable", func(t *testing.T) {
		links, err := invoice.NewLinks(stubBot{refusal}, codec)
		require.NoError(t, err)
		_, err = links.Create(context.Background(), p, 5)
		apiErr, ok := errors.AsType[*botapi.Error](err)
		require.True(t, ok)
		assert.Equal(t, 400, apiErr.Code)
	})
}

func TestNewLinks(t *testing.T) {
	codec, err := invoice.NewCodec(invoice.KeyFromBotToken("1:t"))
	require.NoError(t, err)
	tests := []struct {
		name      string
		whenBot   invoice.Bot
		whenCodec *invoice.Codec
		expectErr error
	}{
		{name: "ok", whenBot: stubBot{}, whenCodec: codec},
		{name: "nok, no bot", whenCodec: codec, expectErr: invoice.ErrInvalidConfig},
		{name: "nok, no codec", whenBot: stubBot{}, expectErr: invoice.ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := invoice.NewLinks(tc.whenBot, tc.whenCodec)
			if tc.expectErr != nil {
				require.ErrorIs(t, err, tc.expectErr)
				return
			}
			require.NoError(t, err)
		})
	}
}
