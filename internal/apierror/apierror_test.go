package apierror

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
	err := &Error{Status: 402, Code: CodePaymentRequired, Message: "premium is required",
		Extra: map[string]any{"feature": "premium", "products": []string{"pro"}, "code": "ignored"}}
	require.NoError(t, Write(c, err))
	require.Equal(t, 402, rec.Code)
	require.JSONEq(t, `{"error":{"code":"payment_required","message":"premium is required","feature":"premium","products":["pro"]}}`, rec.Body.String())
}
