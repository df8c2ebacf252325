package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/starsgate/starsgate/entitlements"
)

// demoCatalog is the catalog used when CATALOG_FILE is empty: a subscription
// granting "premium", a one-time product and a consumable adding "credits".
//
//go:embed demo_catalog.json
var demoCatalog []byte

// settings is the example's configuration, read from the environment
// (SPEC §8; docs/configuration.md).
type settings struct {
	Addr          string // ADDR
	BotToken      string // BOT_TOKEN; empty = sandbox mode
	APIURL        string // TELEGRAM_API_URL
	TestEnv       bool   // TELEGRAM_TEST_ENV=1
	RedisURL      string // REDIS_URL
	RedisPrefix   string // REDIS_PREFIX
	WebhookSecret string // WEBHOOK_SECRET
	PublicURL     string // PUBLIC_URL, without a trailing slash
	CatalogFile   string // CATALOG_FILE
	Catalog       *entitlements.Catalog
}

var errConfig = errors.New("bad configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errConfig}, args...)...)
}

// sandboxMode reports whether the example runs its own fake Bot API.
func (s *settings) sandboxMode() bool { return s.BotToken == "" }

// readSettings reads and checks the environment. It logs nothing, so that a
// bad configuration is reported as one line by main.
func readSettings(env func(string) string) (*settings, error) {
	get := func(k string) string { return strings.TrimSpace(env(k)) }
	s := &settings{
		Addr:          get("ADDR"),
		BotToken:      get("BOT_TOKEN"),
		APIURL:        get("TELEGRAM_API_URL"),
		RedisURL:      get("REDIS_URL"),
		RedisPrefix:   get("REDIS_PREFIX"),
		WebhookSecret: get("WEBHOOK_SECRET"),
		PublicURL:     strings.TrimRight(get("PUBLIC_URL"), "/"),
		CatalogFile:   get("CATALOG_FILE"),
	}
	if s.Addr == "" {
		s.Addr = "127.0.0.1:8080"
	}
	switch v := get("TELEGRAM_TEST_ENV"); strings.ToLower(v) {
	case "", "0", "false", "no", "off":
	case "1", "true", "yes", "on":
		s.TestEnv = true
	default:
		return nil, configErr("TELEGRAM_TEST_ENV must be 1 or 0, got %q", v)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, configErr("PUBLIC_URL must be an absolute http(s) URL such as https://app.example.com, got %q", s.PublicURL)
		}
		if s.WebhookSecret == "" {
			return nil, configErr("WEBHOOK_SECRET is required when PUBLIC_URL is set (1-256 characters of A-Z a-z 0-9 _ -)")
		}
	}
	var err error
	if s.CatalogFile == "" {
		if s.Catalog, err = entitlements.LoadCatalog(bytes.NewReader(demoCatalog)); err != nil {
			return nil, configErr("the built-in demo catalog: %w", err)
		}
	} else if s.Catalog, err = entitlements.LoadCatalogFile(s.CatalogFile); err != nil {
		return nil, configErr("CATALOG_FILE: %w", err) // the error names the file
	}
	return s, nil
}
