// Package redistest connects tests to the real Redis that the project's test
// command provides, and isolates each test under its own key prefix.
//
// A test that cannot reach Redis fails: scripts/test.sh always provides one
// (REDIS_URL, 127.0.0.1:6379, or a throwaway server), so a missing Redis is a
// broken set-up, not a reason to skip.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is the Redis the tests use: $REDIS_URL, else redis://127.0.0.1:6379/0.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Client returns a new client to the test Redis, closed when the test ends.
// It fails the test when Redis does not answer PING.
func Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("redistest: bad REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		tb.Fatalf("redistest: Redis at %s is unreachable (run the tests with `make test`): %v", opts.Addr, err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Prefix returns a key prefix unique to this test and deletes every key under
// it when the test ends. Never FLUSHALL: the Redis is shared.
func Prefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "_", " ", "_", "*", "_", "?", "_", "[", "_", "]", "_", "{", "_", "}", "_").Replace(tb.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	prefix := "sgtest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { Cleanup(tb, prefix) })
	return prefix
}

// Cleanup deletes every key that starts with prefix.
func Cleanup(tb testing.TB, prefix string) {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		return
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
}
