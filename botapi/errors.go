package botapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	// ErrNoToken means Config.Token is empty.
	ErrNoToken = errors.New("botapi: no bot token")
	// ErrInvalidToken means the token has characters that cannot appear in a
	// request path (whitespace, control characters, '/', '?', '#', '%').
	ErrInvalidToken = errors.New("botapi: invalid bot token")
	// ErrInvalidBaseURL means Config.BaseURL is not an absolute http(s) URL
	// without query or fragment.
	ErrInvalidBaseURL = errors.New("botapi: invalid base URL")
	// ErrInvalidMethod means the method name is empty or not made of
	// letters, digits and underscores.
	ErrInvalidMethod = errors.New("botapi: invalid method name")
	// ErrMalformedResponse means the Bot API answered 2xx with a body that
	// is not the expected JSON.
	ErrMalformedResponse = errors.New("botapi: malformed response")
	// ErrResponseTooLarge means the response body exceeded Config.MaxResponseSize.
	ErrResponseTooLarge = errors.New("botapi: response too large")
	// ErrMalformedUpdate means DecodeUpdate got something that is not an
	// update: invalid JSON, not an object, a known field of the wrong type,
	// or no update_id.
	ErrMalformedUpdate = errors.New("botapi: malformed update")
	// ErrWebhookReplyMethod means the method cannot be called through a
	// webhook reply: Telegram silently ignores get* methods, setWebhook,
	// deleteWebhook, close and logOut there.
	ErrWebhookReplyMethod = errors.New("botapi: method not allowed in a webhook reply")
)

// Error is an error answer of the Bot API:
// {"ok":false,"error_code":…,"description":…,"parameters":{…}}.
// A non-JSON error answer (say, a proxy's 502 page) is reported as an Error
// whose Code is the HTTP status.
type Error struct {
	Method          string // the method called, as passed to the client
	Code            int    // error_code, an HTTP-like status (400, 401, 403, 409, 429, …)
	Description     string // Telegram's description, e.g. "Bad Request: CHARGE_ALREADY_REFUNDED"
	RetryAfter      int    // parameters.retry_after: seconds to wait before retrying (429)
	MigrateToChatID int64  // parameters.migrate_to_chat_id: the group became this supergroup
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "botapi: %s: %d", e.Method, e.Code)
	if e.Description != "" {
		b.WriteString(" ")
		b.WriteString(e.Description)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %ds)", e.RetryAfter)
	}
	return b.String()
}

// IsChargeAlreadyRefunded reports whether err is a Bot API error saying the
// charge was already refunded. Callers treat it as success: Telegram has
// also answered it for refunds that went through.
func IsChargeAlreadyRefunded(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && strings.Contains(e.Description, "CHARGE_ALREADY_REFUNDED")
}

// IsUnauthorized reports whether err is a 401 from the Bot API (bad or
// revoked token).
func IsUnauthorized(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Code == http.StatusUnauthorized
}

// IsConflict reports whether err is a 409 from the Bot API: getUpdates while
// a webhook is set, or two getUpdates pollers at once.
func IsConflict(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Code == http.StatusConflict
}

// RetryAfter returns how long the Bot API asked to wait before retrying
// (a 429 with parameters.retry_after), and whether it asked.
func RetryAfter(err error) (time.Duration, bool) {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.RetryAfter <= 0 {
		return 0, false
	}
	return time.Duration(e.RetryAfter) * time.Second, true
}

// transportError is a failure to get an answer (dial, TLS, timeout,
// cancellation). Its message never holds the request URL, which holds the
// token; Unwrap gives the cause for errors.Is (context.Canceled, …).
type transportError struct {
	method string
	msg    string
	err    error
}

func (e *transportError) Error() string { return "botapi: " + e.method + ": " + e.msg }
func (e *transportError) Unwrap() error { return e.err }
