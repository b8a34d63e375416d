package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

// The cases here check the graph counters, log lines and metadata against
// a closed store, a cancelled context, and loops that stop early.

// extras writes three graph rows, three log lines and three metadata
// values; each stream reader below yields three items.
func extras(t *testing.T, s store.Store) {
	t.Helper()
	M := int64(sec(now())) / 60
	T := now()
	b := &store.Batch{}
	for i := range 3 {
		b.Graph = append(b.Graph, store.GraphDelta{Minute: M, Key: fmt.Sprint("k", i), Values: cs(0, 1)})
		b.Logs = append(b.Logs, line("f", "r", "", T.Add(time.Duration(i)), fmt.Sprint("line ", i)))
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i := range 3 {
		if err := s.PutMeta(context.Background(), fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatalf("PutMeta: %v", err)
		}
	}
}

// extraStream is one streaming read of extras, reduced to its errors.
type extraStream struct {
	name string
	read func(ctx context.Context) iter.Seq[error]
}

func extraStreams(s store.Store) []extraStream {
	errsOf := func(seq func(yield func(struct{}, error) bool)) iter.Seq[error] {
		return func(yield func(error) bool) {
			for _, err := range seq {
				if !yield(err) {
					return
				}
			}
		}
	}
	return []extraStream{
		{"GraphCounters", func(ctx context.Context) iter.Seq[error] {
			return errsOf(func(yield func(struct{}, error) bool) {
				for _, err := range s.GraphCounters(ctx, "", minMinute, maxMinute) {
					if !yield(struct{}{}, err) {
						return
					}
				}
			})
		}},
		{"Logs", func(ctx context.Context) iter.Seq[error] {
			return errsOf(func(yield func(struct{}, error) bool) {
				for _, err := range s.Logs(ctx, store.LogQuery{Function: "f"}) {
					if !yield(struct{}{}, err) {
						return
					}
				}
			})
		}},
		{"ListMeta", func(ctx context.Context) iter.Seq[error] {
			return errsOf(func(yield func(struct{}, error) bool) {
				for _, err := range s.ListMeta(ctx, "") {
					if !yield(struct{}{}, err) {
						return
					}
				}
			})
		}},
	}
}

func testExtrasClosed(t *testing.T, h *harness) {
	s := h.open(t)
	extras(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	f := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("%s after Close: %v, want ErrClosed", op, err)
		}
	}
	M := int64(sec(now())) / 60
	f("Write of graph deltas", s.Write(ctx, &store.Batch{Graph: []store.GraphDelta{{Minute: M, Key: "k", Values: cs(0, 1)}}}))
	f("Write of log lines", s.Write(ctx, &store.Batch{Logs: []logs.Record{line("f", "r", "", now(), "x")}}))
	_, _, err := s.GetMeta(ctx, "k0")
	f("GetMeta", err)
	f("PutMeta", s.PutMeta(ctx, "k0", nil))
	f("DeleteMeta", s.DeleteMeta(ctx, "k0"))
	for _, st := range extraStreams(s) {
		n := 0
		for err := range st.read(ctx) {
			n++
			f(st.name, err)
		}
		if n != 1 {
			t.Fatalf("%s after Close yielded %d times, want one error", st.name, n)
		}
	}
	// An empty window still says the store is closed.
	for _, err := range s.GraphCounters(ctx, "", M, M) {
		f("GraphCounters of an empty window", err)
	}
}

func testExtrasContext(t *testing.T, h *harness) {
	s := h.open(t)
	extras(t, s)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v, want context.Canceled", op, err)
		}
	}
	_, _, err := s.GetMeta(cancelled, "k0")
	f("GetMeta", err)
	f("PutMeta", s.PutMeta(cancelled, "k0", []byte("changed")))
	f("DeleteMeta", s.DeleteMeta(cancelled, "k1"))
	f("Write", s.Write(cancelled, &store.Batch{Logs: []logs.Record{line("f", "r", "", now(), "x")}}))
	for _, st := range extraStreams(s) {
		n := 0
		for err := range st.read(cancelled) {
			n++
			f(st.name, err)
		}
		if n != 1 {
			t.Fatalf("%s with a cancelled context yielded %d times, want one error", st.name, n)
		}
		// Cancelled mid-iteration: the next step reports it and iteration
		// stops.
		ctx, cancel := context.WithCancel(context.Background())
		var got []error
		for err := range st.read(ctx) {
			got = append(got, err)
			cancel()
		}
		cancel()
		if len(got) != 2 || got[0] != nil || !errors.Is(got[1], context.Canceled) {
			t.Fatalf("%s, cancelled after the first item: yields %v, want [nil, context.Canceled]", st.name, got)
		}
	}
	// Nothing changed.
	if v, ok, err := s.GetMeta(context.Background(), "k0"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("GetMeta after cancelled calls: %q %v %v", v, ok, err)
	}
	if _, ok, err := s.GetMeta(context.Background(), "k1"); err != nil || !ok {
		t.Fatalf("GetMeta of a key whose deletion was cancelled: %v %v", ok, err)
	}
	if n := len(readLogs(t, s, store.LogQuery{Function: "f"})); n != 3 {
		t.Fatalf("%d log lines after a cancelled Write, want 3", n)
	}
}

// testExtrasEarlyBreak stops reads early, and uses the store inside them;
// the store must release what the iterations held.
func testExtrasEarlyBreak(t *testing.T, h *harness) {
	s := h.open(t)
	extras(t, s)
	ctx := context.Background()
	for _, st := range extraStreams(s) {
		for range 3 {
			for err := range st.read(ctx) {
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				break
			}
		}
		n := 0
		for err := range st.read(ctx) {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if n++; n == 1 {
				// Reads and writes of every kind inside the loop body.
				if err := s.PutMeta(ctx, "inside", []byte("x")); err != nil {
					t.Fatal(err)
				}
				if _, _, err := s.GetMeta(ctx, "inside"); err != nil {
					t.Fatal(err)
				}
				if err := s.Write(ctx, &store.Batch{Logs: []logs.Record{line("other", "r", "", now(), "x")}}); err != nil {
					t.Fatal(err)
				}
				readLogs(t, s, store.LogQuery{Function: "other"})
				readGraph(t, s, "", minMinute, maxMinute)
			}
		}
		if n < 3 {
			t.Fatalf("%s with reads and writes inside: %d items, want at least 3", st.name, n)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after abandoned iterations: %v", err)
	}
}
