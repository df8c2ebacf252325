package middleware

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/starsgate/starsgate/internal/apierror"
)

// DefaultErrorHandler writes the SPEC §4 error body for the middlewares'
// errors and returns nil:
//
//	*AuthError                401 {"error":{"code":"unauthorized","message":…}}
//	*PaymentRequiredError     402 {"error":{"code":"payment_required","message":…,"feature":…,"products":[…]}}
//	*InsufficientCreditsError 402 {"error":{"code":"insufficient_credits","message":…,"credit":…,"balance":N,"products":[…]}}
//	*UnavailableError         503 {"error":{"code":"unavailable","message":…}}
//
// Any other error is returned unchanged, for echo's HTTPErrorHandler. A
// custom ErrorHandler can handle some cases and delegate the rest here.
func DefaultErrorHandler(c echo.Context, err error) error {
	var (
		authErr   *AuthError
		payErr    *PaymentRequiredError
		creditErr *InsufficientCreditsError
		downErr   *UnavailableError
	)
	switch {
	case errors.As(err, &authErr):
		e := apierror.Unauthorized()
		e.Internal = err
		return apierror.Write(c, e)
	case errors.As(err, &payErr):
		return apierror.Write(c, &apierror.Error{
			Status:  http.StatusPaymentRequired,
			Code:    apierror.CodePaymentRequired,
			Message: fmt.Sprintf("feature %q requires a purchase", payErr.Feature),
			Extra:   map[string]any{"feature": payErr.Feature, "products": nonNil(payErr.Products)},
		})
	case errors.As(err, &creditErr):
		return apierror.Write(c, &apierror.Error{
			Status:  http.StatusPaymentRequired,
			Code:    apierror.CodeInsufficientCredits,
			Message: fmt.Sprintf("not enough %q: balance %d, need %d", creditErr.Credit, creditErr.Balance, creditErr.Need),
			Extra:   map[string]any{"credit": creditErr.Credit, "balance": creditErr.Balance, "products": nonNil(creditErr.Products)},
		})
	case errors.As(err, &downErr):
		e := apierror.Unavailable()
		e.Internal = err
		return apierror.Write(c, e)
	}
	return err
}

// nonNil makes a nil list render as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
