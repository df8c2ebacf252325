// Package apierror is the error body every starsgate HTTP route answers
// with (SPEC §4): {"error":{"code":"<snake_case>","message":"…", …extra}}.
package apierror

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Codes of SPEC §4.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeUnauthorized        = "unauthorized"
	CodePaymentRequired     = "payment_required"
	CodeInsufficientCredits = "insufficient_credits"
	CodeUnknownProduct      = "unknown_product"
	CodeAlreadyActive       = "already_active"
	CodeRateLimited         = "rate_limited"
	CodeTelegramError       = "telegram_error"
	CodeUnavailable         = "unavailable"
	CodePayloadTooLarge     = "payload_too_large"
)

// Error is an HTTP error with the SPEC body. It implements error so that
// handlers can return it; Write renders it.
type Error struct {
	Status  int
	Code    string
	Message string
	// Extra fields go inside the "error" object (feature, products, …).
	Extra map[string]any
	// Internal is the cause, for logs only; never sent to the client.
	Internal error
}

func (e *Error) Error() string {
	if e.Internal != nil {
		return e.Code + ": " + e.Message + ": " + e.Internal.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Internal }

// New returns an Error.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// MarshalJSON renders the SPEC body.
func (e *Error) MarshalJSON() ([]byte, error) {
	inner := make(map[string]any, len(e.Extra)+2)
	for k, v := range e.Extra {
		inner[k] = v
	}
	inner["code"] = e.Code
	inner["message"] = e.Message
	return json.Marshal(map[string]any{"error": inner})
}

// Write sends e as the response.
func Write(c echo.Context, e *Error) error {
	return c.JSON(e.Status, e)
}

// Common errors.
var (
	Unauthorized = func() *Error {
		return New(http.StatusUnauthorized, CodeUnauthorized, "missing, malformed, forged or expired Telegram init data")
	}
	Unavailable = func() *Error {
		return New(http.StatusServiceUnavailable, CodeUnavailable, "the entitlement store is unavailable, try again")
	}
)
