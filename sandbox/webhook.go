package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// SecretTokenHeader carries setWebhook's secret_token on every webhook request.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxReplySize bounds the webhook answer body the sandbox reads (a reply
// call such as answerPreCheckoutQuery).
const maxReplySize = 1 << 20

// webhook is one setWebhook configuration and its delivery workers.
type webhook struct {
	url      string
	secret   string
	maxConns int
	ctx      context.Context // canceled when the webhook is replaced or removed
	cancel   context.CancelFunc
	sem      chan struct{} // max_connections
	wg       sync.WaitGroup
	workers  map[int64]bool // queue keys with a running worker

	lastErrorDate    int64
	lastErrorMessage string
}

func (s *Server) setWebhook(_ context.Context, p params) (any, *apiError) {
	rawURL := strings.TrimSpace(p["url"])
	if rawURL == "" {
		return s.removeWebhook(p.bool("drop_pending_updates"))
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, badRequest("bad webhook: invalid URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" { // the sandbox allows http for local development
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := p["secret_token"]
	if len(secret) > 256 {
		return nil, badRequest("secret token is too long")
	}
	for _, r := range secret {
		if !isTokenChar(r) {
			return nil, badRequest("secret token contains unallowed characters")
		}
	}
	maxConns := int(clamp(p.int("max_connections"), 1, 100, defaultMaxConns))
	allowed, hasAllowed, err := p.stringList("allowed_updates")
	if err != nil {
		return nil, badRequest("can't parse allowed updates JSON object")
	}
	drop := p.bool("drop_pending_updates")

	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	old := s.webhook
	if old != nil && old.url == rawURL && old.secret == secret && old.maxConns == maxConns {
		if hasAllowed {
			s.setAllowedLocked(allowed)
		}
		if drop {
			s.dropPendingLocked()
		}
		s.mu.Unlock()
		return described{true, "Webhook is already set"}, nil
	}
	s.webhook = nil
	s.mu.Unlock()
	if old != nil { // let the old workers finish before the new ones start, so no update goes out twice at once
		old.cancel()
		old.wg.Wait()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &apiError{500, "Internal Server Error: sandbox closed"}
	}
	if hasAllowed {
		s.setAllowedLocked(allowed)
	}
	if drop {
		s.dropPendingLocked()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	wh := &webhook{
		url: rawURL, secret: secret, maxConns: maxConns,
		ctx: ctx, cancel: cancel,
		sem:     make(chan struct{}, maxConns),
		workers: map[int64]bool{},
	}
	s.webhook = wh
	for _, e := range s.pending {
		s.startWorkerLocked(wh, e.key)
	}
	s.notifyLocked() // long polls in progress now fail with 409
	s.log.Info("sandbox: webhook set", "url", redactURL(u), "max_connections", maxConns)
	return described{true, "Webhook was set"}, nil
}

func (s *Server) deleteWebhook(_ context.Context, p params) (any, *apiError) {
	return s.removeWebhook(p.bool("drop_pending_updates"))
}

func (s *Server) removeWebhook(drop bool) (any, *apiError) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	old := s.webhook
	s.webhook = nil
	if drop {
		s.dropPendingLocked()
	}
	s.mu.Unlock()
	if old == nil {
		return described{true, "Webhook is already deleted"}, nil
	}
	old.cancel()
	old.wg.Wait()
	s.log.Info("sandbox: webhook deleted")
	return described{true, "Webhook was deleted"}, nil
}

func (s *Server) getWebhookInfo(context.Context, params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := botapi.WebhookInfo{PendingUpdateCount: int64(len(s.pending))}
	if wh := s.webhook; wh != nil {
		info.URL = wh.url
		info.MaxConnections = wh.maxConns
		info.LastErrorDate = wh.lastErrorDate
		info.LastErrorMessage = wh.lastErrorMessage
	}
	if s.allowed != nil {
		for k := range s.allowed {
			info.AllowedUpdates = append(info.AllowedUpdates, k)
		}
		slices.Sort(info.AllowedUpdates)
	}
	return info, nil
}

// startWorkerLocked starts the delivery worker of one queue (one user's
// updates, delivered strictly in order) unless it runs already.
func (s *Server) startWorkerLocked(wh *webhook, key int64) {
	if wh.workers[key] || wh.ctx.Err() != nil {
		return
	}
	wh.workers[key] = true
	wh.wg.Add(1)
	go s.work(wh, key)
}

func (s *Server) work(wh *webhook, key int64) {
	defer wh.wg.Done()
	for {
		s.mu.Lock()
		var next *entry
		if wh.ctx.Err() == nil {
			for _, e := range s.pending {
				if e.key == key {
					next = e
					break
				}
			}
		}
		if next == nil {
			delete(wh.workers, key)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if !s.deliver(wh, next) {
			s.mu.Lock()
			delete(wh.workers, key)
			s.mu.Unlock()
			return
		}
	}
}

// deliver posts e until the webhook answers 2xx or e expires. It returns
// false when the webhook was replaced or the server closed, leaving e queued.
func (s *Server) deliver(wh *webhook, e *entry) bool {
	failures := 0
	var wait time.Duration
	s.mu.Lock()
	if !e.notBefore.IsZero() { // held back by PayOptions.DeliveryDelay
		wait = max(0, time.Until(e.notBefore))
	}
	s.mu.Unlock()
	for {
		if wait > 0 && !s.sleep(wh, e, wait) {
			return false
		}
		s.mu.Lock()
		if e.status != StatusPending {
			s.mu.Unlock()
			return true
		}
		if !s.nowLocked().Before(e.expires) {
			s.finishLocked(e, StatusDropped, "expired")
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()

		select {
		case wh.sem <- struct{}{}:
		case <-wh.ctx.Done():
			return false
		}
		ans, err := s.post(wh, e)
		<-wh.sem
		if err != nil && wh.ctx.Err() != nil {
			return false // aborted, not a failed attempt
		}
		ok := err == nil && ans.code >= 200 && ans.code < 300
		if ok && len(ans.body) > 0 {
			s.runReply(wh.ctx, ans.contentType, ans.body)
		}

		s.mu.Lock()
		a := Attempt{At: s.nowLocked(), Via: "webhook", Wait: wait, StatusCode: ans.code}
		switch {
		case err != nil:
			a.Error = err.Error()
		case !ok:
			a.Error = fmt.Sprintf("Wrong response from the webhook: %d %s", ans.code, http.StatusText(ans.code))
		}
		e.attempts = append(e.attempts, a)
		if ok {
			s.finishLocked(e, StatusDelivered, "")
			s.mu.Unlock()
			return true
		}
		wh.lastErrorDate, wh.lastErrorMessage = a.At.Unix(), a.Error
		n := len(e.attempts)
		s.mu.Unlock()
		s.log.Debug("sandbox: webhook delivery failed", "update_id", e.id, "attempt", n, "error", a.Error)

		failures++
		switch {
		case ans.hasRetryAfter:
			wait = ans.retryAfter
		case failures == 1:
			wait = 0 // Telegram retries once at once
		default:
			wait = s.backoff(failures)
		}
	}
}

// backoff is the wait after the n-th failure (n >= 2): WebhookRetryMin
// doubling, capped at WebhookRetryMax.
func (s *Server) backoff(n int) time.Duration {
	d := s.cfg.WebhookRetryMin
	for i := 2; i < n && d < s.cfg.WebhookRetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.WebhookRetryMax)
}

// sleep waits d of real time before the next attempt. It drops e when the
// sandbox clock (which Advance can move meanwhile) would pass e's expiry
// by then, and returns false when the webhook is gone.
func (s *Server) sleep(wh *webhook, e *entry, d time.Duration) bool {
	deadline := time.Now().Add(d)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if e.status != StatusPending {
			s.mu.Unlock()
			return true
		}
		if !s.nowLocked().Add(time.Until(deadline)).Before(e.expires) {
			s.finishLocked(e, StatusDropped, "expired")
			s.mu.Unlock()
			return true
		}
		clock := s.clockCh
		s.mu.Unlock()
		select {
		case <-timer.C:
			return true
		case <-clock:
		case <-wh.ctx.Done():
			return false
		}
	}
}

type webhookAnswer struct {
	code          int
	retryAfter    time.Duration
	hasRetryAfter bool
	body          []byte
	contentType   string
}

func (s *Server) post(wh *webhook, e *entry) (webhookAnswer, error) {
	req, err := http.NewRequestWithContext(wh.ctx, http.MethodPost, wh.url, bytes.NewReader(e.body))
	if err != nil {
		return webhookAnswer{}, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	if wh.secret != "" {
		req.Header.Set(SecretTokenHeader, wh.secret)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok { // its message holds the URL, maybe with a password
			err = ue.Err
		}
		return webhookAnswer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplySize))
	ans := webhookAnswer{code: resp.StatusCode, body: body, contentType: resp.Header.Get("Content-Type")}
	ans.retryAfter, ans.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return ans, nil
}

// parseRetryAfter reads seconds or an HTTP date, clamped to [0, 1h].
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// runReply executes a Bot API call sent in a webhook's 2xx answer, as
// Telegram does: its result and errors are invisible, and get* methods,
// setWebhook, deleteWebhook, close and logOut are ignored.
func (s *Server) runReply(ctx context.Context, contentType string, body []byte) {
	if contentType == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		contentType = "application/json"
	}
	p, err := parseParams(nil, contentType, body)
	if err != nil {
		return
	}
	method := strings.ToLower(p["method"])
	switch {
	case method == "", strings.HasPrefix(method, "get"),
		method == "setwebhook", method == "deletewebhook", method == "close", method == "logout":
		return
	}
	delete(p, "method")
	_, apiErr := s.call(ctx, method, p)
	if apiErr != nil {
		s.log.Debug("sandbox: webhook reply call failed", "method", method, "error", apiErr.Description)
	}
}

// redactURL drops userinfo and the query from a URL for logging.
func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery = nil, ""
	return c.String()
}
