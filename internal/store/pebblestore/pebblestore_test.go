package pebblestore

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchTraces()
	closeBenchSummaries()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openTest opens a store in a fresh directory and closes it when the test
// ends.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func reopenTest(t testing.TB, s *Store) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(s.dir, s.opts)
	if err != nil {
		t.Fatalf("reopen %s: %v", s.dir, err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

func TestConformance(t *testing.T) {
	f := func(name string, opts Options) {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t,
				func(t *testing.T) store.Store { return openTest(t, opts) },
				func(t *testing.T, s store.Store) store.Store { return reopenTest(t, s.(*Store)) })
		})
	}
	f("Defaults", Options{})
	// Tiny frames: every trace straddles frames, every batch has many.
	f("TinyFrames", Options{FrameSize: 1 << 10, NoSync: true})
	// No redirect cache: every placement of a redirected trace reads disk.
	f("NoRedirectCache", Options{RedirectCacheSize: -1, NoSync: true})
}
