package sandbox

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/starsgate/starsgate/botapi"
)

// Receipt describes a payment the sandbox took.
type Receipt struct {
	// ChargeID is the payment's telegram_payment_charge_id.
	ChargeID string `json:"charge_id"`
	// FirstChargeID is, for a subscription, the charge id of its first
	// payment (the one editUserStarSubscription, Renew and CancelByUser
	// take); for a one-time payment it equals ChargeID.
	FirstChargeID string `json:"first_charge_id"`
	UserID        int64  `json:"user_id"`
	Currency      string `json:"currency"`
	Amount        int64  `json:"amount"`
	// Payload is the invoice payload.
	Payload string `json:"invoice_payload"`
	// PaidAt is the sandbox time of the payment.
	PaidAt time.Time `json:"paid_at"`
	// SubscriptionExpiration is when the paid period ends (zero for a
	// one-time payment).
	SubscriptionExpiration time.Time `json:"subscription_expiration,omitzero"`
	IsRecurring            bool      `json:"is_recurring,omitempty"`
	IsFirstRecurring       bool      `json:"is_first_recurring,omitempty"`
	// UpdateID is the id of the successful_payment update.
	UpdateID int64 `json:"update_id"`
}

// Subscription states reported by SubscriptionInfo.State.
const (
	StateActive   = botapi.SubscriptionActive
	StateCanceled = botapi.SubscriptionCanceled
	StateFailed   = botapi.SubscriptionFailed
)

// SubscriptionInfo is the sandbox's view of one subscription.
type SubscriptionInfo struct {
	FirstChargeID  string    `json:"first_charge_id"`
	UserID         int64     `json:"user_id"`
	Payload        string    `json:"invoice_payload"`
	Amount         int64     `json:"amount"`
	ExpiresAt      time.Time `json:"expires_at"`
	State          string    `json:"state"` // StateActive, StateCanceled or StateFailed
	CanceledByUser bool      `json:"canceled_by_user"`
	CanceledByBot  bool      `json:"canceled_by_bot"`
	ChargeIDs      []string  `json:"charge_ids"` // every payment, first one first
}

type preCheckout struct {
	id           string
	user         botapi.User
	inv          *invoice
	done         chan struct{} // closed when answered
	answered     bool
	ok           bool
	errorMessage string
}

type charge struct {
	id                 string
	user               botapi.User
	currency           string
	amount             int64
	payload            string
	subscriptionPeriod int64
	refunded           bool
}

type subscription struct {
	firstChargeID string
	user          botapi.User
	inv           *invoice
	expiresAt     time.Time
	userCanceled  bool
	botCanceled   bool
	failed        bool
	chargeIDs     []string
}

func (sub *subscription) info() SubscriptionInfo {
	state := StateActive
	switch {
	case sub.failed:
		state = StateFailed
	case sub.userCanceled || sub.botCanceled:
		state = StateCanceled
	}
	return SubscriptionInfo{
		FirstChargeID: sub.firstChargeID, UserID: sub.user.ID, Payload: sub.inv.payload, Amount: sub.inv.amount,
		ExpiresAt: sub.expiresAt, State: state, CanceledByUser: sub.userCanceled, CanceledByBot: sub.botCanceled,
		ChargeIDs: slices.Clone(sub.chargeIDs),
	}
}

// checkUser validates a simulated user and fills a missing first name.
func checkUser(u botapi.User) (botapi.User, error) {
	if u.ID <= 0 || u.IsBot {
		return u, fmt.Errorf("%w: id must be positive and is_bot false", ErrInvalidUser)
	}
	if strings.TrimSpace(u.FirstName) == "" {
		u.FirstName = "User " + strconv.FormatInt(u.ID, 10)
	}
	u.CanJoinGroups, u.CanReadAllGroupMessages, u.SupportsInlineQueries = false, false, false
	return u, nil
}

// Pay makes user pay the invoice behind invoiceLink (https://t.me/$…), as
// Telegram does: it sends a pre_checkout_query update and waits up to
// Config.PreCheckoutTimeout for answerPreCheckoutQuery, through the API or
// in a webhook answer. Without an answer it fails with
// ErrPreCheckoutTimeout; with ok=false, with a *DeclinedError. With ok=true
// it records the payment (an incoming star transaction) and sends a
// message update with successful_payment; Pay returns once that update is
// queued (see WaitIdle).
func (s *Server) Pay(ctx context.Context, user botapi.User, invoiceLink string) (Receipt, error) {
	return s.PayWith(ctx, user, invoiceLink, PayOptions{})
}

// PayOptions change how a payment made with PayWith reaches the bot.
type PayOptions struct {
	// DeliveryDelay holds the successful_payment update back for this long
	// (wall-clock time) after the charge, as when Telegram's delivery is
	// slow or the bot's server is catching up: the payment is taken and in
	// getStarTransactions at once, the bot hears of it later. The user's
	// later updates wait behind it (by webhook, and through getUpdates,
	// which hands updates out in order).
	// Optional. Default value 0: queued for delivery at once.
	DeliveryDelay time.Duration
}

// PayWith is Pay with options.
func (s *Server) PayWith(ctx context.Context, user botapi.User, invoiceLink string, o PayOptions) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	user, err := checkUser(user)
	if err != nil {
		return Receipt{}, err
	}
	slug, ok := invoiceSlug(invoiceLink)
	if !ok {
		return Receipt{}, fmt.Errorf("%w: %q", ErrUnknownInvoice, invoiceLink)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Receipt{}, ErrClosed
	}
	inv, ok := s.invoices[slug]
	if !ok {
		s.mu.Unlock()
		return Receipt{}, fmt.Errorf("%w: %q", ErrUnknownInvoice, invoiceLink)
	}
	s.users[user.ID] = user
	q := &preCheckout{id: s.newQueryIDLocked(), user: user, inv: inv, done: make(chan struct{})}
	s.queries[q.id] = q
	s.enqueueLocked(botapi.KindPreCheckoutQuery, user.ID, botapi.Update{PreCheckoutQuery: &botapi.PreCheckoutQuery{
		ID: q.id, From: user, Currency: inv.currency, TotalAmount: inv.amount, InvoicePayload: inv.payload,
	}})
	s.mu.Unlock()

	timer := time.NewTimer(s.cfg.PreCheckoutTimeout)
	defer timer.Stop()
	var waitErr error
	select {
	case <-q.done:
	case <-timer.C:
		waitErr = ErrPreCheckoutTimeout
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-s.ctx.Done():
		waitErr = ErrClosed
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !q.answered { // an answer that lost the race to the deadline is too late
		delete(s.queries, q.id)
		return Receipt{}, waitErr
	}
	if !q.ok {
		return Receipt{}, &DeclinedError{Message: q.errorMessage}
	}
	var r Receipt
	if inv.subscriptionPeriod == 0 {
		r = s.chargeLocked(user, inv, nil)
	} else {
		sub := &subscription{user: user, inv: inv, expiresAt: s.nowLocked()}
		r = s.chargeLocked(user, inv, sub)
		sub.firstChargeID = r.ChargeID
		s.subs[r.ChargeID] = sub
		s.subList = append(s.subList, sub)
	}
	if o.DeliveryDelay > 0 {
		// Set before the lock is released: no deliverer has seen it yet.
		s.byID[r.UpdateID].notBefore = time.Now().Add(o.DeliveryDelay)
	}
	return r, nil
}

// chargeLocked takes a payment: records the charge and its incoming
// transaction and queues the successful_payment message. For a
// subscription payment sub's period is extended first.
func (s *Server) chargeLocked(user botapi.User, inv *invoice, sub *subscription) Receipt {
	now := s.nowLocked()
	c := &charge{
		id: s.newChargeIDLocked(), user: user, currency: inv.currency, amount: inv.amount,
		payload: inv.payload, subscriptionPeriod: inv.subscriptionPeriod,
	}
	s.charges[c.id] = c
	src := user
	s.txns = append(s.txns, botapi.StarTransaction{
		ID: c.id, Amount: c.amount, Date: now.Unix(),
		Source: &botapi.TransactionPartner{
			Type: botapi.PartnerUser, TransactionType: botapi.TransactionInvoicePayment,
			User: &src, InvoicePayload: c.payload, SubscriptionPeriod: c.subscriptionPeriod,
		},
	})
	sp := &botapi.SuccessfulPayment{
		Currency: c.currency, TotalAmount: c.amount, InvoicePayload: c.payload, TelegramPaymentChargeID: c.id,
	}
	r := Receipt{
		ChargeID: c.id, FirstChargeID: c.id, UserID: user.ID, Currency: c.currency, Amount: c.amount,
		Payload: c.payload, PaidAt: now.UTC(),
	}
	if sub != nil {
		sub.expiresAt = sub.expiresAt.Add(time.Duration(inv.subscriptionPeriod) * time.Second)
		sub.chargeIDs = append(sub.chargeIDs, c.id)
		sp.SubscriptionExpirationDate = sub.expiresAt.Unix()
		sp.IsRecurring = true
		sp.IsFirstRecurring = len(sub.chargeIDs) == 1
		r.FirstChargeID = sub.chargeIDs[0]
		r.SubscriptionExpiration = time.Unix(sp.SubscriptionExpirationDate, 0).UTC()
		r.IsRecurring, r.IsFirstRecurring = true, sp.IsFirstRecurring
	}
	m := s.userMessageLocked(user)
	m.SuccessfulPayment = sp
	r.UpdateID = s.enqueueLocked(botapi.KindMessage, user.ID, botapi.Update{Message: &m})
	return r
}

// Renew charges the next period of a subscription, named by its first
// charge id, as Telegram does at the end of each period: a
// successful_payment with is_recurring, a new charge id and the expiration
// extended by the period, with no pre-checkout query. A canceled
// subscription is not renewed (ErrSubscriptionCanceled). Renewing a failed
// subscription models the user topping up: it becomes active again and the
// new period starts now if the old one has ended.
func (s *Server) Renew(ctx context.Context, firstChargeID string) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Receipt{}, ErrClosed
	}
	sub, err := s.subLocked(firstChargeID)
	if err != nil {
		return Receipt{}, err
	}
	if sub.userCanceled || sub.botCanceled {
		return Receipt{}, ErrSubscriptionCanceled
	}
	if now := s.nowLocked(); sub.failed && sub.expiresAt.Before(now) {
		sub.expiresAt = now
	}
	sub.failed = false
	return s.chargeLocked(sub.user, sub.inv, sub), nil
}

// CancelByUser cancels a subscription as its user would in Telegram: it
// stays paid to the end of the period and is not renewed, and the bot gets
// a subscription update with state "canceled".
func (s *Server) CancelByUser(firstChargeID string) error {
	return s.userAction(firstChargeID, func(sub *subscription) (string, error) {
		if sub.userCanceled {
			return "", ErrSubscriptionCanceled
		}
		sub.userCanceled = true
		return botapi.SubscriptionCanceled, nil
	})
}

// Reactivate re-enables a subscription the user canceled; the bot gets
// state "active". A cancellation by the bot (editUserStarSubscription)
// cannot be undone by the user: ErrCanceledByBot.
func (s *Server) Reactivate(firstChargeID string) error {
	return s.userAction(firstChargeID, func(sub *subscription) (string, error) {
		if sub.botCanceled {
			return "", ErrCanceledByBot
		}
		if !sub.userCanceled {
			return "", ErrSubscriptionNotCanceled
		}
		sub.userCanceled = false
		return botapi.SubscriptionActive, nil
	})
}

// FailRenewal makes the next renewal fail (say, the user lacks Stars): the
// bot gets state "failed". A canceled subscription does not renew, so it
// cannot fail: ErrSubscriptionCanceled.
func (s *Server) FailRenewal(firstChargeID string) error {
	return s.userAction(firstChargeID, func(sub *subscription) (string, error) {
		if sub.userCanceled || sub.botCanceled {
			return "", ErrSubscriptionCanceled
		}
		sub.failed = true
		return botapi.SubscriptionFailed, nil
	})
}

func (s *Server) userAction(firstChargeID string, change func(*subscription) (string, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	sub, err := s.subLocked(firstChargeID)
	if err != nil {
		return err
	}
	state, err := change(sub)
	if err != nil {
		return err
	}
	s.enqueueLocked(botapi.KindSubscription, sub.user.ID, botapi.Update{Subscription: &botapi.BotSubscriptionUpdated{
		User: sub.user, InvoicePayload: sub.inv.payload, State: state,
	}})
	return nil
}

func (s *Server) subLocked(firstChargeID string) (*subscription, error) {
	sub, ok := s.subs[firstChargeID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSubscription, firstChargeID)
	}
	return sub, nil
}

// Subscription returns the sandbox's view of a subscription.
func (s *Server) Subscription(firstChargeID string) (SubscriptionInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[firstChargeID]
	if !ok {
		return SubscriptionInfo{}, false
	}
	return sub.info(), true
}

// Subscriptions lists every subscription, oldest first.
func (s *Server) Subscriptions() []SubscriptionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SubscriptionInfo, 0, len(s.subList))
	for _, sub := range s.subList {
		out = append(out, sub.info())
	}
	return out
}

// SendText sends a text message from user to the bot (for example
// "/paysupport"); a leading command gets a bot_command entity.
func (s *Server) SendText(ctx context.Context, user botapi.User, text string) (botapi.Message, error) {
	if err := ctx.Err(); err != nil {
		return botapi.Message{}, err
	}
	user, err := checkUser(user)
	if err != nil {
		return botapi.Message{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return botapi.Message{}, ErrClosed
	}
	s.users[user.ID] = user
	m := s.userMessageLocked(user)
	m.Text = text
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		m.Entities = []botapi.MessageEntity{{Type: "bot_command", Offset: 0, Length: len(utf16.Encode([]rune(cmd)))}}
	}
	s.enqueueLocked(botapi.KindMessage, user.ID, botapi.Update{Message: &m})
	return m, nil
}

// Sent returns the messages the bot sent (sendMessage, sendInvoice), oldest
// first.
func (s *Server) Sent() []botapi.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Transactions returns the bot's star transactions, oldest first, as
// getStarTransactions pages them.
func (s *Server) Transactions() []botapi.StarTransaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.txns)
}

// newChargeIDLocked returns a fresh telegram_payment_charge_id.
func (s *Server) newChargeIDLocked() string {
	for {
		id := "sbx_" + rand.Text()
		if _, taken := s.charges[id]; !taken {
			return id
		}
	}
}

// newQueryIDLocked returns a fresh pre-checkout query id (Telegram's are
// decimal 64-bit numbers).
func (s *Server) newQueryIDLocked() string {
	for {
		id := strconv.FormatInt(mrand.Int64(), 10)
		if _, taken := s.queries[id]; !taken {
			return id
		}
	}
}
