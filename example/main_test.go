package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

// urlWatcher is run's stdout: it hands over the URL from the first
// "listening on" line.
type urlWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
	url  chan string
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if i := strings.Index(w.buf.String(), "listening on "); i >= 0 {
		rest := w.buf.String()[i+len("listening on "):]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			w.once.Do(func() { w.url <- rest[:j] })
		}
	}
	return len(p), nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// client is a tiny HTTP client for the example's routes.
type client struct {
	t    *testing.T
	base string
}

func (c client) call(method, path, initData string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if initData != "" {
		req.Header.Set("Authorization", "tma "+initData)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(c.t, json.Unmarshal(raw, &out), "%s %s: body %q", method, path, raw)
	}
	return res.StatusCode, out
}

// buy creates an invoice for productID, has pay settle it, and waits on the
// long poll of /stars/me until the purchase is recorded.
func buy(t *testing.T, app client, initData, productID string, pay func(link string)) map[string]any {
	t.Helper()
	status, me := app.call(http.MethodGet, "/stars/me", initData, nil)
	require.Equal(t, http.StatusOK, status, "%v", me)
	before := int64(me["version"].(float64))

	status, inv := app.call(http.MethodPost, "/stars/invoices", initData, map[string]string{"product_id": productID})
	require.Equal(t, http.StatusCreated, status, "%v", inv)
	link := inv["invoice_link"].(string)
	require.True(t, strings.HasPrefix(link, "https://t.me/$"), link)
	pay(link)

	status, me = app.call(http.MethodGet, fmt.Sprintf("/stars/me?after_version=%d&timeout=20s", before), initData, nil)
	require.Equal(t, http.StatusOK, status, "%v", me)
	require.Greater(t, int64(me["version"].(float64)), before, "the payment was not recorded: %v", me)
	return me
}

func features(me map[string]any) []string {
	var out []string
	for _, e := range me["entitlements"].([]any) {
		out = append(out, e.(map[string]any)["feature"].(string))
	}
	return out
}

// checkFlow buys the premium subscription and ten credits, then uses them.
func checkFlow(t *testing.T, app client, initData string, pay func(link string)) {
	t.Helper()
	status, body := app.call(http.MethodGet, "/stars/products", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["products"], 3)

	status, body = app.call(http.MethodGet, "/api/premium", initData, nil)
	require.Equal(t, http.StatusPaymentRequired, status)
	assert.Equal(t, "payment_required", body["error"].(map[string]any)["code"])

	me := buy(t, app, initData, "premium_month", pay)
	assert.Equal(t, []string{"premium"}, features(me))
	ent := me["entitlements"].([]any)[0].(map[string]any)
	assert.Equal(t, "premium_month", ent["product_id"])
	assert.Equal(t, "subscription", ent["source"])
	assert.Equal(t, true, ent["auto_renew"])
	assert.NotNil(t, ent["expires_at"])

	status, body = app.call(http.MethodGet, "/api/premium", initData, nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Contains(t, body["message"], "premium")

	status, body = app.call(http.MethodPost, "/api/spend", initData, nil)
	require.Equal(t, http.StatusPaymentRequired, status)
	assert.Equal(t, "insufficient_credits", body["error"].(map[string]any)["code"])

	me = buy(t, app, initData, "credits_10", pay)
	assert.Equal(t, map[string]any{"credits": float64(10)}, me["credits"])
	for want := 9; want >= 8; want-- {
		status, body = app.call(http.MethodPost, "/api/spend", initData, nil)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.Equal(t, float64(want), body["credits"])
	}
	_, me = app.call(http.MethodGet, "/stars/me", initData, nil)
	assert.Equal(t, map[string]any{"credits": float64(8)}, me["credits"])
}

// TestRun_SandboxMode runs the example with no configuration at all and
// drives the whole flow over HTTP, paying through the example-only
// endpoint the page's simulated payment sheet uses.
func TestRun_SandboxMode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &urlWatcher{url: make(chan string, 1)}
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(map[string]string{"ADDR": "127.0.0.1:0"}), stdout, stderr) }()
	var base string
	select {
	case base = <-stdout.url:
	case err := <-done:
		t.Fatalf("run ended early: %v\n%s", err, stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("no listening line\n%s", stderr)
	}
	app := client{t: t, base: base}

	status, dev := app.call(http.MethodGet, "/sandbox-dev/initdata", "", nil)
	require.Equal(t, http.StatusOK, status)
	initData := dev["init_data"].(string)
	require.NotEmpty(t, initData)

	checkFlow(t, app, initData, func(link string) {
		status, receipt := app.call(http.MethodPost, "/sandbox-dev/pay", initData, map[string]string{"invoice_link": link})
		require.Equal(t, http.StatusOK, status, "%v", receipt)
		require.NotEmpty(t, receipt["charge_id"])
	})

	// The page and the client are served.
	res, err := http.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(page), "https://telegram.org/js/telegram-web-app.js")
	for _, id := range []string{`id="products"`, `id="entitlements"`, `id="credits"`, `id="premium-result"`, `id="spend-result"`, `id="sheet-pay"`, `id="sheet-cancel"`} {
		assert.Contains(t, string(page), id)
	}
	res, err = http.Get(base + "/client/index.js")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "javascript")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "graceful shutdown")
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	assert.Contains(t, stderr.String(), "msg=stopped")
}

// binaries builds the example and the standalone sandbox once per run.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "starsgate-example-test-")
	if err != nil {
		return "", err
	}
	for _, b := range []struct{ out, pkg string }{
		{"example", "."},
		{"starsgate-sandbox", "../cmd/starsgate-sandbox"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binaries(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func binDir(t *testing.T) string {
	t.Helper()
	dir, err := binaries()
	require.NoError(t, err)
	return dir
}

// startProcess starts a binary and returns the URL of its "listening on"
// line. The process gets SIGTERM at the end of the test and must exit 0.
func startProcess(t *testing.T, bin string, args []string, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case urlc <- strings.TrimSpace(u):
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			assert.NoError(t, err, "%s did not exit cleanly:\n%s", filepath.Base(bin), stderr)
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop on SIGTERM:\n%s", filepath.Base(bin), stderr)
		}
	})
	select {
	case u := <-urlc:
		return u
	case err := <-exited:
		t.Fatalf("%s exited early: %v\n%s", filepath.Base(bin), err, stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s printed no URL:\n%s", filepath.Base(bin), stderr)
	}
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestBinary_RealMode runs the example binary as with a real bot, against
// the standalone sandbox binary and the test Redis: once with a webhook,
// once with long polling, completing purchases in each.
func TestBinary_RealMode(t *testing.T) {
	dir := binDir(t)
	for _, mode := range []string{"webhook", "long polling"} {
		t.Run("ok, "+mode, func(t *testing.T) {
			redistest.Client(t) // fails fast when the test Redis is missing
			sbURL := startProcess(t, filepath.Join(dir, "starsgate-sandbox"), []string{"-addr", "127.0.0.1:0"}, nil)
			addr := freeAddr(t)
			env := []string{
				"ADDR=" + addr,
				"BOT_TOKEN=100000001:sandbox-token",
				"TELEGRAM_API_URL=" + sbURL,
				"REDIS_URL=" + redistest.URL(),
				"REDIS_PREFIX=" + redistest.Prefix(t),
				"PUBLIC_URL=", "WEBHOOK_SECRET=", "CATALOG_FILE=", "TELEGRAM_TEST_ENV=",
			}
			if mode == "webhook" {
				env = append(env, "PUBLIC_URL=http://"+addr, "WEBHOOK_SECRET=example-secret")
			}
			base := startProcess(t, filepath.Join(dir, "example"), nil, env)
			app := client{t: t, base: base}
			sb := client{t: t, base: sbURL}

			// No example-only endpoints with a real bot.
			status, _ := app.call(http.MethodGet, "/sandbox-dev/initdata", "", nil)
			assert.Equal(t, http.StatusNotFound, status)

			user := map[string]any{"id": 777, "first_name": "Eve"}
			status, body := sb.call(http.MethodPost, "/sandbox/initdata", "", map[string]any{"user": user})
			require.Equal(t, http.StatusOK, status, "%v", body)
			initData := body["init_data"].(string)

			checkFlow(t, app, initData, func(link string) {
				status, receipt := sb.call(http.MethodPost, "/sandbox/pay", "", map[string]any{"user": user, "invoice_link": link})
				require.Equal(t, http.StatusOK, status, "%v", receipt)
			})

			// How the updates arrived.
			status, body = sb.call(http.MethodGet, "/sandbox/updates", "", nil)
			require.Equal(t, http.StatusOK, status)
			want := map[string]string{"webhook": "webhook", "long polling": "getUpdates"}[mode]
			updates, _ := body["updates"].([]any)
			require.NotEmpty(t, updates, "the purchase sent updates")
			for _, u := range updates {
				attempts := u.(map[string]any)["attempts"].([]any)
				require.NotEmpty(t, attempts)
				assert.Equal(t, want, attempts[0].(map[string]any)["via"])
			}
		})
	}
}

// TestBinary_BadConfig: each bad configuration exits non-zero with one
// clear line on stderr.
func TestBinary_BadConfig(t *testing.T) {
	dir := binDir(t)
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	badJSON := write("bad.json", `{"products":[{"id":"x",`)
	unknownKind := write("kind.json", `{"products":[{"id":"x","title":"X","description":"An X","price":5,"kind":"rental","features":["x"]}]}`)

	tests := []struct {
		name      string
		givenEnv  []string
		expectMsg string
	}{
		{name: "nok, catalog is not JSON", givenEnv: []string{"CATALOG_FILE=" + badJSON}, expectMsg: "CATALOG_FILE: entitlements: invalid catalog: the JSON ends before the catalog object does (file " + badJSON + ")"},
		{name: "nok, unknown product kind", givenEnv: []string{"CATALOG_FILE=" + unknownKind}, expectMsg: "rental"},
		{name: "nok, missing catalog file", givenEnv: []string{"CATALOG_FILE=" + filepath.Join(tmp, "nope.json")}, expectMsg: "nope.json"},
		{name: "nok, PUBLIC_URL without WEBHOOK_SECRET", givenEnv: []string{"PUBLIC_URL=https://app.example.com"}, expectMsg: "WEBHOOK_SECRET is required"},
		{name: "nok, PUBLIC_URL not a URL", givenEnv: []string{"PUBLIC_URL=app.example.com", "WEBHOOK_SECRET=s"}, expectMsg: "PUBLIC_URL must be"},
		{name: "nok, unreachable Redis", givenEnv: []string{"REDIS_URL=redis://127.0.0.1:1/0"}, expectMsg: "unreachable"},
		{name: "nok, Redis URL malformed", givenEnv: []string{"REDIS_URL=mysql://x"}, expectMsg: "REDIS_URL"},
		{name: "nok, bad bot token", givenEnv: []string{"BOT_TOKEN=not a token"}, expectMsg: "BotToken must look like"},
		{name: "nok, bad webhook secret", givenEnv: []string{"PUBLIC_URL=https://a.example.com", "WEBHOOK_SECRET=has space"}, expectMsg: "WebhookSecret"},
		{name: "nok, TELEGRAM_TEST_ENV not a flag", givenEnv: []string{"TELEGRAM_TEST_ENV=maybe"}, expectMsg: "TELEGRAM_TEST_ENV"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(dir, "example"))
			cmd.Env = append(append(os.Environ(), "ADDR=127.0.0.1:0", "BOT_TOKEN=", "REDIS_URL=", "PUBLIC_URL=",
				"WEBHOOK_SECRET=", "CATALOG_FILE=", "TELEGRAM_TEST_ENV="), tc.givenEnv...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "must exit non-zero; stderr:\n%s", stderr.String())
			assert.Equal(t, 1, exit.ExitCode())
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			require.Len(t, lines, 1, "exactly one line on stderr:\n%s", stderr.String())
			assert.True(t, strings.HasPrefix(lines[0], "example: bad configuration: "), lines[0])
			assert.Contains(t, lines[0], tc.expectMsg)
			assert.NotContains(t, lines[0], "not a token", "the token never appears")
			assert.Empty(t, stdout.String())
		})
	}
}
