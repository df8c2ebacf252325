package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
)

// reconcilePage is getStarTransactions' largest page.
const reconcilePage = 100

// ReconcileReport counts what Reconcile saw and repaired.
type ReconcileReport struct {
	// Scanned is the number of transactions read (all of them, also those
	// before since, which are skipped).
	Scanned int
	// Recorded is the number of payments that were missing from the ledger
	// and are now recorded.
	Recorded int
	// Refunded is the number of refunds that were missing and are now applied.
	Refunded int
	// UpToDate is the number of payments and refunds the ledger already had.
	UpToDate int
	// Ignored is the number of transactions that are not starsgate's: other
	// partners and kinds, payloads not ours or not valid, products gone,
	// refunds of payments not in the ledger.
	Ignored int
}

// Reconcile reads the bot's Star transactions (getStarTransactions, oldest
// first) and repairs the ledger from those dated at or after since: an
// incoming invoice payment with a starsgate payload that is not recorded is
// recorded (a subscription payment grants its period from the transaction
// date), and an outgoing transaction with the same ID as a payment (a
// refund) is applied. It is idempotent; use it after a store was lost or
// webhooks were missed. Events are emitted for what it repairs.
//
// It reads the store for every transaction, whatever the processor's
// duplicate cache holds, so it also repairs a store that lost data.
//
// The transaction history cannot tell a subscription's cancellation, so
// rebuilt subscriptions renew until told otherwise; credits spent are not
// in it either.
func (p *Processor) Reconcile(ctx context.Context, since time.Time) (ReconcileReport, error) {
	var rep ReconcileReport
	firstSeen := map[string]bool{} // subscription payloads seen in this pass
	for offset := 0; ; offset += reconcilePage {
		page, err := p.cfg.Bot.GetStarTransactions(ctx, offset, reconcilePage)
		if err != nil {
			return rep, p.opError("get star transactions", err)
		}
		for _, t := range page.Transactions {
			rep.Scanned++
			if time.Unix(t.Date, 0).Before(since) {
				continue
			}
			if err := p.reconcileOne(ctx, t, firstSeen, &rep); err != nil {
				return rep, err
			}
		}
		if len(page.Transactions) < reconcilePage {
			break
		}
	}
	p.log.InfoContext(ctx, "checkout: reconciled", slog.Int("scanned", rep.Scanned), slog.Int("recorded", rep.Recorded),
		slog.Int("refunded", rep.Refunded), slog.Int("up_to_date", rep.UpToDate), slog.Int("ignored", rep.Ignored))
	return rep, nil
}

func (p *Processor) reconcileOne(ctx context.Context, t botapi.StarTransaction, firstSeen map[string]bool, rep *ReconcileReport) error {
	partner := t.Source
	if partner == nil {
		partner = t.Receiver
	}
	if partner == nil || partner.Type != botapi.PartnerUser || partner.User == nil ||
		(partner.TransactionType != "" && partner.TransactionType != botapi.TransactionInvoicePayment) {
		rep.Ignored++
		return nil
	}
	userID, at := partner.User.ID, time.Unix(t.Date, 0).UTC()
	if !t.Incoming() {
		ch, err := p.cfg.Store.RefundPayment(ctx, userID, t.ID, at)
		switch {
		case errors.Is(err, entitlements.ErrPaymentNotFound):
			rep.Ignored++
		case err != nil && ch.Version == 0:
			return storeError("refund payment", err)
		case ch.Duplicate:
			rep.UpToDate++
		default:
			rep.Refunded++
			p.emit(ctx, ch)
		}
		return nil
	}
	pl, err := p.cfg.Payloads.Decode(partner.InvoicePayload)
	if err != nil {
		rep.Ignored++
		return nil
	}
	prod, ok := p.cfg.Catalog.Product(pl.ProductID)
	if !ok {
		p.log.ErrorContext(ctx, "checkout: reconcile: payment for a product no longer in the catalog",
			slog.String("charge_id", t.ID), slog.String("product_id", pl.ProductID))
		rep.Ignored++
		return nil
	}
	first := !firstSeen[partner.InvoicePayload]
	firstSeen[partner.InvoicePayload] = true
	if _, err := p.cfg.Store.Payment(ctx, userID, t.ID); err == nil {
		rep.UpToDate++
		return nil
	} else if !errors.Is(err, entitlements.ErrPaymentNotFound) {
		return storeError("payment", err)
	}
	pay := entitlements.Payment{
		ChargeID: t.ID, UserID: userID, ProductID: prod.ID, Amount: t.Amount, Currency: botapi.CurrencyStars,
		PaidAt: at, InvoicePayload: partner.InvoicePayload,
	}
	if partner.SubscriptionPeriod > 0 {
		pay.SubscriptionExpiresAt = at.Add(time.Duration(partner.SubscriptionPeriod) * time.Second)
		pay.IsRecurring = true
		pay.IsFirstRecurring = first && !p.startedEarlier(ctx, userID, prod.ID, partner.InvoicePayload)
	}
	ch, err := p.cfg.Store.RecordPayment(ctx, prod.Apply(pay))
	switch {
	case err != nil && ch.Version == 0:
		return storeError("record payment", err)
	case ch.Duplicate: // recorded meanwhile by a webhook
		rep.UpToDate++
	default:
		rep.Recorded++
		p.emit(ctx, ch)
	}
	return nil
}

// startedEarlier reports whether the ledger already holds the first payment
// of the subscription with this payload (since may have cut it off the
// history read), so that a renewal is not taken for it.
func (p *Processor) startedEarlier(ctx context.Context, userID int64, productID, payload string) bool {
	st, err := p.cfg.Store.Load(ctx, userID)
	if err != nil {
		return false
	}
	g, ok := st.ActiveGrant(entitlements.SubscriptionGrantID(productID), time.Time{})
	if !ok || g.FirstChargeID == "" {
		return false
	}
	first, err := p.cfg.Store.Payment(ctx, userID, g.FirstChargeID)
	return err == nil && first.InvoicePayload == payload
}

// storeError wraps a store failure of an operation, transient unless the
// data is corrupt or the call invalid.
func storeError(op string, err error) error {
	if errors.Is(err, entitlements.ErrInvalid) || errors.Is(err, entitlements.ErrCorrupt) {
		return fmt.Errorf("checkout: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrTransient, op, err)
}
