package main

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/botapi"
	clientjs "github.com/starsgate/starsgate/client-js"
	sgmw "github.com/starsgate/starsgate/middleware"
	"github.com/starsgate/starsgate/sandbox"
)

//go:embed web
var webFiles embed.FS

// demoUser is who the page plays in a desktop browser in sandbox mode.
var demoUser = botapi.User{ID: 10001, FirstName: "Demo", Username: "demo_user", LanguageCode: "en"}

// routes sets up:
//
//	/stars/...            the library (products, invoices, me, webhook)
//	GET  /api/premium     guarded by feature "premium"
//	POST /api/spend       spends one "credits"
//	GET  /client/...      @starsgate/client
//	GET  /config          {"sandbox":bool,"stars_base_url":"/stars"} for the page
//	GET  /                the page
//	/sandbox-dev/...      sandbox mode only: initData for a demo user, pay
func (a *app) routes() {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(a.logRequests)

	a.gate.Mount(e.Group("/stars"))

	api := e.Group("/api", a.gate.Auth())
	api.GET("/premium", premium, a.gate.Require("premium"))
	api.POST("/spend", spend, a.gate.Spend("credits", 1))

	client := echo.WrapHandler(http.StripPrefix("/client", clientjs.Handler()))
	e.GET("/client/*", client)
	e.HEAD("/client/*", client)
	e.GET("/config", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"sandbox": a.sb != nil, "stars_base_url": "/stars"})
	})
	web, _ := fs.Sub(webFiles, "web")
	e.GET("/*", echo.WrapHandler(http.FileServerFS(web)))

	if a.sb != nil {
		dev := e.Group("/sandbox-dev")
		dev.GET("/initdata", a.devInitData)
		dev.POST("/pay", a.devPay, a.gate.Auth())
	}
	a.e = e
}

// logRequests logs each request at debug level (echo's request logger
// would pull in another dependency for a demo).
func (a *app) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		a.log.Debug("request", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", c.Response().Status, "latency", time.Since(start))
		return err
	}
}

// premium is the app's own premium feature.
func premium(c echo.Context) error {
	user, _ := sgmw.UserFrom(c) // always there behind Auth
	return c.JSON(http.StatusOK, map[string]string{
		"message": "Hello " + user.FirstName + ", welcome to premium!",
	})
}

// spend is an action that costs one credit; the guard took it already.
func spend(c echo.Context) error {
	left, _ := sgmw.BalanceAfterSpend(c, "credits")
	return c.JSON(http.StatusOK, map[string]int64{"credits": left})
}

// devInitData signs initData for the demo user (or ?user_id=N), so the page
// works in a desktop browser in sandbox mode. Sandbox mode only: with a real
// bot nobody but Telegram can sign initData.
func (a *app) devInitData(c echo.Context) error {
	user := demoUser
	if raw := c.QueryParam("user_id"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return c.JSON(http.StatusBadRequest, errBody("invalid_request", "user_id must be a positive integer"))
		}
		user = botapi.User{ID: id, FirstName: "User " + raw}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"init_data": a.sb.SignInitData(user, time.Now()),
		"user":      user,
	})
}

// devPay is the simulated payment sheet's Pay button: the authenticated
// user pays the invoice in the in-process sandbox (pre-checkout query, then
// successful_payment, as Telegram would).
func (a *app) devPay(c echo.Context) error {
	var req struct {
		InvoiceLink string `json:"invoice_link"`
		// DeliveryDelay (a Go duration) holds the payment's update back,
		// to try a slow webhook (sandbox.PayOptions.DeliveryDelay).
		DeliveryDelay string `json:"delivery_delay"`
	}
	const usage = `body must be {"invoice_link":"https://t.me/$…"} with an optional "delivery_delay":"3s"`
	if err := c.Bind(&req); err != nil || req.InvoiceLink == "" {
		return c.JSON(http.StatusBadRequest, errBody("invalid_request", usage))
	}
	var opts sandbox.PayOptions
	if req.DeliveryDelay != "" {
		d, err := time.ParseDuration(req.DeliveryDelay)
		if err != nil || d < 0 || d > time.Minute {
			return c.JSON(http.StatusBadRequest, errBody("invalid_request", usage+" (at most 1m)"))
		}
		opts.DeliveryDelay = d
	}
	u, _ := sgmw.UserFrom(c)
	user := botapi.User{ID: u.ID, FirstName: u.FirstName, Username: u.Username, LanguageCode: u.LanguageCode}
	receipt, err := a.sb.PayWith(c.Request().Context(), user, req.InvoiceLink, opts)
	var declined *sandbox.DeclinedError
	switch {
	case errors.As(err, &declined):
		return c.JSON(http.StatusConflict, errBody("declined", declined.Message))
	case errors.Is(err, sandbox.ErrUnknownInvoice):
		return c.JSON(http.StatusNotFound, errBody("unknown_invoice", "this invoice link was not made by the sandbox"))
	case err != nil:
		a.log.Warn("sandbox payment failed", "user_id", u.ID, "error", err)
		return c.JSON(http.StatusBadGateway, errBody("payment_failed", err.Error()))
	}
	a.log.Info("sandbox payment", "user_id", u.ID, "charge_id", receipt.ChargeID, "amount", receipt.Amount)
	return c.JSON(http.StatusOK, receipt)
}

func errBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}
