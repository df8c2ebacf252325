package invoice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/apierror"
	"github.com/starsgate/starsgate/middleware"
)

// DefaultMaxBodyBytes bounds a POST /invoices body; {"product_id":"…"} with
// the longest product ID is under 100 bytes.
const DefaultMaxBodyBytes = 4 << 10

// StateReader reads a user's entitlement state; *entitlements.Checker
// implements it.
type StateReader interface {
	State(ctx context.Context, userID int64) (entitlements.State, error)
}

// HandlerConfig configures a [Handler].
type HandlerConfig struct {
	// Bot creates the invoice links, usually a *botapi.Client.
	// Required.
	Bot Bot
	// Catalog lists the products for sale.
	// Required.
	Catalog *entitlements.Catalog
	// Codec signs invoice payloads; the payment processor must verify them
	// with the same key.
	// Required.
	Codec *Codec
	// State tells whether the user already holds the product, usually the
	// *entitlements.Checker in front of the store.
	// Required.
	State StateReader
	// Limiter caps invoice creation per user. Use a [RedisLimiter] when
	// several instances serve the same users.
	// Optional. Default value a [MemoryLimiter] allowing 10 a minute on Now.
	Limiter Limiter
	// Now is the clock for grant expiry and payload issue times.
	// Optional. Default value time.Now.
	Now func() time.Time
	// Logger receives Bot API and store failures (warn) and refusals
	// (debug). It never receives the bot token.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds the request body; a larger one is a 400.
	// Optional. Default value 4096.
	MaxBodyBytes int64
}

// Handler serves POST /invoices.
type Handler struct {
	links   *Links
	catalog *entitlements.Catalog
	state   StateReader
	limiter Limiter
	now     func() time.Time
	log     *slog.Logger
	maxBody int64
}

// NewHandler checks cfg, fills its defaults and returns the handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	switch {
	case cfg.Bot == nil:
		return nil, fmt.Errorf("%w: Bot is required", ErrInvalidConfig)
	case cfg.Catalog == nil:
		return nil, fmt.Errorf("%w: Catalog is required", ErrInvalidConfig)
	case cfg.Codec == nil:
		return nil, fmt.Errorf("%w: Codec is required", ErrInvalidConfig)
	case cfg.State == nil:
		return nil, fmt.Errorf("%w: State is required", ErrInvalidConfig)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: negative MaxBodyBytes", ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Limiter == nil {
		l, err := NewMemoryLimiter(LimitConfig{Now: cfg.Now})
		if err != nil {
			return nil, err
		}
		cfg.Limiter = l
	}
	links, err := NewLinks(cfg.Bot, cfg.Codec)
	if err != nil {
		return nil, err
	}
	links.now = cfg.Now
	return &Handler{
		links: links, catalog: cfg.Catalog, state: cfg.State, limiter: cfg.Limiter,
		now: cfg.Now, log: cfg.Logger, maxBody: cfg.MaxBodyBytes,
	}, nil
}

// createRequest is the POST /invoices body.
type createRequest struct {
	ProductID string `json:"product_id"`
}

// createResponse is the 201 body.
type createResponse struct {
	InvoiceLink string `json:"invoice_link"`
	ProductID   string `json:"product_id"`
}

// Create serves POST /invoices for the user authenticated by the auth
// middleware: body {"product_id":"…"}, answer
// 201 {"invoice_link":"https://t.me/$…","product_id":"…"}.
//
// Checks run in this order, the cheap and stateless ones first, and the
// first failure answers (SPEC §4 error body):
//
//  1. authenticated user                        401 unauthorized
//  2. body: JSON object, product_id a non-empty
//     string, at most MaxBodyBytes              400 invalid_request
//  3. product in the catalog                    404 unknown_product
//  4. per-user rate limit                       429 rate_limited, Retry-After
//     (limiter unreachable                      503 unavailable)
//  5. not already active ([AlreadyActive])      409 already_active
//     (store unreachable                        503 unavailable)
//  6. createInvoiceLink                         502 telegram_error
//
// Requests refused at steps 1–3 cost no rate-limit budget; from step 4 on
// every request does, so a client cannot hammer the store or Telegram
// with requests that end in 409 or 502. Consumables skip step 5 and read
// no state. Nothing is created unless every check passed.
func (h *Handler) Create(c echo.Context) error {
	userID, ok := middleware.UserID(c)
	if !ok || userID <= 0 {
		return apierror.Write(c, apierror.Unauthorized())
	}

	productID, msg := h.readRequest(c)
	if msg != "" {
		return apierror.Write(c, apierror.New(http.StatusBadRequest, apierror.CodeInvalidRequest, msg))
	}
	product, ok := h.catalog.Product(productID)
	if !ok {
		return apierror.Write(c, apierror.New(http.StatusNotFound, apierror.CodeUnknownProduct,
			fmt.Sprintf("no product %q in the catalog", productID)))
	}

	ctx := c.Request().Context()
	allowed, retryAfter, err := h.limiter.Allow(ctx, userID)
	if err != nil {
		h.log.WarnContext(ctx, "starsgate: invoice rate limiter unavailable",
			slog.Int64("user_id", userID), slog.Any("error", err))
		return h.unavailable(c, err)
	}
	if !allowed {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.FormatInt(ceilSeconds(retryAfter), 10))
		return apierror.Write(c, apierror.New(http.StatusTooManyRequests, apierror.CodeRateLimited,
			"too many invoice requests, try again later"))
	}

	if product.Kind != entitlements.KindConsumable {
		st, err := h.state.State(ctx, userID)
		if err != nil {
			h.log.WarnContext(ctx, "starsgate: entitlement store unavailable for an invoice",
				slog.Int64("user_id", userID), slog.String("product_id", productID), slog.Any("error", err))
			return h.unavailable(c, err)
		}
		if AlreadyActive(product, &st, h.now()) {
			return apierror.Write(c, apierror.New(http.StatusConflict, apierror.CodeAlreadyActive,
				fmt.Sprintf("product %q is already active", productID)))
		}
	}

	link, err := h.links.Create(ctx, product, userID)
	if err != nil {
		return h.telegramError(c, userID, productID, err)
	}
	return c.JSON(http.StatusCreated, createResponse{InvoiceLink: link, ProductID: productID})
}

// readRequest returns the requested product ID, or a client-facing message
// saying what is wrong with the body.
func (h *Handler) readRequest(c echo.Context) (productID, problem string) {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, h.maxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", fmt.Sprintf("request body larger than %d bytes", h.maxBody)
		}
		return "", "could not read the request body"
	}
	var req createRequest
	if err := json.Unmarshal(data, &req); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return "", "product_id must be a string"
		}
		return "", "request body must be a JSON object: {\"product_id\":\"…\"}"
	}
	if req.ProductID == "" {
		return "", "product_id is required"
	}
	return req.ProductID, ""
}

// unavailable answers 503; err goes to logs only.
func (h *Handler) unavailable(c echo.Context, err error) error {
	e := apierror.Unavailable()
	e.Internal = err
	return apierror.Write(c, e)
}

// telegramError answers 502 with a fixed message: Telegram's description
// goes to the logs, not to the client. When Telegram asked us to slow
// down, its Retry-After is passed on.
func (h *Handler) telegramError(c echo.Context, userID int64, productID string, err error) error {
	ctx := c.Request().Context()
	attrs := []any{slog.Int64("user_id", userID), slog.String("product_id", productID), slog.Any("error", err)}
	if apiErr, ok := errors.AsType[*botapi.Error](err); ok {
		attrs = append(attrs, slog.Int("error_code", apiErr.Code))
	}
	h.log.WarnContext(ctx, "starsgate: createInvoiceLink failed", attrs...)
	if d, ok := botapi.RetryAfter(err); ok {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.FormatInt(ceilSeconds(d), 10))
	}
	return apierror.Write(c, &apierror.Error{
		Status: http.StatusBadGateway, Code: apierror.CodeTelegramError,
		Message: "Telegram could not create the invoice, try again later", Internal: err,
	})
}

// AlreadyActive reports whether selling p to the user whose state is st
// must be refused at now: a one-time product with an active grant (bought,
// or granted without payment), or a subscription product whose
// subscription is active, cancelled or not (a cancelled one keeps access to
// the end of its period and can be resumed instead). A grant without
// payment that names a subscription product (a trial) does not block
// subscribing. Consumables are never refused. The payment processor's
// pre-checkout check applies the same rule.
func AlreadyActive(p entitlements.Product, st *entitlements.State, now time.Time) bool {
	switch p.Kind {
	case entitlements.KindOneTime:
		return st.OwnsProduct(p.ID, now)
	case entitlements.KindSubscription:
		_, ok := st.ActiveGrant(entitlements.SubscriptionGrantID(p.ID), now)
		return ok
	}
	return false
}

// ceilSeconds rounds d up to whole seconds, at least one: a Retry-After of
// 0 would invite an immediate retry that fails again.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
