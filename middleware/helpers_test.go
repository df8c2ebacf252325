package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

const (
	testToken = "123456:TEST-token-for-unit-tests"
	testBotID = 123456
)

var (
	testNow  = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	testUser = User{ID: 42, FirstName: "Ada", LastName: "Lovelace", Username: "ada", LanguageCode: "en", IsPremium: true}
)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// Vectors of init-data-golang v1.5.0 (research doc §4.1, §4.3).
const (
	// Signed with vectorToken, auth_date 1662771648, no signature field.
	vectorHMACInitData = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
	vectorToken        = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
	vectorHMACAuthDate = 1662771648
	// Signed by Telegram (Ed25519, production key) for bot vectorBotID,
	// auth_date 1733584787. Its hash is for a token we do not have.
	vectorThirdPartyInitData = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=1733584787&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ"
	vectorBotID              = 7342037359
	vectorThirdPartyAuthDate = 1733584787
)

// signed returns init data for testUser issued at testNow, with the fields
// changed by edit before signing.
func signed(token string, edit func(url.Values)) string {
	userJSON, _ := json.Marshal(testUser)
	q := url.Values{
		"auth_date": {strconv.FormatInt(testNow.Unix(), 10)},
		"user":      {string(userJSON)},
		"query_id":  {"AAHdF6IQAAAAAN0XohDhrOrc"},
	}
	if edit != nil {
		edit(q)
	}
	return SignValues(token, q)
}

// reencode parses raw, lets edit change it, and encodes it again: a change
// made after signing.
func reencode(t testing.TB, raw string, edit func(url.Values)) string {
	t.Helper()
	q, err := url.ParseQuery(raw)
	require.NoError(t, err)
	edit(q)
	return q.Encode()
}

// errorBody is the SPEC §4 error body, decoded loosely.
type errorBody struct {
	Error map[string]any `json:"error"`
}

func decodeError(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var b errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b), rec.Body.String())
	require.NotNil(t, b.Error, rec.Body.String())
	return b.Error
}

// serve sends a GET with the Authorization header (none when empty).
func serve(e *echo.Echo, path, authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set(echo.HeaderAuthorization, authorization)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// recordErrors is an ErrorHandler that keeps each error and then answers as
// DefaultErrorHandler does.
type recordErrors struct{ errs []error }

func (r *recordErrors) handle(c echo.Context, err error) error {
	r.errs = append(r.errs, err)
	return DefaultErrorHandler(c, err)
}

func (r *recordErrors) last() error {
	if len(r.errs) == 0 {
		return nil
	}
	return r.errs[len(r.errs)-1]
}
