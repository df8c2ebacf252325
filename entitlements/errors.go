package entitlements

import (
	"errors"
	"fmt"
)

var (
	// ErrPaymentNotFound means no ledger record has that charge ID for that user.
	ErrPaymentNotFound = errors.New("entitlements: payment not found")
	// ErrGrantNotFound means the user holds no grant with that ID.
	ErrGrantNotFound = errors.New("entitlements: grant not found")
	// ErrInsufficientCredits means a spend would take a balance below zero.
	// The concrete error is an *InsufficientCreditsError.
	ErrInsufficientCredits = errors.New("entitlements: insufficient credits")
	// ErrInvalid means the call's arguments are invalid (empty IDs,
	// non-positive amounts, a payment without its effect).
	ErrInvalid = errors.New("entitlements: invalid argument")
	// ErrInvalidCatalog wraps every catalog validation failure.
	ErrInvalidCatalog = errors.New("entitlements: invalid catalog")
	// ErrUnknownProduct means the product ID is not in the catalog.
	ErrUnknownProduct = errors.New("entitlements: unknown product")
	// ErrCorrupt means a store returned data that does not decode.
	ErrCorrupt = errors.New("entitlements: corrupt stored data")
)

// InsufficientCreditsError is returned by Spend when the balance is too low.
type InsufficientCreditsError struct {
	Credit  string
	Balance int64
	Need    int64
}

func (e *InsufficientCreditsError) Error() string {
	return fmt.Sprintf("entitlements: insufficient credits: %q balance %d, need %d", e.Credit, e.Balance, e.Need)
}

// Is makes errors.Is(err, ErrInsufficientCredits) hold.
func (e *InsufficientCreditsError) Is(target error) bool { return target == ErrInsufficientCredits }
