package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the Bot API server used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.telegram.org"

// DefaultTimeout is the timeout of the default HTTP client.
const DefaultTimeout = 30 * time.Second

// DefaultMaxResponseSize bounds a response body when Config.MaxResponseSize
// is zero. A full getUpdates batch (100 updates) fits easily.
const DefaultMaxResponseSize = 16 << 20

// Config configures a Client.
type Config struct {
	// Token is the bot token from @BotFather ("<bot id>:<secret>").
	// Required.
	Token string
	// BaseURL is the Bot API server, e.g. a local telegram-bot-api or the
	// sandbox. A path prefix is kept; a trailing slash is tolerated.
	// Optional. Default value "https://api.telegram.org".
	BaseURL string
	// TestEnvironment sends requests to /bot<token>/test/<method>, Telegram's
	// separate test environment.
	// Optional. Default value false.
	TestEnvironment bool
	// HTTPClient sends the requests. getUpdates adds its long-poll timeout
	// to the client's Timeout.
	// Optional. Default value a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives debug logs of every call (method, status, duration);
	// they never include the token or a URL holding it.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
	// MaxResponseSize bounds a response body, in bytes.
	// Optional. Default value DefaultMaxResponseSize (16 MiB).
	MaxResponseSize int64
}

// Client calls the Bot API. It is safe for concurrent use.
type Client struct {
	token   string
	prefix  string // base URL + "/bot" + token + ("/test")? + "/"
	hc      *http.Client
	log     *slog.Logger
	maxBody int64
	botID   int64
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, ErrNoToken
	}
	if strings.ContainsFunc(cfg.Token, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("/?#%", r)
	}) {
		return nil, ErrInvalidToken
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("%w: %q", ErrInvalidBaseURL, cfg.BaseURL)
	}
	c := &Client{
		token:   cfg.Token,
		prefix:  base + "/bot" + cfg.Token + "/",
		hc:      cfg.HTTPClient,
		log:     cfg.Logger,
		maxBody: cfg.MaxResponseSize,
	}
	if cfg.TestEnvironment {
		c.prefix += "test/"
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultTimeout}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseSize
	}
	if id, _, ok := strings.Cut(cfg.Token, ":"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			c.botID = n
		}
	}
	return c, nil
}

// Format prints the client without its token, whatever the verb (%v,
// %+v, %#v, %s, %d …), so that a client in a log line or a panic never
// shows the secret; its fields hold the token and URLs built from it.
func (c Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "botapi.Client{bot: %d, token: <redacted>}", c.botID)
}

// Format prints the configuration with the token redacted, whatever the
// verb.
func (cfg Config) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "botapi.Config{Token: <redacted>, BaseURL: %q, TestEnvironment: %t, MaxResponseSize: %d}",
		cfg.BaseURL, cfg.TestEnvironment, cfg.MaxResponseSize)
}

// LogValue is what slog records for a client: the bot ID, no token.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("bot", c.botID), slog.String("token", "<redacted>"))
}

// LogValue is what slog records for a configuration: no token.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", "<redacted>"), slog.String("base_url", cfg.BaseURL),
		slog.Bool("test_environment", cfg.TestEnvironment))
}

// BotID is the bot's user ID, the numeric prefix of the token before ':',
// or 0 when the token has no positive numeric prefix.
func (c *Client) BotID() int64 { return c.botID }

// response is the Bot API's answer envelope.
type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// Call calls any Bot API method: params (nil, or anything that encodes to
// a JSON object) is POSTed as JSON and the result is decoded into result
// (a pointer, or nil to discard it). Bot API errors are *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.call(ctx, c.hc, method, params, result)
}

func (c *Client) call(ctx context.Context, hc *http.Client, method string, params, result any) error {
	if !validMethod(method) {
		return fmt.Errorf("%w: %q", ErrInvalidMethod, method)
	}
	body := []byte("{}")
	if params != nil {
		var err error
		if body, err = json.Marshal(params); err != nil {
			return fmt.Errorf("botapi: %s: encode params: %w", method, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.prefix+method, bytes.NewReader(body))
	if err != nil {
		return c.transportErr(method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		err = c.transportErr(method, err)
		c.log.LogAttrs(ctx, slog.LevelDebug, "botapi: call failed",
			slog.String("method", method), slog.Duration("took", time.Since(start)), slog.String("error", err.Error()))
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return c.transportErr(method, err)
	}
	if int64(len(data)) > c.maxBody {
		return fmt.Errorf("botapi: %s: %w (over %d bytes)", method, ErrResponseTooLarge, c.maxBody)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "botapi: call",
		slog.String("method", method), slog.Int("status", resp.StatusCode),
		slog.Duration("took", time.Since(start)), slog.Int("bytes", len(data)))

	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return fmt.Errorf("botapi: %s: %w: %v", method, ErrMalformedResponse, err)
		}
		return &Error{Method: method, Code: resp.StatusCode, Description: "non-JSON answer: " + resp.Status}
	}
	if !r.OK {
		e := &Error{Method: method, Code: r.ErrorCode, Description: r.Description}
		if e.Code == 0 {
			e.Code = resp.StatusCode
		}
		if r.Parameters != nil {
			e.RetryAfter = r.Parameters.RetryAfter
			e.MigrateToChatID = r.Parameters.MigrateToChatID
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "botapi: error answer",
			slog.String("method", method), slog.Int("code", e.Code), slog.String("description", e.Description))
		return e
	}
	if result == nil {
		return nil
	}
	if len(r.Result) == 0 {
		return fmt.Errorf("botapi: %s: %w: no result", method, ErrMalformedResponse)
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("botapi: %s: %w: %v", method, ErrMalformedResponse, err)
	}
	return nil
}

// transportErr drops the request URL that net/http puts in its errors (it
// holds the token) and, to be sure, redacts the token from what is left.
func (c *Client) transportErr(method string, err error) error {
	cause := err
	if ue, ok := errors.AsType[*url.Error](err); ok {
		cause = ue.Err
	}
	msg := strings.ReplaceAll(cause.Error(), c.token, "<token>")
	if msg != cause.Error() {
		cause = errors.New(msg) // never hand out an error that prints the token
	}
	return &transportError{method: method, msg: msg, err: cause}
}

func validMethod(m string) bool {
	if m == "" || len(m) > 64 {
		return false
	}
	for _, r := range m {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
