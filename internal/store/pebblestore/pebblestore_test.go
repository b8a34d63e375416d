package pebblestore

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

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
				func(t *testing.T, s store.Store) store.Store { return reopenTest(t, s.(*Store)) },
				storetest.WithFaults(func(t *testing.T) (store.Store, func(), func()) { return openFaulty(t, opts) }))
		})
	}
	f("Defaults", Options{})
	// Tiny frames: every trace straddles frames, every batch has many.
	f("TinyFrames", Options{FrameSize: 1 << 10, NoSync: true})
	// No redirect cache: every placement of a redirected trace reads disk.
	f("NoRedirectCache", Options{RedirectCacheSize: -1, NoSync: true})
}

// openFaulty opens a store whose write-ahead log writes fail while armed
// (failLog): a Write fails in the commit, after the whole batch is built,
// and the store refuses writes until it has reopened its database. disarm
// waits for that.
func openFaulty(t *testing.T, opts Options) (*Store, func(), func()) {
	inj := &failLog{}
	opts.fs = errorfs.Wrap(vfs.Default, inj)
	opts.MinFreeBytes = -1
	opts.NoSync = false // without sync, the log write may come after the commit returns
	s := openTest(t, opts)
	disarm := func() {
		inj.on.Store(false)
		deadline := time.Now().Add(10 * time.Second)
		for s.Health() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("still unhealthy after the fault ended: %v", s.Health())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return s, func() { inj.on.Store(true) }, disarm
}
