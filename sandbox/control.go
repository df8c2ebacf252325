package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// maxControlBody bounds a control API request body.
const maxControlBody = 1 << 20

// controlRoutes mounts the JSON control API that drives the simulated
// payers from another process or a browser page. It needs no token: the
// sandbox is for local use only. Errors are {"error":{"code","message"}}.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /sandbox/info", s.ctlInfo)
	mux.HandleFunc("POST /sandbox/pay", s.ctlPay)
	mux.HandleFunc("POST /sandbox/renew", s.ctlRenew)
	mux.HandleFunc("POST /sandbox/cancel", s.ctlSubAction((*Server).CancelByUser))
	mux.HandleFunc("POST /sandbox/reactivate", s.ctlSubAction((*Server).Reactivate))
	mux.HandleFunc("POST /sandbox/fail", s.ctlSubAction((*Server).FailRenewal))
	mux.HandleFunc("GET /sandbox/subscriptions", s.ctlSubscriptions)
	mux.HandleFunc("POST /sandbox/advance", s.ctlAdvance)
	mux.HandleFunc("GET /sandbox/now", s.ctlNow)
	mux.HandleFunc("POST /sandbox/initdata", s.ctlInitData)
	mux.HandleFunc("POST /sandbox/message", s.ctlMessage)
	mux.HandleFunc("GET /sandbox/sent", s.ctlSent)
	mux.HandleFunc("GET /sandbox/transactions", s.ctlTransactions)
	mux.HandleFunc("GET /sandbox/updates", s.ctlUpdates)
	mux.HandleFunc("POST /sandbox/wait-idle", s.ctlWaitIdle)
	mux.HandleFunc("OPTIONS /sandbox/", func(w http.ResponseWriter, r *http.Request) {
		allowCORS(w)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, &apiError{404, "Not Found"})
	})
}

// allowCORS lets a page on another origin (the example app) drive the sandbox.
func allowCORS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
}

func ctlError(w http.ResponseWriter, status int, code, msg string) {
	allowCORS(w)
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func ctlOK(w http.ResponseWriter, v any) {
	allowCORS(w)
	writeJSON(w, http.StatusOK, v)
}

// ctlFail maps the package's errors to statuses and codes.
func ctlFail(w http.ResponseWriter, err error) {
	var declined *DeclinedError
	switch {
	case errors.As(err, &declined):
		ctlError(w, http.StatusConflict, "declined", declined.Message)
	case errors.Is(err, ErrInvalidUser):
		ctlError(w, http.StatusBadRequest, "invalid_user", err.Error())
	case errors.Is(err, ErrUnknownInvoice):
		ctlError(w, http.StatusNotFound, "unknown_invoice", err.Error())
	case errors.Is(err, ErrUnknownSubscription):
		ctlError(w, http.StatusNotFound, "unknown_subscription", err.Error())
	case errors.Is(err, ErrPreCheckoutTimeout):
		ctlError(w, http.StatusGatewayTimeout, "precheckout_timeout", err.Error())
	case errors.Is(err, ErrSubscriptionCanceled):
		ctlError(w, http.StatusConflict, "subscription_canceled", err.Error())
	case errors.Is(err, ErrSubscriptionNotCanceled):
		ctlError(w, http.StatusConflict, "subscription_not_canceled", err.Error())
	case errors.Is(err, ErrCanceledByBot):
		ctlError(w, http.StatusConflict, "canceled_by_bot", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		ctlError(w, http.StatusGatewayTimeout, "timeout", err.Error())
	default: // ErrClosed, a canceled request
		ctlError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	}
}

// decodeBody reads a JSON object body into v; false means it answered 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err := dec.Decode(v); err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}

func (s *Server) ctlInfo(w http.ResponseWriter, _ *http.Request) {
	now := s.Now()
	ctlOK(w, map[string]any{
		"bot_id": s.botID, "bot_username": s.cfg.BotUsername, "url": s.URL(),
		"now": now.UTC().Format(time.RFC3339), "unix": now.Unix(),
		"pending_updates": s.Pending(),
	})
}

func (s *Server) ctlPay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User          *botapi.User `json:"user"`
		InvoiceLink   string       `json:"invoice_link"`
		DeliveryDelay string       `json:"delivery_delay"` // a Go duration; PayOptions.DeliveryDelay
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.User == nil || req.InvoiceLink == "" {
		ctlError(w, http.StatusBadRequest, "invalid_request", `"user" and "invoice_link" are required`)
		return
	}
	var o PayOptions
	if req.DeliveryDelay != "" {
		d, err := time.ParseDuration(req.DeliveryDelay)
		if err != nil || d < 0 {
			ctlError(w, http.StatusBadRequest, "invalid_request", `"delivery_delay" must be a non-negative Go duration such as "3s"`)
			return
		}
		o.DeliveryDelay = d
	}
	rc, err := s.PayWith(r.Context(), *req.User, req.InvoiceLink, o)
	if err != nil {
		ctlFail(w, err)
		return
	}
	ctlOK(w, rc)
}

type chargeRequest struct {
	ChargeID string `json:"charge_id"`
}

func (s *Server) readChargeID(w http.ResponseWriter, r *http.Request) (string, bool) {
	var req chargeRequest
	if !decodeBody(w, r, &req) {
		return "", false
	}
	if req.ChargeID == "" {
		ctlError(w, http.StatusBadRequest, "invalid_request", `"charge_id" (the subscription's first charge id) is required`)
		return "", false
	}
	return req.ChargeID, true
}

func (s *Server) ctlRenew(w http.ResponseWriter, r *http.Request) {
	id, ok := s.readChargeID(w, r)
	if !ok {
		return
	}
	rc, err := s.Renew(r.Context(), id)
	if err != nil {
		ctlFail(w, err)
		return
	}
	ctlOK(w, rc)
}

func (s *Server) ctlSubAction(action func(*Server, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.readChargeID(w, r)
		if !ok {
			return
		}
		if err := action(s, id); err != nil {
			ctlFail(w, err)
			return
		}
		info, _ := s.Subscription(id)
		ctlOK(w, info)
	}
}

func (s *Server) ctlSubscriptions(w http.ResponseWriter, _ *http.Request) {
	ctlOK(w, map[string]any{"subscriptions": s.Subscriptions()})
}

func (s *Server) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Seconds == nil || *req.Seconds < 0 || *req.Seconds > 100*365*24*3600 {
		ctlError(w, http.StatusBadRequest, "invalid_request", `"seconds" must be a number from 0 to 100 years`)
		return
	}
	now := s.Advance(time.Duration(*req.Seconds * float64(time.Second)))
	ctlOK(w, map[string]any{"now": now.UTC().Format(time.RFC3339), "unix": now.Unix()})
}

func (s *Server) ctlNow(w http.ResponseWriter, _ *http.Request) {
	now := s.Now()
	ctlOK(w, map[string]any{"now": now.UTC().Format(time.RFC3339), "unix": now.Unix()})
}

func (s *Server) ctlInitData(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User     *botapi.User `json:"user"`
		AuthDate int64        `json:"auth_date"` // Unix seconds; 0 = the sandbox's now
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.User == nil {
		ctlError(w, http.StatusBadRequest, "invalid_request", `"user" is required`)
		return
	}
	u, err := checkUser(*req.User)
	if err != nil {
		ctlFail(w, err)
		return
	}
	var at time.Time
	if req.AuthDate != 0 {
		at = time.Unix(req.AuthDate, 0)
	}
	ctlOK(w, map[string]string{"init_data": s.SignInitData(u, at)})
}

func (s *Server) ctlMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User *botapi.User `json:"user"`
		Text string       `json:"text"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.User == nil || req.Text == "" {
		ctlError(w, http.StatusBadRequest, "invalid_request", `"user" and "text" are required`)
		return
	}
	m, err := s.SendText(r.Context(), *req.User, req.Text)
	if err != nil {
		ctlFail(w, err)
		return
	}
	ctlOK(w, map[string]any{"message": m})
}

func (s *Server) ctlSent(w http.ResponseWriter, _ *http.Request) {
	ctlOK(w, map[string]any{"messages": s.Sent()})
}

func (s *Server) ctlTransactions(w http.ResponseWriter, _ *http.Request) {
	ctlOK(w, botapi.StarTransactions{Transactions: s.Transactions()})
}

func (s *Server) ctlUpdates(w http.ResponseWriter, _ *http.Request) {
	ctlOK(w, map[string]any{"updates": s.Updates()})
}

func (s *Server) ctlWaitIdle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TimeoutSeconds float64 `json:"timeout_seconds"` // default 10, at most 60
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	timeout := 10 * time.Second
	if req.TimeoutSeconds > 0 {
		timeout = min(time.Duration(req.TimeoutSeconds*float64(time.Second)), time.Minute)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		ctlFail(w, err)
		return
	}
	ctlOK(w, map[string]any{"pending_updates": 0})
}
