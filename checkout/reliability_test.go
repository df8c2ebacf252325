package checkout_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/checkout"
	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/internal/redistest"
)

// The same successful_payment, delivered 100 times at once to the webhooks
// of two processors (two app instances) sharing one store, is recorded
// once, with one grant and one event.
func TestDuplicateDeliveriesAcrossInstances(t *testing.T) {
	shared := entitlements.NewMemoryStore()
	prefix := redistest.Prefix(t)
	setups := []struct {
		name   string
		stores func(t *testing.T) [2]entitlements.Store
	}{
		{"ok, two Redis clients and stores on one Redis", func(t *testing.T) [2]entitlements.Store {
			opts := entitlements.RedisOptions{Prefix: prefix, Logger: quiet}
			return [2]entitlements.Store{
				entitlements.NewRedisStore(redistest.Client(t), opts),
				entitlements.NewRedisStore(redistest.Client(t), opts),
			}
		}},
		{"ok, one memory store", func(*testing.T) [2]entitlements.Store { return [2]entitlements.Store{shared, shared} }},
	}
	for _, tc := range setups {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			stores := tc.stores(t)
			codec := newCodec(t, "100000001:sandbox-token")
			var evs events
			var hooks [2]string // each instance's webhook URL
			for i := range hooks {
				p, err := checkout.New(checkout.Config{
					Bot: &fakeBot{}, Catalog: testCatalog(t), Store: stores[i], Payloads: codec,
					WebhookSecret: hookSecret, OnEvent: evs.add, Logger: quiet,
				})
				require.NoError(t, err)
				e := echo.New()
				e.POST("/webhook", p.Webhook())
				srv := httptest.NewServer(e)
				t.Cleanup(srv.Close)
				hooks[i] = srv.URL + "/webhook"
			}
			payload, err := codec.Encode(invoicePayload("lifetime", alice.ID))
			require.NoError(t, err)
			raw := successfulPaymentUpdate(t, 7, alice, "charge-dup-1", payload, 500)

			// Telegram's retries and a second instance behind the load
			// balancer: every delivery is answered 200.
			var wg sync.WaitGroup
			statuses := make(chan int, 100)
			for i := range 100 {
				wg.Go(func() {
					req, err := http.NewRequestWithContext(ctx, http.MethodPost, hooks[i%2], bytes.NewReader(raw))
					if !assert.NoError(t, err) {
						return
					}
					req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
					req.Header.Set(checkout.SecretTokenHeader, hookSecret)
					resp, err := http.DefaultClient.Do(req)
					if !assert.NoError(t, err) {
						return
					}
					_ = resp.Body.Close()
					statuses <- resp.StatusCode
				})
			}
			wg.Wait()
			close(statuses)
			n := 0
			for code := range statuses {
				assert.Equal(t, http.StatusOK, code)
				n++
			}
			require.Equal(t, 100, n, "every delivery answered")
			st, err := stores[0].Load(ctx, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(1), st.Version, "one change")
			require.Len(t, st.Grants, 1)
			assert.Equal(t, entitlements.OneTimeGrantID("charge-dup-1"), st.Grants[0].ID)
			_, err = stores[1].Payment(ctx, alice.ID, "charge-dup-1")
			require.NoError(t, err)
			assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased}, evs.types())
		})
	}
}

// redisServer is a throwaway redis-server this test owns, so that it can be
// stopped and started again without touching the shared one.
type redisServer struct {
	t    *testing.T
	port string
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on PATH (run the tests with `make test`): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	s := &redisServer{t: t, port: port}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + s.port }

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", s.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(s.t, s.cmd.Start())
	rdb := redis.NewClient(&redis.Options{Addr: s.addr()})
	defer rdb.Close()
	require.Eventually(s.t, func() bool { return rdb.Ping(context.Background()).Err() == nil },
		10*time.Second, 10*time.Millisecond, "redis-server did not start")
}

func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// stopOnAnswer stops Redis right after the pre-checkout answer, so that the
// successful_payment that follows finds the store down.
type stopOnAnswer struct {
	checkout.Bot
	once sync.Once
	stop func()
}

func (b *stopOnAnswer) AnswerPreCheckoutQuery(ctx context.Context, p botAnswer) error {
	err := b.Bot.AnswerPreCheckoutQuery(ctx, p)
	b.once.Do(b.stop)
	return err
}

func TestRedisOutageRedelivery(t *testing.T) {
	srv := startRedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	store := entitlements.NewRedisStore(rdb, entitlements.RedisOptions{Prefix: "outage:", Logger: quiet})
	bot := &stopOnAnswer{stop: srv.stop}
	e := newEnv(t, store, func(c *checkout.Config) { bot.Bot = c.Bot; c.Bot = bot })
	ctx := testCtx(t)

	r, err := e.sb.Pay(ctx, alice, e.link(t, "lifetime", alice.ID, 0))
	require.NoError(t, err)
	// The store is down: the webhook answers 5xx and the sandbox retries.
	require.Eventually(t, func() bool {
		rec, ok := e.sb.Update(r.UpdateID)
		return ok && len(rec.Attempts) >= 2
	}, 10*time.Second, 5*time.Millisecond)
	rec, _ := e.sb.Update(r.UpdateID)
	for _, a := range rec.Attempts {
		assert.Equal(t, http.StatusServiceUnavailable, a.StatusCode)
	}
	assert.Empty(t, e.events.types())

	srv.start()
	require.NoError(t, e.sb.WaitIdle(ctx))
	assert.True(t, e.has(t, alice.ID, "pro"), "the redelivered payment is recorded")
	st := e.state(t, alice.ID)
	assert.Equal(t, int64(1), st.Version, "recorded once")
	assert.Equal(t, []entitlements.EventType{entitlements.EventPurchased}, e.events.types())
}
