package checkout

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/botapi"
	"github.com/starsgate/starsgate/internal/apierror"
)

// SecretTokenHeader carries the webhook secret in Telegram's requests.
const SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token"

// Webhook returns the handler for Telegram's webhook requests (POST).
//
// A missing or wrong secret header is answered 401 and a body over
// MaxBodyBytes 413, with nothing processed. Everything processed or
// deliberately ignored (unknown update kinds, malformed JSON, refused
// checkouts, payloads not ours) is answered 200, so that a poison update
// never blocks the chat's later ones; only transient faults get 503, so
// that Telegram delivers the update again. Without Config.WebhookSecret
// every request is refused.
func (p *Processor) Webhook() echo.HandlerFunc {
	secret := []byte(p.cfg.WebhookSecret)
	if len(secret) == 0 {
		p.log.Error("checkout: no WebhookSecret configured; the webhook refuses every request")
	}
	return func(c echo.Context) error {
		req := c.Request()
		ctx := req.Context()
		got := []byte(req.Header.Get(SecretTokenHeader))
		if len(secret) == 0 || subtle.ConstantTimeCompare(got, secret) != 1 {
			p.log.WarnContext(ctx, "checkout: webhook request with a missing or wrong secret refused",
				slog.String("remote_ip", c.RealIP()))
			return apierror.Write(c, apierror.New(http.StatusUnauthorized, apierror.CodeUnauthorized,
				"missing or wrong webhook secret token"))
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, p.cfg.MaxBodyBytes))
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			p.log.WarnContext(ctx, "checkout: webhook body too large", slog.Int64("limit", p.cfg.MaxBodyBytes))
			return apierror.Write(c, apierror.New(http.StatusRequestEntityTooLarge, apierror.CodePayloadTooLarge,
				"the update is larger than the webhook accepts"))
		}
		if err != nil { // the connection broke while reading: Telegram retries
			return apierror.Write(c, apierror.New(http.StatusBadRequest, apierror.CodeInvalidRequest, "cannot read the request body"))
		}
		u, err := botapi.DecodeUpdate(body)
		if err != nil {
			p.log.WarnContext(ctx, "checkout: ignoring malformed update", slog.String("error", err.Error()))
			return c.NoContent(http.StatusOK)
		}
		if q := u.PreCheckoutQuery; q != nil && p.cfg.AnswerInWebhookResponse {
			// Not ours (for OnUpdate) or a reply that did not encode: answer
			// through the API below instead.
			if reply, ours, err := p.preCheckoutReply(ctx, q); ours && err == nil {
				return c.JSONBlob(http.StatusOK, reply)
			}
		}
		if err := p.ProcessUpdate(ctx, u); err != nil {
			return apierror.Write(c, apierror.New(http.StatusServiceUnavailable, apierror.CodeUnavailable,
				"temporarily unable to process the update, retry"))
		}
		return c.NoContent(http.StatusOK)
	}
}
