package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
)

// loadToken is the bot token of the measured server; init data are signed
// with it. It is not a real bot's.
const loadToken = "7000000001:starsgate-load-AAAAAAAAAAAAAAAAAAAAAAA"

// newEcho returns an Echo without banner, port line or logging middleware.
func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}

// serve serves h on a free port of 127.0.0.1 until stop is called.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// ok is the handler of every measured GET route.
func ok(c echo.Context) error { return c.String(http.StatusOK, "ok") }

// roundTrips counts the client's Redis round trips: one per command, one
// per pipeline (or transaction) however many commands it holds.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisEnv is a Redis client for one scenario, its key prefix, and the
// round-trip counter installed on it.
type redisEnv struct {
	rdb    *redis.Client
	prefix string
	trips  *roundTrips
}

// openRedis connects to addr ("host:port" or a redis:// URL) and picks a
// key prefix unique to this run. close deletes every key under the prefix.
func openRedis(ctx context.Context, addr string, poolSize int) (*redisEnv, error) {
	opts := &redis.Options{Addr: addr}
	if strings.Contains(addr, "://") {
		var err error
		if opts, err = redis.ParseURL(addr); err != nil {
			return nil, fmt.Errorf("bad -redis: %w", err)
		}
	}
	opts.PoolSize = max(opts.PoolSize, poolSize)
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s is unreachable: %w", opts.Addr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	env := &redisEnv{rdb: rdb, prefix: "sgload:" + hex.EncodeToString(b[:]) + ":", trips: &roundTrips{}}
	rdb.AddHook(env.trips)
	return env, nil
}

// close deletes the run's keys and closes the client. It uses a fresh
// context: the run's may already be cancelled.
func (r *redisEnv) close() error {
	defer r.rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	iter := r.rdb.Scan(ctx, 0, r.prefix+"*", 1000).Iterator()
	keys := make([]string, 0, 1000)
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == cap(keys) {
			errs = append(errs, r.rdb.Unlink(ctx, keys...).Err())
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		errs = append(errs, r.rdb.Unlink(ctx, keys...).Err())
	}
	errs = append(errs, iter.Err())
	return errors.Join(errs...)
}
