package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/starsgate/starsgate/botapi"
)

// Telegram's limits on invoices.
const (
	maxTitleLen         = 32  // characters
	maxDescriptionLen   = 255 // characters
	maxPayloadLen       = 128 // bytes
	maxSubscriptionCost = 10000
	invoiceLinkPrefix   = "https://t.me/$"
)

// invoice is what createInvoiceLink (or sendInvoice) created; it can be
// paid any number of times, by anyone.
type invoice struct {
	slug               string
	title, description string
	payload            string
	currency           string
	amount             int64
	subscriptionPeriod int64
	startParameter     string
}

func (s *Server) createInvoiceLink(_ context.Context, p params) (any, *apiError) {
	inv, apiErr := parseInvoice(p, true)
	if apiErr != nil {
		return nil, apiErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invoices[inv.slug] = inv
	return invoiceLinkPrefix + inv.slug, nil
}

func (s *Server) sendInvoice(_ context.Context, p params) (any, *apiError) {
	inv, apiErr := parseInvoice(p, false)
	if apiErr != nil {
		return nil, apiErr
	}
	inv.startParameter = p["start_parameter"]
	s.mu.Lock()
	defer s.mu.Unlock()
	chat, apiErr := s.chatLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	s.invoices[inv.slug] = inv
	m := s.botMessageLocked(chat)
	m.Invoice = &botapi.Invoice{
		Title: inv.title, Description: inv.description, StartParameter: inv.startParameter,
		Currency: inv.currency, TotalAmount: inv.amount,
	}
	s.sent = append(s.sent, m)
	return m, nil
}

// parseInvoice validates the invoice parameters shared by createInvoiceLink
// and sendInvoice (which has no subscription_period) the way Telegram does.
// Where Telegram's exact text for a limit is undocumented the sandbox uses
// an error code of its own in Telegram's style (INVOICE_TITLE_INVALID,
// INVOICE_DESCRIPTION_INVALID).
func parseInvoice(p params, subscriptions bool) (*invoice, *apiError) {
	for _, name := range []string{"title", "description", "payload", "currency"} {
		if p[name] == "" {
			return nil, badRequest(`parameter "` + name + `" is required`)
		}
	}
	title, description, payload := p["title"], p["description"], p["payload"]
	if !utf8.ValidString(title) {
		return nil, badRequest("invoice title must be encoded in UTF-8")
	}
	if !utf8.ValidString(description) {
		return nil, badRequest("invoice description must be encoded in UTF-8")
	}
	if utf8.RuneCountInString(title) > maxTitleLen {
		return nil, badRequest("INVOICE_TITLE_INVALID")
	}
	if utf8.RuneCountInString(description) > maxDescriptionLen {
		return nil, badRequest("INVOICE_DESCRIPTION_INVALID")
	}
	if !utf8.ValidString(payload) {
		return nil, badRequest("the payload must be encoded in UTF-8")
	}
	if len(payload) > maxPayloadLen {
		return nil, badRequest("INVOICE_PAYLOAD_INVALID")
	}
	prices, apiErr := parsePrices(p["prices"])
	if apiErr != nil {
		return nil, apiErr
	}
	var total int64
	for _, pr := range prices {
		if pr.Amount <= 0 {
			return nil, badRequest("total price must be positive")
		}
		total += pr.Amount
	}
	currency := p["currency"]
	if currency != botapi.CurrencyStars { // the sandbox has no payment providers
		return nil, badRequest("PAYMENT_PROVIDER_INVALID")
	}
	if len(prices) != 1 || p["provider_token"] != "" || p.int("max_tip_amount") != 0 ||
		strings.Trim(strings.TrimSpace(p["suggested_tip_amounts"]), "[] ") != "" {
		return nil, badRequest("STARS_INVOICE_INVALID")
	}
	inv := &invoice{
		slug: newSlug(), title: title, description: description, payload: payload,
		currency: currency, amount: total,
	}
	if subscriptions && p.has("subscription_period") {
		period := p.int("subscription_period")
		if period != botapi.SubscriptionPeriod {
			return nil, badRequest("SUBSCRIPTION_PERIOD_INVALID")
		}
		if total > maxSubscriptionCost {
			return nil, badRequest("STARS_INVOICE_INVALID")
		}
		inv.subscriptionPeriod = period
	}
	return inv, nil
}

func parsePrices(raw string) ([]botapi.LabeledPrice, *apiError) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		if strings.HasPrefix(strings.TrimSpace(raw), "[") || strings.TrimSpace(raw) == "" {
			return nil, badRequest("can't parse prices JSON object")
		}
		return nil, badRequest("expected an Array of labeled prices")
	}
	if len(items) == 0 {
		return nil, badRequest("there must be at least one price")
	}
	prices := make([]botapi.LabeledPrice, 0, len(items))
	for _, it := range items {
		var pr struct {
			Label  *string `json:"label"`
			Amount *int64  `json:"amount"`
		}
		if err := json.Unmarshal(it, &pr); err != nil || pr.Label == nil || pr.Amount == nil {
			return nil, badRequest("can't parse prices JSON object")
		}
		prices = append(prices, botapi.LabeledPrice{Label: *pr.Label, Amount: *pr.Amount})
	}
	return prices, nil
}

// newSlug returns an invoice slug ([A-Za-z0-9_-]).
func newSlug() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// invoiceSlug extracts the slug of https://t.me/$<slug> or
// https://t.me/invoice/<slug> (both forms the Mini App script accepts).
func invoiceSlug(link string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host != "t.me" {
		return "", false
	}
	var slug string
	switch path := u.EscapedPath(); {
	case strings.HasPrefix(path, "/$"):
		slug = path[2:]
	case strings.HasPrefix(path, "/%24"):
		slug = path[4:]
	case strings.HasPrefix(path, "/invoice/"):
		slug = path[len("/invoice/"):]
	default:
		return "", false
	}
	if slug == "" {
		return "", false
	}
	for _, r := range slug {
		if !isTokenChar(r) {
			return "", false
		}
	}
	return slug, true
}
