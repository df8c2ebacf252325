package checkout

import "errors"

var (
	// ErrTransient marks a fault that may go away on a retry: the store is
	// unreachable, a context deadline passed, the Bot API answered 5xx or 429
	// or could not be reached. Process wraps it so that the caller (the
	// webhook, the poller, an app's own framework) redelivers the update;
	// everything else is permanent and is logged, not returned.
	ErrTransient = errors.New("checkout: transient failure, retry the update")
	// ErrInvalidConfig means a required Config field is missing or a field
	// is out of range.
	ErrInvalidConfig = errors.New("checkout: invalid config")
	// ErrNoSubscription means the user holds no subscription grant for the
	// product (CancelSubscription, ResumeSubscription).
	ErrNoSubscription = errors.New("checkout: no such subscription")
)
