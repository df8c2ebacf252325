package botapi

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const testToken = "123456789:AAH-secret_TOKEN-value"

// request is what the fake Bot API saw.
type request struct {
	Method      string // HTTP method
	Path        string
	ContentType string
	Body        []byte
}

// fakeAPI is an httptest server that records every request and answers
// with a fixed status and body.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []request
	status int
	body   []byte
}

func newFakeAPI(t *testing.T, status int, body []byte) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: status, body: body}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), b})
		status, body := f.status, f.body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) last(t *testing.T) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(t, f.reqs, "no request reached the server")
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// client returns a client of the fake API that logs at debug level into buf.
func (f *fakeAPI) client(t *testing.T, buf *bytes.Buffer) *Client {
	t.Helper()
	cfg := Config{Token: testToken, BaseURL: f.srv.URL, HTTPClient: f.srv.Client()}
	if buf != nil {
		cfg.Logger = debugLogger(buf)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func debugLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// okResult wraps a result in the Bot API's success envelope.
func okResult(result string) []byte {
	return []byte(`{"ok":true,"result":` + result + `}`)
}
