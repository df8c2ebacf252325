// Command example is a working Telegram Mini App backend built on starsgate:
// it sells the products of a catalog for Telegram Stars, guards a premium
// route and a credit-spending route, and serves a web page that runs inside
// Telegram and, in sandbox mode, in any desktop browser.
//
//	go run ./example                 # sandbox mode: no bot, no Telegram account
//	BOT_TOKEN=… go run ./example     # a real bot (long polling)
//
// Configuration is read from the environment: ADDR, BOT_TOKEN,
// TELEGRAM_API_URL, TELEGRAM_TEST_ENV, REDIS_URL, REDIS_PREFIX,
// WEBHOOK_SECRET, PUBLIC_URL, CATALOG_FILE (see docs/configuration.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		// One line, whatever the error: scripts and people read the last line.
		fmt.Fprintln(os.Stderr, "example: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
}

// run starts the backend and serves until ctx ends, then shuts down
// gracefully. It prints the listening URL to stdout and logs to stderr.
// Configuration errors are returned before anything is logged.
func run(ctx context.Context, env func(string) string, stdout, stderr io.Writer) error {
	s, err := readSettings(env)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, s, stderr)
	if err != nil {
		return err
	}
	return a.serve(ctx, stdout)
}
