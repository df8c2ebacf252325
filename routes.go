package starsgate

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/apierror"
	sgmw "github.com/starsgate/starsgate/middleware"
)

// Mount serves the SPEC §4 routes on grp:
//
//	GET  /products  the catalog (no authentication)
//	POST /invoices  an invoice link for openInvoice (Auth)
//	GET  /me        the user's entitlements and credits, with a long poll (Auth)
//	POST /webhook   Telegram's updates (only when WebhookSecret is set)
func (g *Gate) Mount(grp *echo.Group) {
	grp.GET("/products", g.handleProducts)
	grp.POST("/invoices", g.handleInvoice, g.auth)
	grp.GET("/me", g.handleMe, g.auth)
	if g.cfg.WebhookSecret != "" {
		grp.POST("/webhook", g.handleWebhook)
	}
}

type productJSON struct {
	ID              string           `json:"id"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	Price           int64            `json:"price"`
	Currency        string           `json:"currency"`
	Kind            string           `json:"kind"`
	PeriodSeconds   int64            `json:"period_seconds,omitempty"`
	DurationSeconds int64            `json:"duration_seconds,omitempty"`
	Features        []string         `json:"features"`
	Credits         map[string]int64 `json:"credits"`
	PhotoURL        string           `json:"photo_url,omitempty"`
}

// renderProducts renders GET /products once: the catalog is immutable.
func renderProducts(c *entitlements.Catalog) ([]byte, error) {
	list := c.Products()
	out := make([]productJSON, 0, len(list))
	for _, p := range list {
		j := productJSON{
			ID: p.ID, Title: p.Title, Description: p.Description, Price: p.Price,
			Currency: entitlements.CurrencyStars, Kind: string(p.Kind),
			Features: p.Features, Credits: p.Credits, PhotoURL: p.PhotoURL,
		}
		if j.Features == nil {
			j.Features = []string{}
		}
		if j.Credits == nil {
			j.Credits = map[string]int64{}
		}
		switch p.Kind {
		case entitlements.KindSubscription:
			j.PeriodSeconds = int64(entitlements.SubscriptionPeriod / time.Second)
		case entitlements.KindOneTime:
			j.DurationSeconds = int64(p.Duration / time.Second)
		}
		out = append(out, j)
	}
	return json.Marshal(map[string]any{"products": out})
}

func (g *Gate) handleProducts(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, g.products)
}

type meJSON struct {
	UserID       int64             `json:"user_id"`
	Version      int64             `json:"version"`
	Entitlements []entitlementJSON `json:"entitlements"`
	Credits      map[string]int64  `json:"credits"`
}

type entitlementJSON struct {
	Feature   string  `json:"feature"`
	ProductID string  `json:"product_id"`
	Source    string  `json:"source"`
	ExpiresAt *string `json:"expires_at"` // RFC 3339, null for life
	AutoRenew bool    `json:"auto_renew"`
}

// handleMe answers GET /me, at once or, with after_version, as soon as the
// user's version exceeds it (or at the timeout with the current state).
func (g *Gate) handleMe(c echo.Context) error {
	userID, ok := sgmw.UserID(c)
	if !ok {
		return apierror.Write(c, apierror.Unauthorized())
	}
	ctx := c.Request().Context()
	var (
		st  entitlements.State
		err error
	)
	if raw := c.QueryParam("after_version"); raw != "" {
		after, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil || after < 0 {
			return apierror.Write(c, apierror.New(http.StatusBadRequest, apierror.CodeInvalidRequest,
				"after_version must be a non-negative integer"))
		}
		timeout := DefaultMeTimeout
		if rawT := c.QueryParam("timeout"); rawT != "" {
			timeout, perr = time.ParseDuration(rawT)
			if perr != nil || timeout <= 0 {
				return apierror.Write(c, apierror.New(http.StatusBadRequest, apierror.CodeInvalidRequest,
					`timeout must be a positive Go duration such as "25s"`))
			}
		}
		timeout = min(timeout, MaxMeTimeout)
		wctx, cancel := context.WithTimeout(ctx, timeout)
		st, err = g.checker.WaitVersion(wctx, userID, after)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil // the client left: nobody to answer
		}
	} else {
		st, err = g.checker.State(ctx, userID)
	}
	if err != nil {
		g.log.Warn("starsgate: GET /me: store unavailable", "user_id", userID, "error", err)
		return apierror.Write(c, apierror.Unavailable())
	}
	return c.JSON(http.StatusOK, meBody(userID, st, g.now()))
}

func meBody(userID int64, st entitlements.State, now time.Time) meJSON {
	ents := st.Entitlements(now)
	out := meJSON{
		UserID: userID, Version: st.Version,
		Entitlements: make([]entitlementJSON, 0, len(ents)),
		Credits:      make(map[string]int64, len(st.Credits)),
	}
	for _, e := range ents {
		j := entitlementJSON{Feature: e.Feature, ProductID: e.ProductID, Source: string(e.Source), AutoRenew: e.AutoRenew}
		if !e.ExpiresAt.IsZero() {
			s := e.ExpiresAt.UTC().Format(time.RFC3339)
			j.ExpiresAt = &s
		}
		out.Entitlements = append(out.Entitlements, j)
	}
	for k, v := range st.Credits { // the state is shared with the cache: copy
		out.Credits[k] = v
	}
	return out
}
