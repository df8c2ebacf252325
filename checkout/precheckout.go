package checkout

import (
	"context"
	"errors"
	"log/slog"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/invoice"
)

// Messages shown to the buyer when a checkout is refused.
const (
	MsgInvalidInvoice  = "This invoice is not valid. Please open a new one from the app."
	MsgWrongUser       = "This invoice was made for another Telegram account. Please open your own invoice from the app."
	MsgUnknownProduct  = "This product is no longer for sale."
	MsgWrongCurrency   = "This purchase can only be paid in Telegram Stars."
	MsgPriceChanged    = "The price of this product has changed. Please open a new invoice from the app."
	MsgAlreadyOwned    = "You already own this product."
	MsgAlreadySubbed   = "You already have an active subscription to this product."
	MsgUnavailable     = "Payments are temporarily unavailable. Please try again in a minute; you have not been charged."
	MsgNotOurs         = "This invoice is not recognised. Please open a new one from the app."
	answerReserveShare = 5 // 1/5 of the budget is kept for sending the answer
)

// decision is the answer to a pre-checkout query.
type decision struct {
	ok     bool
	reason string // for logs: why ok is false
	msg    string // shown to the user when ok is false
}

func refuse(reason, msg string) decision { return decision{reason: reason, msg: msg} }

// handlePreCheckout decides and answers through the Bot API, all within
// the budget.
func (p *Processor) handlePreCheckout(ctx context.Context, u botapi.Update) error {
	q := u.PreCheckoutQuery
	if p.notOurs(q.InvoicePayload) && p.cfg.OnUpdate != nil {
		return p.passOn(ctx, u)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.PreCheckoutBudget)
	defer cancel()
	d := p.decideInBudget(ctx, q)
	err := p.cfg.Bot.AnswerPreCheckoutQuery(ctx, answer(q, d))
	return p.botFailure(ctx, "answerPreCheckoutQuery", err)
}

// preCheckoutReply decides and returns the answer as a webhook reply body.
// ok is false when the query belongs to OnUpdate instead.
func (p *Processor) preCheckoutReply(ctx context.Context, q *botapi.PreCheckoutQuery) ([]byte, bool, error) {
	if p.notOurs(q.InvoicePayload) && p.cfg.OnUpdate != nil {
		return nil, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.PreCheckoutBudget)
	defer cancel()
	body, err := botapi.WebhookReply("answerPreCheckoutQuery", answer(q, p.decideInBudget(ctx, q)))
	return body, true, err
}

func answer(q *botapi.PreCheckoutQuery, d decision) botapi.AnswerPreCheckoutQueryParams {
	return botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: q.ID, OK: d.ok, ErrorMessage: d.msg}
}

func (p *Processor) notOurs(payload string) bool {
	_, err := p.cfg.Payloads.Decode(payload)
	return errors.Is(err, invoice.ErrPayloadNotOurs)
}

// decideInBudget runs decide with part of ctx's budget kept back for the
// answer, and logs the outcome.
func (p *Processor) decideInBudget(ctx context.Context, q *botapi.PreCheckoutQuery) decision {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.PreCheckoutBudget-p.cfg.PreCheckoutBudget/answerReserveShare)
	defer cancel()
	d := p.decide(dctx, q)
	// LogAttrs: no boxing of each attribute into an any.
	if d.ok {
		p.log.LogAttrs(ctx, slog.LevelInfo, "checkout: pre-checkout accepted",
			slog.String("query_id", q.ID), slog.Int64("user_id", q.From.ID))
	} else {
		p.log.LogAttrs(ctx, slog.LevelInfo, "checkout: pre-checkout refused",
			slog.String("query_id", q.ID), slog.Int64("user_id", q.From.ID), slog.String("reason", d.reason))
	}
	return d
}

// decide checks a pre-checkout query against the payload, the catalog and
// the buyer's current state.
func (p *Processor) decide(ctx context.Context, q *botapi.PreCheckoutQuery) decision {
	pl, err := p.cfg.Payloads.Verify(q.InvoicePayload, q.From.ID)
	switch {
	case errors.Is(err, invoice.ErrPayloadNotOurs):
		return refuse("payload not issued by starsgate", MsgNotOurs)
	case errors.Is(err, invoice.ErrPayloadWrongUser):
		return refuse("invoice issued to another user", MsgWrongUser)
	case err != nil:
		return refuse(err.Error(), MsgInvalidInvoice)
	}
	prod, ok := p.cfg.Catalog.Product(pl.ProductID)
	switch {
	case !ok:
		return refuse("unknown product "+pl.ProductID, MsgUnknownProduct)
	case q.Currency != botapi.CurrencyStars:
		return refuse("currency "+q.Currency, MsgWrongCurrency)
	case q.TotalAmount != prod.Price:
		return refuse("amount differs from the current price", MsgPriceChanged)
	case prod.Kind == entitlements.KindConsumable:
		return decision{ok: true}
	}
	st, err := p.cfg.Store.Load(ctx, q.From.ID)
	if err != nil {
		// Taking money we may not be able to deliver is worse than a retry.
		return refuse("store unavailable: "+err.Error(), MsgUnavailable)
	}
	now := p.cfg.Now()
	switch prod.Kind {
	case entitlements.KindOneTime:
		if st.OwnsProduct(prod.ID, now) {
			return refuse("one-time product already owned", MsgAlreadyOwned)
		}
	case entitlements.KindSubscription:
		if _, active := st.ActiveGrant(entitlements.SubscriptionGrantID(prod.ID), now); active {
			return refuse("subscription already active", MsgAlreadySubbed)
		}
	}
	return decision{ok: true}
}
