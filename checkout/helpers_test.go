package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
	"github.com/starsgate/starsgate/invoice"
	"github.com/starsgate/starsgate/sandbox"
)

var (
	alice = botapi.User{ID: 1001, FirstName: "Alice"}
	bob   = botapi.User{ID: 1002, FirstName: "Bob"}
	quiet = slog.New(slog.DiscardHandler)
)

const hookSecret = "hook-secret_123"

// testCatalog has one product of each kind (two one-time ones: for life
// and for a week).
func testCatalog(t testing.TB) *entitlements.Catalog {
	t.Helper()
	c, err := entitlements.NewCatalog(
		entitlements.Product{ID: "premium", Title: "Premium", Description: "Premium for 30 days", Price: 250,
			Kind: entitlements.KindSubscription, Features: []string{"premium"}},
		entitlements.Product{ID: "lifetime", Title: "Pro for life", Description: "Pro features forever", Price: 500,
			Kind: entitlements.KindOneTime, Features: []string{"pro"}},
		entitlements.Product{ID: "week", Title: "Week pass", Description: "Extras for a week", Price: 100,
			Kind: entitlements.KindOneTime, Features: []string{"extras"}, Duration: 7 * 24 * time.Hour},
		entitlements.Product{ID: "credits", Title: "100 credits", Description: "100 generation credits", Price: 50,
			Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 100}},
	)
	require.NoError(t, err)
	return c
}

// storeKind makes a fresh, empty store.
type storeKind struct {
	name string
	new  func(t testing.TB) entitlements.Store
}

var storeKinds = []storeKind{
	{"memory", func(testing.TB) entitlements.Store { return entitlements.NewMemoryStore() }},
	{"redis", func(t testing.TB) entitlements.Store {
		return entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: redistest.Prefix(t), Logger: quiet})
	}},
}

// events records what OnEvent got.
type events struct {
	mu  sync.Mutex
	all []entitlements.Event
}

func (e *events) add(_ context.Context, ev entitlements.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// types lists the event types in order.
func (e *events) types() []entitlements.EventType {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]entitlements.EventType, 0, len(e.all))
	for _, ev := range e.all {
		out = append(out, ev.Type)
	}
	return out
}

func (e *events) count(typ entitlements.EventType) int {
	return len(slices.DeleteFunc(e.types(), func(t entitlements.EventType) bool { return t != typ }))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newCodec(t testing.TB, token string) *invoice.Codec {
	t.Helper()
	c, err := invoice.NewCodec(invoice.KeyFromBotToken(token))
	require.NoError(t, err)
	return c
}

// env is a sandbox, a processor behind a webhook, and what it recorded.
type env struct {
	sb     *sandbox.Server
	bot    *botapi.Client
	proc   *checkout.Processor
	store  entitlements.Store
	codec  *invoice.Codec
	cat    *entitlements.Catalog
	events *events
	app    *httptest.Server
}

// newSandbox starts a sandbox with short timings.
func newSandbox(t testing.TB) (*sandbox.Server, *botapi.Client) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{
		PreCheckoutTimeout: 5 * time.Second,
		WebhookRetryMin:    5 * time.Millisecond,
		WebhookRetryMax:    50 * time.Millisecond,
		Logger:             quiet,
	})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	bot, err := botapi.New(botapi.Config{Token: sb.Token(), BaseURL: sb.URL(), Logger: quiet})
	require.NoError(t, err)
	return sb, bot
}

// newEnv wires a processor on store to a sandbox through the webhook.
func newEnv(t testing.TB, store entitlements.Store, mods ...func(*checkout.Config)) *env {
	t.Helper()
	sb, bot := newSandbox(t)
	e := &env{sb: sb, bot: bot, store: store, codec: newCodec(t, sb.Token()), cat: testCatalog(t), events: &events{}}
	cfg := checkout.Config{
		Bot: bot, Catalog: e.cat, Store: store, Payloads: e.codec, WebhookSecret: hookSecret,
		OnEvent: e.events.add, Now: sb.Now, Logger: quiet,
	}
	for _, m := range mods {
		m(&cfg)
	}
	proc, err := checkout.New(cfg)
	require.NoError(t, err)
	e.proc = proc
	ec := echo.New()
	ec.POST("/webhook", proc.Webhook())
	e.app = httptest.NewServer(ec)
	t.Cleanup(e.app.Close)
	require.NoError(t, proc.SetWebhook(testCtx(t), e.app.URL+"/webhook"))
	return e
}

// link creates an invoice link for productID issued to userID, at the
// product's price unless amount is set.
func (e *env) link(t testing.TB, productID string, userID int64, amount int64) string {
	t.Helper()
	payload, err := e.codec.Encode(invoice.Payload{ProductID: productID, UserID: userID})
	require.NoError(t, err)
	return e.linkWithPayload(t, productID, payload, amount)
}

func (e *env) linkWithPayload(t testing.TB, productID, payload string, amount int64) string {
	t.Helper()
	prod, ok := e.cat.Product(productID)
	if !ok { // a product not in the catalog: sell it as a one-time item
		prod = entitlements.Product{Title: "Gone", Description: "No longer sold", Price: 10, Kind: entitlements.KindOneTime}
	}
	if amount == 0 {
		amount = prod.Price
	}
	p := botapi.CreateInvoiceLinkParams{
		Title: prod.Title, Description: prod.Description, Payload: payload, Currency: botapi.CurrencyStars,
		Prices: []botapi.LabeledPrice{{Label: prod.Title, Amount: amount}},
	}
	if prod.Kind == entitlements.KindSubscription {
		p.SubscriptionPeriod = botapi.SubscriptionPeriod
	}
	link, err := e.bot.CreateInvoiceLink(testCtx(t), p)
	require.NoError(t, err)
	return link
}

// pay buys productID as user and waits until the payment was delivered.
func (e *env) pay(t testing.TB, user botapi.User, productID string) sandbox.Receipt {
	t.Helper()
	ctx := testCtx(t)
	r, err := e.sb.Pay(ctx, user, e.link(t, productID, user.ID, 0))
	require.NoError(t, err)
	require.NoError(t, e.sb.WaitIdle(ctx))
	return r
}

func (e *env) state(t testing.TB, userID int64) entitlements.State {
	t.Helper()
	st, err := e.store.Load(testCtx(t), userID)
	require.NoError(t, err)
	return st
}

func (e *env) has(t testing.TB, userID int64, feature string) bool {
	t.Helper()
	st := e.state(t, userID)
	return st.Has(feature, e.sb.Now())
}

// declined returns the error_message of a refused Pay.
func declined(t testing.TB, err error) string {
	t.Helper()
	de, ok := errors.AsType[*sandbox.DeclinedError](err)
	require.Truef(t, ok, "want a declined payment, got %v", err)
	return de.Message
}

// successfulPaymentUpdate is a successful_payment update as Telegram sends it.
func successfulPaymentUpdate(t testing.TB, updateID int64, user botapi.User, chargeID, payload string, amount int64) []byte {
	t.Helper()
	u := botapi.Update{UpdateID: updateID, Message: &botapi.Message{
		MessageID: updateID, From: &user, Chat: botapi.Chat{ID: user.ID, Type: botapi.ChatPrivate}, Date: time.Now().Unix(),
		SuccessfulPayment: &botapi.SuccessfulPayment{
			Currency: botapi.CurrencyStars, TotalAmount: amount, InvoicePayload: payload, TelegramPaymentChargeID: chargeID,
		},
	}}
	raw, err := json.Marshal(u)
	require.NoError(t, err)
	return raw
}

var (
	errTransient      = checkout.ErrTransient
	errNoSubscription = checkout.ErrNoSubscription
)

func invoicePayload(productID string, userID int64) invoice.Payload {
	return invoice.Payload{ProductID: productID, UserID: userID}
}

type botAnswer = botapi.AnswerPreCheckoutQueryParams

// fakeBot records calls; err, when set, is what every call returns.
type fakeBot struct {
	mu      sync.Mutex
	err     error
	answers []botAnswer
	sent    []botapi.SendMessageParams
	updates [][]botapi.Update // getUpdates answers, in order
}

func (b *fakeBot) AnswerPreCheckoutQuery(_ context.Context, p botAnswer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answers = append(b.answers, p)
	return b.err
}

func (b *fakeBot) RefundStarPayment(context.Context, int64, string) error { return b.err }

func (b *fakeBot) EditUserStarSubscription(context.Context, int64, string, bool) error { return b.err }

func (b *fakeBot) GetStarTransactions(context.Context, int, int) (botapi.StarTransactions, error) {
	return botapi.StarTransactions{}, b.err
}

func (b *fakeBot) GetUpdates(ctx context.Context, _ botapi.GetUpdatesParams) ([]botapi.Update, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.updates) == 0 {
		return nil, ctx.Err()
	}
	u := b.updates[0]
	b.updates = b.updates[1:]
	return u, b.err
}

func (b *fakeBot) SetWebhook(context.Context, botapi.SetWebhookParams) error { return b.err }

func (b *fakeBot) SendMessage(_ context.Context, p botapi.SendMessageParams) (botapi.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, p)
	return botapi.Message{}, b.err
}

func (b *fakeBot) lastAnswer(t testing.TB) botAnswer {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.NotEmpty(t, b.answers, "no pre-checkout answer")
	return b.answers[len(b.answers)-1]
}
