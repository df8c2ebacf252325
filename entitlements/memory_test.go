package entitlements_test

import (
	"testing"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/entitlements/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) entitlements.Store { return entitlements.NewMemoryStore() })
}
