package starsgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate"
	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/sandbox"
)

// A whole purchase against the sandbox, as in an app's own tests: the gate
// long-polls the fake Bot API, the simulated user pays, and the guard lets
// the user in.
func Example_sandbox() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb, _ := sandbox.New(sandbox.Config{Logger: quiet})
	defer sb.Close()

	catalog, _ := entitlements.NewCatalog(entitlements.Product{
		ID: "pro", Title: "Pro", Description: "Premium, monthly", Price: 100,
		Kind: entitlements.KindSubscription, Features: []string{"premium"},
	})
	gate, err := starsgate.New(starsgate.Config{
		BotToken: sb.Token(), APIURL: sb.URL(), Catalog: catalog,
		Store: entitlements.NewMemoryStore(), Logger: quiet,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = gate.Start(ctx)
	go gate.Poll(ctx) // no public URL: long polling

	e := echo.New()
	gate.Mount(e.Group("/stars"))
	e.GET("/api/premium", func(c echo.Context) error { return c.String(http.StatusOK, "hello") },
		gate.Auth(), gate.Require("premium"))
	srv := httptest.NewServer(e)
	defer srv.Close()

	user := botapi.User{ID: 42, FirstName: "Ann"}
	auth := "tma " + sb.SignInitData(user, time.Now())
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	status, _ := call(http.MethodGet, "/api/premium", "")
	fmt.Println("before:", status)
	_, inv := call(http.MethodPost, "/stars/invoices", `{"product_id":"pro"}`)
	if _, err := sb.Pay(ctx, user, inv["invoice_link"].(string)); err != nil {
		fmt.Println(err)
		return
	}
	_, me := call(http.MethodGet, "/stars/me?after_version=0&timeout=10s", "")
	fmt.Println("version:", me["version"])
	status, _ = call(http.MethodGet, "/api/premium", "")
	fmt.Println("after:", status)
	// Output:
	// before: 402
	// version: 1
	// after: 200
}
