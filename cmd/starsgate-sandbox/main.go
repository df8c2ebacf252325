// Command starsgate-sandbox runs the fake Telegram Bot API server of package
// sandbox on its own, for local development and for tests that drive a
// separately running app:
//
//	go run ./cmd/starsgate-sandbox -addr 127.0.0.1:8081
//
// Point the app's Bot API base URL at the printed URL and use the printed
// token; drive payments with the JSON control API under /sandbox/ (see
// docs/testing.md). Flags fall back to the environment variables
// SANDBOX_ADDR, SANDBOX_TOKEN and SANDBOX_BOT_USERNAME.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/starsgate/starsgate/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run starts the sandbox and serves until ctx ends. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("starsgate-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "SANDBOX_ADDR", "127.0.0.1:8081"), "listen address (env SANDBOX_ADDR)")
	token := fs.String("token", envOr(getenv, "SANDBOX_TOKEN", sandbox.DefaultToken), "bot token to accept, <bot id>:<secret> (env SANDBOX_TOKEN)")
	username := fs.String("username", envOr(getenv, "SANDBOX_BOT_USERNAME", sandbox.DefaultBotUsername), "bot username (env SANDBOX_BOT_USERNAME)")
	verbose := fs.Bool("v", false, "log every call and delivery")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	sb, err := sandbox.New(sandbox.Config{Addr: *addr, Token: *token, BotUsername: *username, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "starsgate-sandbox:", err)
		return 1
	}
	fmt.Fprintf(stdout, "starsgate sandbox listening on %s\n", sb.URL())
	fmt.Fprintf(stdout, "bot token: %s (bot id %d, @%s)\n", sb.Token(), sb.BotID(), *username)
	fmt.Fprintf(stdout, "Bot API:   %s/bot<token>/<method>\n", sb.URL())
	fmt.Fprintf(stdout, "control:   %s/sandbox/  (pay, renew, cancel, reactivate, fail, advance, initdata, message, ...)\n", sb.URL())

	<-ctx.Done()
	logger.Info("shutting down")
	sb.Close()
	return 0
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
