package checkout

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/starsgate/starsgate/entitlements"
)

func TestEventMessage(t *testing.T) {
	for _, typ := range []entitlements.EventType{
		entitlements.EventPurchased, entitlements.EventRenewed, entitlements.EventCanceled, entitlements.EventReactivated,
		entitlements.EventRenewalFailed, entitlements.EventRefunded, entitlements.EventGranted, entitlements.EventRevoked,
		"something_new",
	} {
		assert.Equal(t, "checkout: "+string(typ), eventMessage(typ))
	}
}
