package storetest_test

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
	"github.com/starsgate/starsgate/entitlements/storetest"
)

func TestRunMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) entitlements.Store { return entitlements.NewMemoryStore() })
}

// brokenEnv names, in a child process, the broken store to run the suite
// against.
const brokenEnv = "STORETEST_BROKEN"

// broken are stores that each break one rule of the contract, with a
// subtest of the suite that must catch it.
var broken = map[string]struct {
	store  func() entitlements.Store
	caught string
}{
	"duplicate bumps the version": {
		store:  func() entitlements.Store { return &dupVersionStore{MemoryStore: entitlements.NewMemoryStore()} },
		caught: "TestBrokenStore/purchase/ok,_one-time_for_life",
	},
	"every delivery recorded": {
		store:  func() entitlements.Store { return &noDedupStore{MemoryStore: entitlements.NewMemoryStore()} },
		caught: "TestBrokenStore/concurrency/ok,_100_deliveries_of_one_consumable_charge_at_once",
	},
	"load shares its credits": {
		store:  func() entitlements.Store { return &sharedLoadStore{MemoryStore: entitlements.NewMemoryStore()} },
		caught: "TestBrokenStore/contract/ok,_results_and_arguments_are_copies",
	},
	"context ignored": {
		store:  func() entitlements.Store { return &noContextStore{MemoryStore: entitlements.NewMemoryStore()} },
		caught: "TestBrokenStore/contract/nok,_a_canceled_context",
	},
	"duplicates notify": {
		store:  func() entitlements.Store { return &noisyStore{MemoryStore: entitlements.NewMemoryStore()} },
		caught: "TestBrokenStore/notifier/ok,_every_change_is_announced,_nothing_else",
	},
}

// TestRunCatchesBrokenStores proves the suite can fail: each broken store
// runs it in a child process, which must fail in the expected subtest.
func TestRunCatchesBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("inside a child process")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBrokenStore$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the suite passed a broken store:\n%s", out)
			assert.Contains(t, string(out), "--- FAIL: "+b.caught+" ", "caught elsewhere:\n%s", out)
		})
	}
}

// TestBrokenStore is the child process of TestRunCatchesBrokenStores.
func TestBrokenStore(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRunCatchesBrokenStores")
	}
	b, ok := broken[name]
	require.True(t, ok, "unknown broken store %q", name)
	storetest.Run(t, func(t *testing.T) entitlements.Store { return b.store() })
}

type dupVersionStore struct{ *entitlements.MemoryStore }

func (s *dupVersionStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	ch, err := s.MemoryStore.RecordPayment(ctx, p)
	if ch.Duplicate {
		ch.Version++
	}
	return ch, err
}

type noDedupStore struct {
	*entitlements.MemoryStore
	mu sync.Mutex
	n  int
}

func (s *noDedupStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	s.mu.Lock()
	s.n++
	if s.n > 1 {
		p.ChargeID += "#" + strconv.Itoa(s.n)
	}
	s.mu.Unlock()
	return s.MemoryStore.RecordPayment(ctx, p)
}

type sharedLoadStore struct {
	*entitlements.MemoryStore
	mu      sync.Mutex
	credits map[int64]map[string]int64
}

func (s *sharedLoadStore) Load(ctx context.Context, userID int64) (entitlements.State, error) {
	st, err := s.MemoryStore.Load(ctx, userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.credits == nil {
		s.credits = map[int64]map[string]int64{}
	}
	if cached, ok := s.credits[userID]; ok {
		// Up to date, but the same map every time: what a caller
		// added to it shows up in the next load.
		maps.Copy(cached, st.Credits)
		st.Credits = cached
	} else {
		s.credits[userID] = st.Credits
	}
	return st, err
}

type noContextStore struct{ *entitlements.MemoryStore }

func (s *noContextStore) RecordPayment(_ context.Context, p entitlements.Payment) (entitlements.Change, error) {
	return s.MemoryStore.RecordPayment(context.Background(), p)
}

type noisyStore struct {
	*entitlements.MemoryStore
	mu   sync.Mutex
	subs []func(int64)
}

func (s *noisyStore) Subscribe(ctx context.Context, fn func(int64), onReset func()) error {
	s.mu.Lock()
	s.subs = append(s.subs, fn)
	s.mu.Unlock()
	return s.MemoryStore.Subscribe(ctx, fn, onReset)
}

func (s *noisyStore) RecordPayment(ctx context.Context, p entitlements.Payment) (entitlements.Change, error) {
	ch, err := s.MemoryStore.RecordPayment(ctx, p)
	if ch.Duplicate {
		s.mu.Lock()
		subs := s.subs
		s.mu.Unlock()
		for _, fn := range subs {
			fn(p.UserID)
		}
	}
	return ch, err
}
