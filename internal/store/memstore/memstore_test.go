package memstore

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the whole suite. A reopen closes the handle and
// opens a new one on the same Data, as a restart of a persistent backend
// opens the same files.
func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			s := New()
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s2 := Open(s.(*Store).Data())
			t.Cleanup(func() { _ = s2.Close() })
			return s2
		})
}
