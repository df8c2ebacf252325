package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

var (
	alice = botapi.User{ID: 1001, FirstName: "Alice", Username: "alice", LanguageCode: "en"}
	bob   = botapi.User{ID: 1002, FirstName: "Bob"}
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newSandbox starts a sandbox with short timings for tests.
func newSandbox(t *testing.T, mods ...func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		PreCheckoutTimeout: 5 * time.Second,
		WebhookRetryMin:    5 * time.Millisecond,
		WebhookRetryMax:    20 * time.Millisecond,
		Logger:             quiet,
	}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, s *Server) *botapi.Client {
	t.Helper()
	c, err := botapi.New(botapi.Config{Token: s.Token(), BaseURL: s.URL(), Logger: quiet})
	require.NoError(t, err)
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiAnswer is the Bot API envelope.
type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
}

// rawCall sends an HTTP request to the sandbox and decodes the envelope.
func rawCall(t *testing.T, s *Server, httpMethod, path, contentType string, body []byte) (int, apiAnswer) {
	t.Helper()
	req, err := http.NewRequest(httpMethod, s.URL()+path, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var a apiAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, a
}

// callJSON posts params as JSON to a method.
func callJSON(t *testing.T, s *Server, method string, params map[string]any) (int, apiAnswer) {
	t.Helper()
	body, err := json.Marshal(params)
	require.NoError(t, err)
	return rawCall(t, s, http.MethodPost, "/bot"+s.Token()+"/"+method, "application/json", body)
}

// callForm posts params urlencoded to a method.
func callForm(t *testing.T, s *Server, method string, params url.Values) (int, apiAnswer) {
	t.Helper()
	return rawCall(t, s, http.MethodPost, "/bot"+s.Token()+"/"+method, "application/x-www-form-urlencoded",
		[]byte(params.Encode()))
}

func starsInvoice(payload string, amount int64) botapi.CreateInvoiceLinkParams {
	return botapi.CreateInvoiceLinkParams{
		Title: "Premium", Description: "30 days of premium", Payload: payload,
		Currency: botapi.CurrencyStars, Prices: []botapi.LabeledPrice{{Label: "Premium", Amount: amount}},
	}
}

func subscriptionInvoice(payload string, amount int64) botapi.CreateInvoiceLinkParams {
	p := starsInvoice(payload, amount)
	p.SubscriptionPeriod = botapi.SubscriptionPeriod
	return p
}

func createLink(t *testing.T, c *botapi.Client, p botapi.CreateInvoiceLinkParams) string {
	t.Helper()
	link, err := c.CreateInvoiceLink(testCtx(t), p)
	require.NoError(t, err)
	return link
}

// hook is a test webhook that records what it receives. respond decides the
// answer; nil answers 200 with no body.
type hook struct {
	srv *httptest.Server

	mu       sync.Mutex
	received []received
	respond  func(u botapi.Update, n int) (status int, header http.Header, body []byte)
}

type received struct {
	update botapi.Update
	secret string
	ctype  string
}

func newHook(t testing.TB, respond func(u botapi.Update, n int) (int, http.Header, []byte)) *hook {
	t.Helper()
	h := &hook{respond: respond}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		u, err := botapi.DecodeUpdate(data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.received = append(h.received, received{u, r.Header.Get(SecretTokenHeader), r.Header.Get("Content-Type")})
		n := 0
		for _, rc := range h.received {
			if rc.update.UpdateID == u.UpdateID {
				n++
			}
		}
		respond := h.respond
		h.mu.Unlock()
		if respond == nil {
			return
		}
		status, header, body := respond(u, n)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) updates() []botapi.Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]botapi.Update, 0, len(h.received))
	for _, r := range h.received {
		out = append(out, r.update)
	}
	return out
}

// setHook points the sandbox's webhook at h.
func setHook(t *testing.T, c *botapi.Client, h *hook, secret string) {
	t.Helper()
	require.NoError(t, c.SetWebhook(testCtx(t), botapi.SetWebhookParams{URL: h.srv.URL + "/webhook", SecretToken: secret}))
}

// updatesOf filters records by kind.
func recordsOf(s *Server, kind string) []UpdateRecord {
	var out []UpdateRecord
	for _, r := range s.Updates() {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// answerAll answers every pre-checkout query the hook receives with ok
// through the webhook reply body.
func answerOK(u botapi.Update, _ int) (int, http.Header, []byte) {
	if u.PreCheckoutQuery == nil {
		return http.StatusOK, nil, nil
	}
	body, _ := botapi.WebhookReply("answerPreCheckoutQuery", botapi.AnswerPreCheckoutQueryParams{
		PreCheckoutQueryID: u.PreCheckoutQuery.ID, OK: true,
	})
	return http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
