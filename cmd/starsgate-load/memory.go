package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/middleware"
)

// subscriberStore answers every Load with a fresh state of a subscriber
// (one grant of feature, as a store would decode it), so the checker's
// cache is measured without a store holding a million users. Everything
// but Load is the embedded memory store's.
type subscriberStore struct {
	*entitlements.MemoryStore
}

func (subscriberStore) Load(ctx context.Context, userID int64) (entitlements.State, error) {
	if err := ctx.Err(); err != nil {
		return entitlements.State{}, err
	}
	charge := "stxLoad" + strconv.FormatInt(userID, 10)
	return entitlements.State{
		UserID: userID, Version: 2,
		Grants: []entitlements.Grant{{
			ID: "sub:pro", ProductID: "pro", Source: entitlements.SourceSubscription,
			Features: []string{feature}, ExpiresAt: time.Now().Add(30 * 24 * time.Hour), AutoRenew: true,
			ChargeID: charge, FirstChargeID: charge, GrantedAt: time.Now(),
		}},
		Credits: map[string]int64{},
	}, nil
}

// memSample is the process's memory after a full GC.
type memSample struct {
	users     int
	heap      uint64 // runtime.MemStats.HeapAlloc
	rss       uint64 // VmRSS, 0 where /proc is missing
	cached    int    // checker.Len(), -1 when not applicable
	wallclock time.Duration
}

func sampleMemory(users, cached int, start time.Time) memSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{users: users, heap: ms.HeapAlloc, rss: vmRSS(), cached: cached, wallclock: time.Since(start)}
}

// vmRSS reads the resident set size from /proc/self/status.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// checkpoints returns the user counts at which memory is sampled: a few
// round numbers below users, and users.
func checkpoints(users int) []int {
	var cps []int
	for _, n := range []int{10_000, 50_000, 100_000, 200_000, 500_000} {
		if n < users {
			cps = append(cps, n)
		}
	}
	return append(cps, users)
}

// memory: o.users distinct users, first through the entitlement checker
// alone (Has), then through Auth on an Echo route (in process, no network:
// each user's init data is signed just before its request and dropped
// after). Both caches stay alive to the end, so the last RSS holds both at
// their bounds.
func memory(ctx context.Context, o options, w io.Writer) (*comparison, error) {
	authCache := cmpOrInt(o.authCache, middleware.DefaultCacheSize)
	maxUsers := cmpOrInt(o.maxUsers, entitlements.DefaultCheckerMaxUsers)
	fmt.Fprintf(w, "\n== memory: %d distinct users; Auth CacheSize %d, Checker MaxUsers %d\n", o.users, authCache, maxUsers)
	start := time.Now()
	base := sampleMemory(0, 0, start)
	fmt.Fprintf(w, "before: heap %s, RSS %s\n", mib(base.heap), mib(base.rss))

	checker, err := entitlements.NewChecker(subscriberStore{entitlements.NewMemoryStore()},
		entitlements.CheckerConfig{MaxUsers: o.maxUsers, TTL: time.Hour})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nentitlement checker (Has, subscriber with one grant):\n")
	checkerSamples, err := fill(ctx, o.users, start, checker.Len, func(u int64) error {
		okay, err := checker.Has(ctx, u, feature)
		if err == nil && !okay {
			err = fmt.Errorf("user %d: not entitled", u)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	printSamples(w, base, checkerSamples, maxUsers)

	auth, err := middleware.AuthConfig{BotToken: loadToken, CacheSize: o.authCache}.ToMiddleware()
	if err != nil {
		return nil, err
	}
	e := newEcho()
	e.GET("/auth", ok, auth)
	fmt.Fprintf(w, "\nverified-initData cache (Auth on an Echo route, in process; its length is not exported):\n")
	authBase := checkerSamples[len(checkerSamples)-1]
	now := time.Now()
	authSamples, err := fill(ctx, o.users, start, func() int { return -1 }, func(u int64) error {
		raw := middleware.SignInitData(loadToken, middleware.User{ID: u, FirstName: "Load", Username: "load" + strconv.FormatInt(u, 10)}, now)
		req := httptest.NewRequest(http.MethodGet, "/auth", nil)
		req.Header.Set(echo.HeaderAuthorization, "tma "+raw)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("user %d: status %d", u, rec.Code)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	authBase.users = 0
	printSamples(w, authBase, authSamples, authCache)
	last := authSamples[len(authSamples)-1]
	fmt.Fprintf(w, "\nat the end, both caches alive: heap %s, RSS %s (before: RSS %s); checker %d users\n",
		mib(last.heap), mib(last.rss), mib(base.rss), checker.Len())
	runtime.KeepAlive(checker)
	runtime.KeepAlive(e)
	return nil, nil
}

// fill sends users firstUser … firstUser+n-1 through do on all cores,
// sampling memory at each checkpoint.
func fill(ctx context.Context, n int, start time.Time, length func() int, do func(u int64) error) ([]memSample, error) {
	var samples []memSample
	done := 0
	for _, cp := range checkpoints(n) {
		var next atomic.Int64
		next.Store(int64(done))
		var wg sync.WaitGroup
		errs := make([]error, runtime.GOMAXPROCS(0))
		for wi := range errs {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := next.Add(1) - 1
					if i >= int64(cp) {
						return
					}
					if err := do(firstUser + i); err != nil {
						errs[wi] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		done = cp
		samples = append(samples, sampleMemory(cp, length(), start))
	}
	return samples, nil
}

// printSamples prints the growth of heap and RSS over base, and the bytes
// per cached user while every user so far fits the bound.
func printSamples(w io.Writer, base memSample, samples []memSample, bound int) {
	fmt.Fprintf(w, "%10s %10s %12s %12s %14s %10s\n", "users", "cached", "heap growth", "RSS growth", "heap B/cached", "elapsed")
	for _, s := range samples {
		cached := strconv.Itoa(s.cached)
		n := s.cached
		if s.cached < 0 {
			cached = "n/a"
			n = min(s.users, bound) // every verified init data is inserted
		}
		growth := int64(s.heap) - int64(base.heap)
		fmt.Fprintf(w, "%10d %10s %12s %12s %14.0f %10s\n", s.users, cached, mib(uint64(max(0, growth))),
			mib(uint64(max(0, int64(s.rss)-int64(base.rss)))), float64(growth)/float64(max(1, n)), s.wallclock.Round(time.Millisecond))
	}
	peak := slices.MaxFunc(samples, func(a, b memSample) int { return int(int64(a.heap) - int64(b.heap)) })
	fmt.Fprintf(w, "bound %d; peak heap growth %s at %d users\n", bound, mib(uint64(max(0, int64(peak.heap)-int64(base.heap)))), peak.users)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
