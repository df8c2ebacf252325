package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// Defaults of Config.
const (
	DefaultToken              = "100000001:sandbox-token"
	DefaultBotUsername        = "starsgate_sandbox_bot"
	DefaultPreCheckoutTimeout = 10 * time.Second
	DefaultWebhookRetryMin    = time.Second
	DefaultWebhookRetryMax    = 60 * time.Second
	DefaultWebhookTimeout     = 30 * time.Second
	DefaultAddr               = "127.0.0.1:0"
)

// Telegram's limits the sandbox enforces.
const (
	preCheckoutLifetime = 150 * time.Second // queued pre_checkout_query updates are dropped after this
	updateLifetime      = 24 * time.Hour    // any other update
	maxRetryAfter       = time.Hour         // a webhook's Retry-After is clamped to this
	longPollMax         = 50                // seconds, getUpdates timeout cap
	defaultMaxConns     = 40
	maxRecords          = 10000 // finished update records kept for inspection
)

// Config configures a Server.
type Config struct {
	// Token is the bot token the fake Bot API accepts, "<bot id>:<secret>".
	// Optional. Default value DefaultToken ("100000001:sandbox-token", bot id 100000001).
	Token string
	// BotUsername is the bot's username in getMe.
	// Optional. Default value "starsgate_sandbox_bot".
	BotUsername string
	// PreCheckoutTimeout is how long Pay waits for answerPreCheckoutQuery
	// (real time) before giving up without taking the payment.
	// Optional. Default value 10s, Telegram's deadline.
	PreCheckoutTimeout time.Duration
	// WebhookRetryMin and WebhookRetryMax bound the webhook retry backoff:
	// after a failed delivery the first retry is immediate, then the wait
	// doubles from WebhookRetryMin up to WebhookRetryMax. A Retry-After
	// header in the webhook's answer overrides it (clamped to one hour).
	// Optional. Default values 1s and 60s, as Telegram.
	WebhookRetryMin, WebhookRetryMax time.Duration
	// WebhookTimeout bounds one webhook request.
	// Optional. Default value 30s.
	WebhookTimeout time.Duration
	// Now is the base of the sandbox clock; Advance moves the clock ahead of
	// it. Dates in updates and transactions come from the sandbox clock.
	// Optional. Default value time.Now.
	Now func() time.Time
	// Addr is where New and Start listen.
	// Optional. Default value "127.0.0.1:0" (a free port).
	Addr string
	// HTTPClient delivers webhook requests; its Timeout is ignored in favour
	// of WebhookTimeout.
	// Optional. Default value a client of its own.
	HTTPClient *http.Client
	// Logger receives debug logs of calls and deliveries; they never hold
	// the token.
	// Optional. Default value slog.Default().
	Logger *slog.Logger
}

// Server is a fake Telegram Bot API server with simulated payers. It is
// safe for concurrent use. Close it when done.
type Server struct {
	cfg         Config
	token       string
	botID       int64
	log         *slog.Logger
	handler     http.Handler
	hc          *http.Client
	ctx         context.Context // canceled by Close
	cancel      context.CancelFunc
	closeOnce   sync.Once
	hookMu      sync.Mutex // serializes setWebhook / deleteWebhook
	startMu     sync.Mutex
	httpSrv     *http.Server
	url         string
	mu          sync.Mutex
	closed      bool
	offset      time.Duration // how far Advance moved the clock
	clockCh     chan struct{} // closed and replaced when the clock moves
	changed     chan struct{} // closed and replaced when the queue changes
	nextUpdate  int64
	nextMessage int64
	pending     []*entry         // queued updates, by update id
	records     []*entry         // every update, oldest first (bounded)
	byID        map[int64]*entry // records by update id
	allowed     map[string]bool  // nil: the default set
	webhook     *webhook         // nil: updates wait for getUpdates
	pollGen     int64
	invoices    map[string]*invoice
	queries     map[string]*preCheckout
	charges     map[string]*charge
	subs        map[string]*subscription // by first charge id
	subList     []*subscription
	txns        []botapi.StarTransaction
	sent        []botapi.Message
	users       map[int64]botapi.User
}

// New starts a server listening on Config.Addr (a free port on 127.0.0.1
// by default), like httptest.NewServer.
func New(cfg Config) (*Server, error) {
	s, err := NewUnstarted(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewUnstarted returns a server that does not listen: call Start, or mount
// Handler in a server of your own. Webhook delivery works either way.
func NewUnstarted(cfg Config) (*Server, error) {
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	botID, err := parseToken(cfg.Token)
	if err != nil {
		return nil, err
	}
	if cfg.BotUsername == "" {
		cfg.BotUsername = DefaultBotUsername
	}
	if cfg.PreCheckoutTimeout == 0 {
		cfg.PreCheckoutTimeout = DefaultPreCheckoutTimeout
	}
	if cfg.WebhookRetryMin == 0 {
		cfg.WebhookRetryMin = DefaultWebhookRetryMin
	}
	if cfg.WebhookRetryMax == 0 {
		cfg.WebhookRetryMax = max(DefaultWebhookRetryMax, cfg.WebhookRetryMin)
	}
	if cfg.WebhookTimeout == 0 {
		cfg.WebhookTimeout = DefaultWebhookTimeout
	}
	if cfg.PreCheckoutTimeout < 0 || cfg.WebhookRetryMin < 0 || cfg.WebhookRetryMax < cfg.WebhookRetryMin ||
		cfg.WebhookTimeout < 0 {
		return nil, fmt.Errorf("%w: negative duration or WebhookRetryMin above WebhookRetryMax", ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := &http.Client{Timeout: cfg.WebhookTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.Timeout = cfg.WebhookTimeout
		hc = &c
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:         cfg,
		token:       cfg.Token,
		botID:       botID,
		log:         cfg.Logger,
		hc:          hc,
		ctx:         ctx,
		cancel:      cancel,
		clockCh:     make(chan struct{}),
		changed:     make(chan struct{}),
		nextUpdate:  1,
		nextMessage: 1,
		byID:        map[int64]*entry{},
		invoices:    map[string]*invoice{},
		queries:     map[string]*preCheckout{},
		charges:     map[string]*charge{},
		subs:        map[string]*subscription{},
		users:       map[int64]botapi.User{},
	}
	s.handler = s.routes()
	return s, nil
}

// parseToken checks the "<bot id>:<secret>" shape and returns the bot id.
// Errors never include the token.
func parseToken(token string) (int64, error) {
	id, secret, ok := strings.Cut(token, ":")
	if !ok || secret == "" {
		return 0, ErrInvalidToken
	}
	botID, err := strconv.ParseInt(id, 10, 64)
	if err != nil || botID <= 0 {
		return 0, ErrInvalidToken
	}
	for _, r := range secret {
		if !isTokenChar(r) {
			return 0, ErrInvalidToken
		}
	}
	return botID, nil
}

func isTokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// Start listens on Config.Addr and serves in the background.
func (s *Server) Start() error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.httpSrv != nil {
		return ErrStarted
	}
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen: %w", err)
	}
	s.httpSrv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.url = "http://" + ln.Addr().String()
	go func() { _ = s.httpSrv.Serve(ln) }()
	return nil
}

// Handler serves the Bot API at /bot<token>/<method> (and
// /bot<token>/test/<method>) and the control API under /sandbox/.
func (s *Server) Handler() http.Handler { return s.handler }

// URL is the server's base URL ("http://127.0.0.1:port"), to use as the
// Bot API base URL; "" until Start.
func (s *Server) URL() string {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	return s.url
}

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// BotID is the bot's user id, the token's numeric prefix.
func (s *Server) BotID() int64 { return s.botID }

// Client returns a botapi client for this server (Start it first).
func (s *Server) Client() (*botapi.Client, error) {
	return botapi.New(botapi.Config{Token: s.token, BaseURL: s.URL(), Logger: s.log})
}

// Close stops the server: pending Pay calls, long polls and webhook
// deliveries end, and the listener (if any) closes. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.startMu.Lock()
		srv := s.httpSrv
		s.startMu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
		}
		s.hookMu.Lock() // a setWebhook in progress finishes (and installs nothing) first
		s.mu.Lock()
		wh := s.webhook
		s.mu.Unlock()
		s.hookMu.Unlock()
		if wh != nil {
			wh.wg.Wait()
		}
		s.hc.CloseIdleConnections()
	})
}

// Now is the sandbox clock: Config.Now plus every Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return s.cfg.Now().Add(s.offset) }

// Advance moves the sandbox clock ahead by d (d <= 0 changes nothing) and
// returns the new time. Queued updates whose lifetime ends are dropped.
func (s *Server) Advance(d time.Duration) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.offset += d
		close(s.clockCh)
		s.clockCh = make(chan struct{})
		if s.webhook == nil { // webhook workers check expiry themselves
			s.dropExpiredLocked()
		}
	}
	return s.nowLocked()
}
