package sandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxRequestSize bounds a Bot API request body.
const maxRequestSize = 10 << 20

// apiError is a Bot API error answer.
type apiError struct {
	Code        int
	Description string
}

func badRequest(msg string) *apiError { return &apiError{400, "Bad Request: " + msg} }

// described is a result with a "description" next to it, as setWebhook's.
type described struct {
	value       any
	description string
}

type methodFunc func(s *Server, ctx context.Context, p params) (any, *apiError)

// methods maps lower-cased method names (the Bot API is case-insensitive).
// It is filled in init because the methods reach it again through webhook
// replies.
var methods map[string]methodFunc

func init() {
	methods = map[string]methodFunc{
		"getme":                    (*Server).getMe,
		"createinvoicelink":        (*Server).createInvoiceLink,
		"sendinvoice":              (*Server).sendInvoice,
		"answerprecheckoutquery":   (*Server).answerPreCheckoutQuery,
		"refundstarpayment":        (*Server).refundStarPayment,
		"edituserstarsubscription": (*Server).editUserStarSubscription,
		"getstartransactions":      (*Server).getStarTransactions,
		"getmystarbalance":         (*Server).getMyStarBalance,
		"setwebhook":               (*Server).setWebhook,
		"deletewebhook":            (*Server).deleteWebhook,
		"getwebhookinfo":           (*Server).getWebhookInfo,
		"getupdates":               (*Server).getUpdates,
		"sendmessage":              (*Server).sendMessage,
	}
}

// call runs a method by its lower-cased name.
func (s *Server) call(ctx context.Context, method string, p params) (any, *apiError) {
	f, ok := methods[method]
	if !ok {
		return nil, &apiError{404, "Not Found"}
	}
	return f(s, ctx, p)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.controlRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bot") {
			s.serveBotAPI(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveBotAPI serves /bot<token>/<method> and /bot<token>/test/<method>.
// The path holds the token, so it is never logged.
func (s *Server) serveBotAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/bot")
	token, method, ok := strings.Cut(rest, "/")
	if !ok {
		writeAPIError(w, &apiError{404, "Not Found"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		writeAPIError(w, &apiError{401, "Unauthorized"})
		return
	}
	method = strings.TrimPrefix(method, "test/") // the test environment shares the sandbox's state
	method = strings.ToLower(method)
	if _, known := methods[method]; !known {
		writeAPIError(w, &apiError{404, "Not Found"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeAPIError(w, &apiError{405, "Method Not Allowed"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestSize))
	if err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			writeAPIError(w, &apiError{413, "Request Entity Too Large"})
			return
		}
		writeAPIError(w, badRequest("can't read the request body"))
		return
	}
	p, err := parseParams(r.URL.Query(), r.Header.Get("Content-Type"), body)
	if err != nil {
		writeAPIError(w, badRequest("can't parse request parameters: "+strings.TrimPrefix(err.Error(), errBadParams.Error()+": ")))
		return
	}
	res, apiErr := s.call(r.Context(), method, p)
	if apiErr != nil {
		s.log.Debug("sandbox: call refused", "method", method, "code", apiErr.Code, "description", apiErr.Description)
		writeAPIError(w, apiErr)
		return
	}
	s.log.Debug("sandbox: call", "method", method)
	out := map[string]any{"ok": true, "result": res}
	if d, ok := res.(described); ok {
		out["result"], out["description"] = d.value, d.description
	}
	writeJSON(w, http.StatusOK, out)
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Code, map[string]any{"ok": false, "error_code": e.Code, "description": e.Description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
