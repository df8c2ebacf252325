package middleware

import (
	"errors"
	"fmt"
)

// Why authentication failed. The middleware wraps each in an *AuthError, so
// an ErrorHandler can test errors.Is(err, ErrExpired) or errors.As(err,
// &authErr). None of them ever carries the raw init data or the bot token.
var (
	// ErrMissing: no Authorization header, or "tma" with nothing after it.
	ErrMissing = errors.New("middleware: missing init data")
	// ErrMalformed: not "tma <initData>", longer than MaxInitDataLength, not
	// a query string, a repeated field, a bad auth_date or undecodable fields.
	ErrMalformed = errors.New("middleware: malformed init data")
	// ErrSignatureInvalid: the hash is missing or is not the HMAC of the
	// fields under the bot token (forged, tampered or another bot's data).
	ErrSignatureInvalid = errors.New("middleware: init data hash is invalid")
	// ErrThirdPartyInvalid: the Ed25519 signature is missing or is not
	// Telegram's signature for the configured bot ID and environment.
	ErrThirdPartyInvalid = errors.New("middleware: init data third-party signature is invalid")
	// ErrExpired: auth_date is older than the configured MaxAge.
	ErrExpired = errors.New("middleware: init data expired")
	// ErrFuture: auth_date is ahead of the clock by more than FutureSkew.
	ErrFuture = errors.New("middleware: init data auth_date is in the future")
	// ErrNoUser: valid init data without a user (opened from an inline
	// query or a keyboard button); there is nobody to authorise.
	ErrNoUser = errors.New("middleware: init data has no user")
	// ErrNotAuthenticated: a guard ran on a request that Auth did not
	// authenticate (Auth missing from the chain, or skipped).
	ErrNotAuthenticated = errors.New("middleware: request has no authenticated user")
)

// Guard refusals and config errors.
var (
	// ErrPaymentRequired: the user lacks the feature (*PaymentRequiredError).
	ErrPaymentRequired = errors.New("middleware: payment required")
	// ErrInsufficientCredits: the balance is below the amount to spend
	// (*InsufficientCreditsError).
	ErrInsufficientCredits = errors.New("middleware: insufficient credits")
	// ErrUnavailable: the store could not answer (*UnavailableError).
	ErrUnavailable = errors.New("middleware: entitlement store unavailable")
	// ErrInvalidConfig wraps every error returned by a ToMiddleware.
	ErrInvalidConfig = errors.New("middleware: invalid config")
)

// AuthError is a 401: Err says why (ErrMissing … ErrNoUser, or
// ErrNotAuthenticated from a guard), possibly wrapped with detail.
type AuthError struct {
	Err error
}

func (e *AuthError) Error() string { return "middleware: unauthorized: " + e.Err.Error() }

func (e *AuthError) Unwrap() error { return e.Err }

// PaymentRequiredError is a 402 from an entitlement guard.
type PaymentRequiredError struct {
	// Feature is the feature that is missing: the only one, the first
	// missing one of an all-of guard, or the first listed of an any-of guard.
	Feature string
	// Products are the IDs of the products that would grant access (for an
	// any-of guard, those granting any of its features). Never nil.
	Products []string
}

func (e *PaymentRequiredError) Error() string {
	return fmt.Sprintf("middleware: payment required: feature %q", e.Feature)
}

// Is makes errors.Is(err, ErrPaymentRequired) hold.
func (e *PaymentRequiredError) Is(target error) bool { return target == ErrPaymentRequired }

// InsufficientCreditsError is a 402 from a spend guard.
type InsufficientCreditsError struct {
	Credit  string
	Balance int64 // the balance the store reported
	Need    int64 // the amount the guard tried to spend
	// Products are the IDs of the products that add to Credit. Never nil.
	Products []string
}

func (e *InsufficientCreditsError) Error() string {
	return fmt.Sprintf("middleware: insufficient credits: %q balance %d, need %d", e.Credit, e.Balance, e.Need)
}

// Is makes errors.Is(err, ErrInsufficientCredits) hold.
func (e *InsufficientCreditsError) Is(target error) bool { return target == ErrInsufficientCredits }

// UnavailableError is a 503: the Checker or Spender returned Err, so the
// guard cannot tell whether the user is entitled. Never a 402.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string {
	return "middleware: entitlement store unavailable: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}
