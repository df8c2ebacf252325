package invoice_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
	"github.com/starsgate/starsgate/invoice"
	"github.com/starsgate/starsgate/middleware"
	"github.com/starsgate/starsgate/sandbox"
)

const day = 24 * time.Hour

var quietLog = slog.New(slog.DiscardHandler)

func testCatalog(t *testing.T) *entitlements.Catalog {
	t.Helper()
	cat, err := entitlements.NewCatalog(
		entitlements.Product{ID: "premium_monthly", Title: "Premium", Description: "30 days of premium",
			Price: 250, Kind: entitlements.KindSubscription, Features: []string{"premium"}},
		entitlements.Product{ID: "lifetime", Title: "Lifetime", Description: "Premium for life",
			Price: 1000, Kind: entitlements.KindOneTime, Features: []string{"premium"}, PhotoURL: "https://example.com/lifetime.png"},
		entitlements.Product{ID: "week_pass", Title: "Week pass", Description: "Premium for a week",
			Price: 100, Kind: entitlements.KindOneTime, Features: []string{"premium"}, Duration: 7 * day},
		entitlements.Product{ID: "credits_100", Title: "100 credits", Description: "100 generation credits",
			Price: 50, Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 100}},
	)
	require.NoError(t, err)
	return cat
}

// countingBot counts createInvoiceLink calls, to prove that error paths
// create nothing.
type countingBot struct {
	invoice.Bot
	calls atomic.Int64
}

func (b *countingBot) CreateInvoiceLink(ctx context.Context, p botapi.CreateInvoiceLinkParams) (string, error) {
	b.calls.Add(1)
	return b.Bot.CreateInvoiceLink(ctx, p)
}

// stubBot answers every createInvoiceLink with err.
type stubBot struct{ err error }

func (b stubBot) CreateInvoiceLink(context.Context, botapi.CreateInvoiceLinkParams) (string, error) {
	return "", b.err
}

// env is a POST /invoices route on a real Echo server behind the real auth
// middleware, creating links in a sandbox.
type env struct {
	sb      *sandbox.Server
	client  *botapi.Client // the sandbox's Bot API, for the payer side
	bot     *countingBot
	codec   *invoice.Codec
	catalog *entitlements.Catalog
	checker *entitlements.Checker
	now     time.Time
	url     string
	offset  int64 // getUpdates offset
}

func newSandbox(t *testing.T) *sandbox.Server {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Logger: quietLog})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	return sb
}

func memoryStore(*testing.T) entitlements.Store { return entitlements.NewMemoryStore() }

func redisStore(t *testing.T) entitlements.Store {
	return entitlements.NewRedisStore(redistest.Client(t), entitlements.RedisOptions{Prefix: redistest.Prefix(t), Logger: quietLog})
}

var stores = []struct {
	name string
	new  func(*testing.T) entitlements.Store
}{
	{"memory", memoryStore},
	{"redis", redisStore},
}

// newEnv serves a handler on store; edit adjusts its config.
func newEnv(t *testing.T, sb *sandbox.Server, store entitlements.Store, edit func(*invoice.HandlerConfig)) *env {
	t.Helper()
	client, err := sb.Client()
	require.NoError(t, err)
	codec, err := invoice.NewCodec(invoice.KeyFromBotToken(sb.Token()))
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { return now }
	checker, err := entitlements.NewChecker(store, entitlements.CheckerConfig{Now: clock, Logger: quietLog})
	require.NoError(t, err)
	en := &env{sb: sb, client: client, bot: &countingBot{Bot: client}, codec: codec, catalog: testCatalog(t), checker: checker, now: now}
	cfg := invoice.HandlerConfig{
		Bot: en.bot, Catalog: en.catalog, Codec: codec, State: checker, Now: clock, Logger: quietLog,
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := invoice.NewHandler(cfg)
	require.NoError(t, err)
	en.url = serve(t, sb.Token(), h)
	return en
}

// serve mounts h at POST /invoices behind the auth middleware and returns
// the route's URL.
func serve(t *testing.T, token string, h *invoice.Handler) string {
	t.Helper()
	auth, err := middleware.AuthConfig{BotToken: token}.ToMiddleware()
	require.NoError(t, err)
	e := echo.New()
	e.POST("/invoices", h.Create, auth)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/invoices"
}

type answer struct {
	status     int
	retryAfter string
	raw        string
	link       string
	productID  string
	code       string
	message    string
}

func post(t *testing.T, url, initData, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if initData != "" {
		req.Header.Set("Authorization", "tma "+initData)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "body %s", raw)
	var parsed struct {
		InvoiceLink string `json:"invoice_link"`
		ProductID   string `json:"product_id"`
		Error       struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(raw, &parsed), "body %s", raw)
	return answer{
		status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), raw: string(raw),
		link: parsed.InvoiceLink, productID: parsed.ProductID, code: parsed.Error.Code, message: parsed.Error.Message,
	}
}

func (en *env) initData(user int64) string {
	return middleware.SignInitData(en.sb.Token(), middleware.User{ID: user, FirstName: "Buyer"}, time.Now())
}

func productBody(id string) string { return `{"product_id":"` + id + `"}` }

// pay makes user pay link in the sandbox, playing the bot's side of the
// pre-checkout by hand: the query must carry a payload that verifies for
// this user and product, at the product's price in Stars.
func (en *env) pay(t *testing.T, user int64, link string, p entitlements.Product) sandbox.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type result struct {
		r   sandbox.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := en.sb.Pay(ctx, botapi.User{ID: user, FirstName: "Buyer"}, link)
		done <- result{r, err}
	}()

	var q *botapi.PreCheckoutQuery
	for q == nil {
		ups, err := en.client.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: en.offset, Timeout: 5})
		require.NoError(t, err)
		for _, u := range ups {
			en.offset = u.UpdateID + 1
			if u.PreCheckoutQuery != nil && u.PreCheckoutQuery.From.ID == user {
				q = u.PreCheckoutQuery
			}
		}
	}
	got, err := en.codec.Verify(q.InvoicePayload, user)
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ProductID)
	assert.Equal(t, user, got.UserID)
	assert.True(t, en.now.Equal(got.IssuedAt), "issued on the handler's clock: %v", got.IssuedAt)
	assert.Equal(t, botapi.CurrencyStars, q.Currency)
	assert.Equal(t, p.Price, q.TotalAmount)
	require.NoError(t, en.client.AnswerPreCheckoutQuery(ctx, botapi.AnswerPreCheckoutQueryParams{PreCheckoutQueryID: q.ID, OK: true}))

	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, p.Price, res.r.Amount)
	assert.Equal(t, q.InvoicePayload, res.r.Payload)
	assert.Equal(t, p.Kind == entitlements.KindSubscription, res.r.IsRecurring, "only subscriptions recur")
	return res.r
}

// record stores a payment of product id by user at paidAt, through the
// checker's write-through store so its cache sees it at once.
func (en *env) record(t *testing.T, user int64, id string, paidAt time.Time) {
	t.Helper()
	p, ok := en.catalog.Product(id)
	require.True(t, ok)
	pay := entitlements.Payment{
		ChargeID: "charge_" + id + "_" + strconv.FormatInt(paidAt.Unix(), 10), UserID: user, ProductID: id,
		Amount: p.Price, Currency: botapi.CurrencyStars, PaidAt: paidAt,
	}
	if p.Kind == entitlements.KindSubscription {
		pay.SubscriptionExpiresAt = paidAt.Add(entitlements.SubscriptionPeriod)
		pay.IsRecurring, pay.IsFirstRecurring = true, true
	}
	_, err := en.checker.Store().RecordPayment(t.Context(), p.Apply(pay))
	require.NoError(t, err)
}

func (en *env) grant(t *testing.T, user int64, productID string, expires time.Time) {
	t.Helper()
	_, err := en.checker.Store().Grant(t.Context(), user, entitlements.Grant{
		ID: "promo", ProductID: productID, Features: []string{"premium"}, ExpiresAt: expires, Reason: "trial",
	})
	require.NoError(t, err)
}

func TestHandlerCreate(t *testing.T) {
	tests := []struct {
		name          string
		givenState    func(t *testing.T, en *env, user int64)
		givenInitData func(en *env, user int64) string // default: valid for user
		whenBody      string
		expectStatus  int
		expectCode    string
		expectProduct string
	}{
		{name: "ok, subscription", whenBody: productBody("premium_monthly"), expectStatus: 201, expectProduct: "premium_monthly"},
		{name: "ok, one-time for life with a photo", whenBody: productBody("lifetime"), expectStatus: 201, expectProduct: "lifetime"},
		{name: "ok, one-time with a duration", whenBody: productBody("week_pass"), expectStatus: 201, expectProduct: "week_pass"},
		{name: "ok, consumable", whenBody: productBody("credits_100"), expectStatus: 201, expectProduct: "credits_100"},
		{
			name: "ok, consumable bought again",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "credits_100", en.now.Add(-time.Minute))
			},
			whenBody: productBody("credits_100"), expectStatus: 201, expectProduct: "credits_100",
		},
		{
			name: "ok, one-time whose duration has run out",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "week_pass", en.now.Add(-8*day))
			},
			whenBody: productBody("week_pass"), expectStatus: 201, expectProduct: "week_pass",
		},
		{
			name: "ok, another one-time product is active",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "week_pass", en.now.Add(-day))
			},
			whenBody: productBody("lifetime"), expectStatus: 201, expectProduct: "lifetime",
		},
		{
			name: "ok, subscription that has expired",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "premium_monthly", en.now.Add(-31*day))
			},
			whenBody: productBody("premium_monthly"), expectStatus: 201, expectProduct: "premium_monthly",
		},
		{
			name: "ok, subscription during a trial grant of it",
			givenState: func(t *testing.T, en *env, user int64) {
				en.grant(t, user, "premium_monthly", en.now.Add(3*day))
			},
			whenBody: productBody("premium_monthly"), expectStatus: 201, expectProduct: "premium_monthly",
		},
		{name: "ok, unknown fields ignored", whenBody: `{"product_id":"lifetime","coupon":"x"}`, expectStatus: 201, expectProduct: "lifetime"},

		{name: "nok, no init data", givenInitData: func(*env, int64) string { return "" }, whenBody: productBody("lifetime"), expectStatus: 401, expectCode: "unauthorized"},
		{
			name: "nok, init data signed with another token",
			givenInitData: func(_ *env, user int64) string {
				return middleware.SignInitData("999:other-token", middleware.User{ID: user, FirstName: "X"}, time.Now())
			},
			whenBody: productBody("lifetime"), expectStatus: 401, expectCode: "unauthorized",
		},
		{name: "nok, malformed JSON", whenBody: `{"product_id":`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, empty body", whenBody: ``, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, array body", whenBody: `["lifetime"]`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, trailing data", whenBody: `{"product_id":"lifetime"} {}`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, product_id missing", whenBody: `{"product":"lifetime"}`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, product_id empty", whenBody: `{"product_id":""}`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, product_id null", whenBody: `{"product_id":null}`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, product_id a number", whenBody: `{"product_id":42}`, expectStatus: 400, expectCode: "invalid_request"},
		{name: "nok, product_id an array", whenBody: `{"product_id":["lifetime"]}`, expectStatus: 400, expectCode: "invalid_request"},
		{
			name:         "nok, body too large",
			whenBody:     `{"product_id":"lifetime","pad":"` + strings.Repeat("x", invoice.DefaultMaxBodyBytes) + `"}`,
			expectStatus: 400, expectCode: "invalid_request",
		},
		{name: "nok, unknown product", whenBody: productBody("gold"), expectStatus: 404, expectCode: "unknown_product"},
		{name: "nok, product ID of another case", whenBody: productBody("Lifetime"), expectStatus: 404, expectCode: "unknown_product"},
		{
			name: "nok, one-time product owned for life",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "lifetime", en.now.Add(-365*day))
			},
			whenBody: productBody("lifetime"), expectStatus: 409, expectCode: "already_active",
		},
		{
			name: "nok, one-time product with a duration still active",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "week_pass", en.now.Add(-6*day))
			},
			whenBody: productBody("week_pass"), expectStatus: 409, expectCode: "already_active",
		},
		{
			name: "nok, one-time product granted without payment",
			givenState: func(t *testing.T, en *env, user int64) {
				en.grant(t, user, "lifetime", time.Time{})
			},
			whenBody: productBody("lifetime"), expectStatus: 409, expectCode: "already_active",
		},
		{
			name: "nok, active subscription",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "premium_monthly", en.now.Add(-day))
			},
			whenBody: productBody("premium_monthly"), expectStatus: 409, expectCode: "already_active",
		},
		{
			name: "nok, cancelled subscription still in its paid period",
			givenState: func(t *testing.T, en *env, user int64) {
				en.record(t, user, "premium_monthly", en.now.Add(-day))
				_, err := en.checker.Store().SetAutoRenew(t.Context(), user, "premium_monthly", false)
				require.NoError(t, err)
			},
			whenBody: productBody("premium_monthly"), expectStatus: 409, expectCode: "already_active",
		},
	}

	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			en := newEnv(t, newSandbox(t), store.new(t), nil)
			for i, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					user := int64(1000 + i)
					if tc.givenState != nil {
						tc.givenState(t, en, user)
					}
					initData := en.initData(user)
					if tc.givenInitData != nil {
						initData = tc.givenInitData(en, user)
					}
					calls := en.bot.calls.Load()

					got := post(t, en.url, initData, tc.whenBody)

					require.Equal(t, tc.expectStatus, got.status, "body %s", got.raw)
					if tc.expectStatus != http.StatusCreated {
						assert.Equal(t, tc.expectCode, got.code)
						assert.NotEmpty(t, got.message)
						assert.Empty(t, got.link)
						assert.Equal(t, calls, en.bot.calls.Load(), "no invoice created")
						return
					}
					assert.Empty(t, got.code)
					assert.Equal(t, tc.expectProduct, got.productID)
					assert.True(t, strings.HasPrefix(got.link, "https://t.me/$"), got.link)
					assert.Equal(t, calls+1, en.bot.calls.Load())
					p, _ := en.catalog.Product(tc.expectProduct)
					en.pay(t, user, got.link, p)
				})
			}
		})
	}
}

// Mounted without the auth middleware, the handler itself refuses.
func TestHandlerCreateWithoutAuthMiddleware(t *testing.T) {
	sb := newSandbox(t)
	en := newEnv(t, sb, memoryStore(t), nil)
	h, err := invoice.NewHandler(invoice.HandlerConfig{Bot: en.bot, Catalog: en.catalog, Codec: en.codec, State: en.checker, Logger: quietLog})
	require.NoError(t, err)
	e := echo.New()
	e.POST("/invoices", h.Create)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	got := post(t, srv.URL+"/invoices", en.initData(5), productBody("lifetime"))
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, "unauthorized", got.code)
	assert.Zero(t, en.bot.calls.Load())
}

func TestHandlerRateLimitSharedOnRedis(t *testing.T) {
	sb := newSandbox(t)
	prefix := redistest.Prefix(t)
	store := redisStore(t)
	var urls []string
	var bots []*countingBot
	for range 2 { // two instances: own Redis clients, one limiter prefix
		lim, err := invoice.NewRedisLimiter(redistest.Client(t), invoice.LimitConfig{Prefix: prefix})
		require.NoError(t, err)
		en := newEnv(t, sb, store, func(c *invoice.HandlerConfig) { c.Limiter = lim })
		urls = append(urls, en.url)
		bots = append(bots, en.bot)
	}
	en := &env{sb: sb}
	const user = 77
	for i := range invoice.DefaultLimit {
		got := post(t, urls[i%2], en.initData(user), productBody("credits_100"))
		require.Equal(t, http.StatusCreated, got.status, "request %d: %s", i+1, got.raw)
	}
	got := post(t, urls[invoice.DefaultLimit%2], en.initData(user), productBody("credits_100"))
	require.Equal(t, http.StatusTooManyRequests, got.status, got.raw)
	assert.Equal(t, "rate_limited", got.code)
	secs, err := strconv.Atoi(got.retryAfter)
	require.NoError(t, err, "Retry-After %q", got.retryAfter)
	assert.True(t, secs >= 1 && secs <= 6, "Retry-After %d: one invoice every 6 s", secs)
	assert.Equal(t, int64(invoice.DefaultLimit), bots[0].calls.Load()+bots[1].calls.Load())

	// The other instance refuses too; another user is not affected.
	got = post(t, urls[(invoice.DefaultLimit+1)%2], en.initData(user), productBody("lifetime"))
	assert.Equal(t, http.StatusTooManyRequests, got.status, got.raw)
	got = post(t, urls[0], en.initData(user+1), productBody("credits_100"))
	assert.Equal(t, http.StatusCreated, got.status, got.raw)
}

func TestHandlerRateLimitDefaultMemory(t *testing.T) {
	var offset atomic.Int64 // nanoseconds the clock was advanced
	base := time.Now()
	en := newEnv(t, newSandbox(t), memoryStore(t), func(c *invoice.HandlerConfig) {
		c.Now = func() time.Time { return base.Add(time.Duration(offset.Load())) }
	})
	const user = 88
	type step struct {
		name         string
		whenAdvance  time.Duration
		whenBody     string
		expectStatus int
		expectRetry  string
	}
	tests := []step{
		{name: "nok, unknown product costs no budget", whenBody: productBody("gold"), expectStatus: 404},
		{name: "nok, bad request costs no budget", whenBody: `{}`, expectStatus: 400},
	}
	for i := range invoice.DefaultLimit {
		tests = append(tests, step{name: "ok, request " + strconv.Itoa(i+1), whenBody: productBody("credits_100"), expectStatus: 201})
	}
	tests = append(tests,
		step{name: "nok, 11th within the minute", whenBody: productBody("credits_100"), expectStatus: 429, expectRetry: "6"},
		step{name: "nok, 1.5 s later, rounded up", whenAdvance: 1500 * time.Millisecond, whenBody: productBody("credits_100"), expectStatus: 429, expectRetry: "5"},
		step{name: "ok, once the interval has passed", whenAdvance: 4500 * time.Millisecond, whenBody: productBody("credits_100"), expectStatus: 201},
		step{name: "nok, and then limited again", whenBody: productBody("credits_100"), expectStatus: 429, expectRetry: "6"},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			offset.Add(int64(tc.whenAdvance))
			got := post(t, en.url, en.initData(user), tc.whenBody)
			require.Equal(t, tc.expectStatus, got.status, got.raw)
			assert.Equal(t, tc.expectRetry, got.retryAfter)
		})
	}
}

func TestHandlerTelegramErrors(t *testing.T) {
	closed := newSandbox(t)
	client, err := closed.Client()
	require.NoError(t, err)
	closed.Close()

	tests := []struct {
		name        string
		givenBot    invoice.Bot
		expectRetry string
	}{
		{name: "nok, Bot API unreachable", givenBot: client},
		{name: "nok, Bot API refusal", givenBot: stubBot{&botapi.Error{Method: "createInvoiceLink", Code: 400, Description: "Bad Request: SECRET_DETAIL"}}},
		{name: "nok, Bot API flood control", givenBot: stubBot{&botapi.Error{Method: "createInvoiceLink", Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7}}, expectRetry: "7"},
		{name: "nok, empty link", givenBot: stubBot{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, newSandbox(t), memoryStore(t), func(c *invoice.HandlerConfig) { c.Bot = tc.givenBot })
			got := post(t, en.url, en.initData(9), productBody("premium_monthly"))
			require.Equal(t, http.StatusBadGateway, got.status, got.raw)
			assert.Equal(t, "telegram_error", got.code)
			assert.Equal(t, tc.expectRetry, got.retryAfter)
			assert.NotContains(t, got.raw, "SECRET_DETAIL")
			assert.NotContains(t, got.raw, closed.Token())
			assert.NotContains(t, got.raw, "127.0.0.1")
		})
	}
}

// deadRedis is a client for a port where nothing listens.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestHandlerStoreOutage(t *testing.T) {
	sb := newSandbox(t)
	deadStore := entitlements.NewRedisStore(deadRedis(t), entitlements.RedisOptions{Logger: quietLog})
	deadLimiter, err := invoice.NewRedisLimiter(deadRedis(t), invoice.LimitConfig{})
	require.NoError(t, err)
	tests := []struct {
		name         string
		givenStore   entitlements.Store
		givenLimiter invoice.Limiter
		whenProduct  string
		expectStatus int
		expectCode   string
	}{
		{name: "nok, store down, subscription", givenStore: deadStore, whenProduct: "premium_monthly", expectStatus: 503, expectCode: "unavailable"},
		{name: "nok, store down, one-time", givenStore: deadStore, whenProduct: "lifetime", expectStatus: 503, expectCode: "unavailable"},
		{name: "ok, store down, consumable needs no state", givenStore: deadStore, whenProduct: "credits_100", expectStatus: 201},
		{name: "nok, limiter down", givenStore: memoryStore(t), givenLimiter: deadLimiter, whenProduct: "credits_100", expectStatus: 503, expectCode: "unavailable"},
		{name: "nok, unknown product refused before the limiter is asked", givenStore: memoryStore(t), givenLimiter: deadLimiter, whenProduct: "gold", expectStatus: 404, expectCode: "unknown_product"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, sb, tc.givenStore, func(c *invoice.HandlerConfig) {
				if tc.givenLimiter != nil {
					c.Limiter = tc.givenLimiter
				}
			})
			got := post(t, en.url, en.initData(12), productBody(tc.whenProduct))
			require.Equal(t, tc.expectStatus, got.status, got.raw)
			assert.Equal(t, tc.expectCode, got.code)
			if tc.expectStatus != http.StatusCreated {
				assert.Zero(t, en.bot.calls.Load(), "no invoice created")
			}
		})
	}
}

func TestNewHandlerConfig(t *testing.T) {
	sb := newSandbox(t)
	en := newEnv(t, sb, memoryStore(t), nil)
	valid := func() invoice.HandlerConfig {
		return invoice.HandlerConfig{Bot: en.bot, Catalog: en.catalog, Codec: en.codec, State: en.checker}
	}
	tests := []struct {
		name      string
		whenEdit  func(*invoice.HandlerConfig)
		expectErr error
	}{
		{name: "ok, required fields only", whenEdit: func(*invoice.HandlerConfig) {}},
		{name: "nok, no Bot", whenEdit: func(c *invoice.HandlerConfig) { c.Bot = nil }, expectErr: invoice.ErrInvalidConfig},
		{name: "nok, no Catalog", whenEdit: func(c *invoice.HandlerConfig) { c.Catalog = nil }, expectErr: invoice.ErrInvalidConfig},
		{name: "nok, no Codec", whenEdit: func(c *invoice.HandlerConfig) { c.Codec = nil }, expectErr: invoice.ErrInvalidConfig},
		{name: "nok, no State", whenEdit: func(c *invoice.HandlerConfig) { c.State = nil }, expectErr: invoice.ErrInvalidConfig},
		{name: "nok, negative MaxBodyBytes", whenEdit: func(c *invoice.HandlerConfig) { c.MaxBodyBytes = -1 }, expectErr: invoice.ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.whenEdit(&cfg)
			h, err := invoice.NewHandler(cfg)
			if tc.expectErr != nil {
				require.ErrorIs(t, err, tc.expectErr)
				assert.Nil(t, h)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, h)
		})
	}
}

func TestHandlerMaxBodyBytes(t *testing.T) {
	en := newEnv(t, newSandbox(t), memoryStore(t), func(c *invoice.HandlerConfig) { c.MaxBodyBytes = 30 })
	tests := []struct {
		name         string
		whenBody     string
		expectStatus int
	}{
		{name: "ok, at the limit", whenBody: `{"product_id":"credits_100"}` + "  ", expectStatus: 201},
		{name: "nok, one byte over", whenBody: `{"product_id":"credits_100"}` + "   ", expectStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := post(t, en.url, en.initData(3), tc.whenBody)
			assert.Equal(t, tc.expectStatus, got.status, got.raw)
		})
	}
}

func TestAlreadyActive(t *testing.T) {
	cat := testCatalog(t)
	now := time.Date(2026, 7, 14, 12, 0, 0, 0, time.UTC)
	product := func(id string) entitlements.Product { p, _ := cat.Product(id); return p }
	sub := entitlements.Grant{ID: entitlements.SubscriptionGrantID("premium_monthly"), ProductID: "premium_monthly",
		Source: entitlements.SourceSubscription, Features: []string{"premium"}, ExpiresAt: now.Add(day), AutoRenew: true}
	tests := []struct {
		name       string
		givenGrant *entitlements.Grant
		whenID     string
		expect     bool
	}{
		{name: "ok, nothing owned", whenID: "lifetime", expect: false},
		{name: "ok, consumable never refused", givenGrant: &entitlements.Grant{ID: "promo", ProductID: "credits_100"}, whenID: "credits_100", expect: false},
		{name: "nok, subscription active", givenGrant: &sub, whenID: "premium_monthly", expect: true},
		{name: "ok, subscription expired at now", givenGrant: &entitlements.Grant{ID: sub.ID, ProductID: sub.ProductID, ExpiresAt: now}, whenID: "premium_monthly", expect: false},
		{name: "ok, trial grant of the subscription product", givenGrant: &entitlements.Grant{ID: "trial", ProductID: "premium_monthly", ExpiresAt: now.Add(day)}, whenID: "premium_monthly", expect: false},
		{name: "nok, one-time for life", givenGrant: &entitlements.Grant{ID: "pay:1", ProductID: "lifetime"}, whenID: "lifetime", expect: true},
		{name: "ok, one-time of another product", givenGrant: &entitlements.Grant{ID: "pay:1", ProductID: "week_pass", ExpiresAt: now.Add(day)}, whenID: "lifetime", expect: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := entitlements.State{UserID: 1}
			if tc.givenGrant != nil {
				st.Grants = []entitlements.Grant{*tc.givenGrant}
			}
			assert.Equal(t, tc.expect, invoice.AlreadyActive(product(tc.whenID), &st, now))
		})
	}
}
