package store_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// composedParts are a composed store's parts, for its reopen.
type composedParts struct {
	dir   string
	peb   *pebblestore.Store
	graph *memstore.Data
}

// TestComposeConformance runs the whole suite on a store composed of
// Pebble's documents, summaries and metadata and the memory backend's
// graph counters and log lines. Its half-failed batch fails in the memory
// part after Pebble stored its share: the retry must store the rest, and
// only the rest.
func TestComposeConformance(t *testing.T) {
	parts := map[store.Store]*composedParts{}
	compose := func(t *testing.T, p *composedParts) store.Store {
		mem := memstore.Open(p.graph)
		s, err := store.Compose(store.Parts{Traces: p.peb, Graph: mem, Logs: mem, Meta: p.peb})
		if err != nil {
			t.Fatal(err)
		}
		if store.IsAtomic(s) {
			t.Fatal("a store composed of two backends says its writes are atomic")
		}
		parts[s] = p
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	open := func(t *testing.T) store.Store {
		dir := t.TempDir()
		peb, err := pebblestore.Open(dir, pebblestore.Options{Logger: quiet, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return compose(t, &composedParts{dir: dir, peb: peb, graph: memstore.NewData()})
	}
	reopen := func(t *testing.T, s store.Store) store.Store {
		p := parts[s]
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		peb, err := pebblestore.Open(p.dir, pebblestore.Options{Logger: quiet, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return compose(t, &composedParts{dir: p.dir, peb: peb, graph: p.graph})
	}
	faulty := func(t *testing.T) (store.Store, func(), func()) {
		s := open(t)
		g := parts[s].graph
		arm := func() {
			g.SetWriteFault(func(*store.Batch) error { return errors.New("injected graph write fault") })
		}
		return s, arm, func() { g.SetWriteFault(nil) }
	}
	storetest.Run(t, open, reopen, storetest.WithFaults(faulty))
}

// TestComposeOneBackend: composed of one Atomic backend, the store stays
// Atomic.
func TestComposeOneBackend(t *testing.T) {
	m := memstore.New()
	s, err := store.Compose(store.Parts{Traces: m, Graph: m, Logs: m, Meta: m})
	if err != nil {
		t.Fatal(err)
	}
	if !store.IsAtomic(s) {
		t.Fatal("a store composed of one atomic backend is not atomic")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Compose(store.Parts{Traces: m}); err == nil {
		t.Fatal("Compose without a graph, logs and meta part succeeded")
	}
}
