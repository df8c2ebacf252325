package checkout

import (
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"slices"

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
		body, tooLarge, err := readBody(req, p.cfg.MaxBodyBytes)
		if tooLarge {
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

// readBody reads r's body, or reports that it is longer than limit. Sized
// from Content-Length when the client sent one (the secret is checked
// already), the read makes one allocation where io.ReadAll behind
// http.MaxBytesReader makes two or more.
func readBody(r *http.Request, limit int64) (body []byte, tooLarge bool, err error) {
	if r.ContentLength > limit {
		return nil, true, nil
	}
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength
	}
	// + 1: room to see the end of a body of the announced size without
	// growing, and to tell a body one byte over the limit.
	buf := make([]byte, 0, min(size, limit)+1)
	for {
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > limit:
			return nil, true, nil
		case err == io.EOF:
			return buf, false, nil
		case err != nil:
			return nil, false, err
		case len(buf) == cap(buf): // len ≤ limit here
			buf = slices.Grow(buf, int(min(int64(cap(buf)), limit-int64(len(buf))+1)))
		}
	}
}
