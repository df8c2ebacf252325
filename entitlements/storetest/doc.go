// Package storetest is the conformance suite of [entitlements.Store]. Every
// implementation runs it against fresh instances of itself:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) entitlements.Store {
//			return mystore.New(…) // empty, released with t.Cleanup
//		})
//	}
//
// The suite checks the written contract of Store (and of
// [entitlements.Notifier] when the store implements it) with exact
// assertions on states, ledger records, changes, events and versions:
// purchases of each product kind, subscription renewals (also out of order),
// cancellation, reactivation, failed renewals and expiry, refunds, grants
// without payment, credits, concurrent duplicate deliveries and spends,
// invalid arguments and canceled contexts.
//
// Its times are whole seconds: a store must keep at least second precision
// and may drop anything finer. Times are compared as instants, so a store
// may return them in any location.
//
// [Pay] and [Renewal] build the payments Telegram reports, for tests of code
// built on a store.
package storetest
