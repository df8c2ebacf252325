package invoice

import (
	"context"
	"fmt"
	"time"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
)

// Bot is the one Bot API call invoice creation needs; *botapi.Client
// implements it.
type Bot interface {
	CreateInvoiceLink(ctx context.Context, p botapi.CreateInvoiceLinkParams) (string, error)
}

// LinkParams returns the createInvoiceLink parameters that sell p for Stars
// with the given invoice payload: currency XTR, exactly one price labelled
// with the title, no provider token, subscription_period 2592000 for
// subscriptions only, and the product's photo when it has one. The
// Telegram-side limits (title, description, subscription price) are the
// catalog's, which validated p.
func LinkParams(p entitlements.Product, payload string) botapi.CreateInvoiceLinkParams {
	params := botapi.CreateInvoiceLinkParams{
		Title:       p.Title,
		Description: p.Description,
		Payload:     payload,
		Currency:    botapi.CurrencyStars,
		Prices:      []botapi.LabeledPrice{{Label: p.Title, Amount: p.Price}},
		PhotoURL:    p.PhotoURL,
	}
	if p.Kind == entitlements.KindSubscription {
		params.SubscriptionPeriod = botapi.SubscriptionPeriod
	}
	return params
}

// Links creates invoice links: a fresh signed payload for the (product,
// user) pair, then createInvoiceLink. It keeps no record of the invoices it
// makes. It is safe for concurrent use.
type Links struct {
	bot   Bot
	codec *Codec
	now   func() time.Time
}

// NewLinks returns a Links calling bot and signing payloads with codec.
func NewLinks(bot Bot, codec *Codec) (*Links, error) {
	if bot == nil || codec == nil {
		return nil, fmt.Errorf("%w: Links needs a Bot and a Codec", ErrInvalidConfig)
	}
	return &Links{bot: bot, codec: codec, now: time.Now}, nil
}

// Create returns an invoice link (https://t.me/$…) for userID to buy p.
// Only userID can pay it: the pre-checkout check ([Codec.Verify]) refuses
// anyone else. Errors: [ErrPayloadInvalid] for a product ID or user ID the
// payload cannot carry; [ErrCreateLink] wrapping the Bot API's error
// (a *botapi.Error for a refusal) when Telegram refused or could not be
// reached.
func (l *Links) Create(ctx context.Context, p entitlements.Product, userID int64) (string, error) {
	payload, err := l.codec.Encode(Payload{ProductID: p.ID, UserID: userID, IssuedAt: l.now()})
	if err != nil {
		return "", err
	}
	link, err := l.bot.CreateInvoiceLink(ctx, LinkParams(p, payload))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCreateLink, err)
	}
	if link == "" {
		return "", fmt.Errorf("%w: empty link", ErrCreateLink)
	}
	return link, nil
}
