package invoice

import "errors"

var (
	// ErrPayloadNotOurs means the payload does not start with [PayloadPrefix]:
	// it was made by something else (another feature of the same bot, or an
	// unknown format version). A processor should ignore such payments rather
	// than refuse them.
	ErrPayloadNotOurs = errors.New("invoice: payload not issued by starsgate")
	// ErrPayloadMalformed means the payload has our prefix but does not parse:
	// wrong length, bad product ID, bad base64, truncated or extended.
	ErrPayloadMalformed = errors.New("invoice: malformed payload")
	// ErrPayloadForged means the payload parses but its tag does not match any
	// key of the codec: tampered with, or signed with another key.
	ErrPayloadForged = errors.New("invoice: payload signature mismatch")
	// ErrPayloadWrongUser means an authentic payload was issued to another
	// user than the one paying with it.
	ErrPayloadWrongUser = errors.New("invoice: payload issued to another user")
	// ErrPayloadInvalid means Encode was given fields it cannot encode
	// (product ID not [a-z0-9_-]{1,64}, user ID ≤ 0, issue time outside
	// 1970–2106).
	ErrPayloadInvalid = errors.New("invoice: invalid payload fields")
	// ErrKeyTooShort means a codec key is shorter than [MinKeyLen] bytes.
	ErrKeyTooShort = errors.New("invoice: payload key too short")

	// ErrInvalidLimitConfig means a [LimitConfig] or limiter argument is
	// unusable (negative limit or period, a period too short for the limit, a
	// prefix containing a hash-tag brace, a nil Redis client).
	ErrInvalidLimitConfig = errors.New("invoice: invalid rate limit config")
	// ErrLimiterReply means the rate limiter script answered something it
	// never sends; the request must not be treated as allowed.
	ErrLimiterReply = errors.New("invoice: unexpected rate limiter reply")

	// ErrInvalidConfig means NewLinks or NewHandler was given an unusable
	// configuration (a required field missing, a negative size).
	ErrInvalidConfig = errors.New("invoice: invalid config")
	// ErrCreateLink wraps a failed createInvoiceLink call: a refusal by the
	// Bot API (a *botapi.Error) or no answer at all.
	ErrCreateLink = errors.New("invoice: createInvoiceLink failed")
)
