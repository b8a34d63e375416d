package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func testReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := h.open(t)
	m := newModel()
	base := now()
	a, b := traceID(sec(base)-10, 1), traceID(sec(base), 2)
	r := base.UnixNano()
	write(t, s, m, &store.Batch{Records: []store.Record{record(a, 1, r, ""), record(b, 2, r, ""), record(a, 3, r+1, "")}})
	s = h.reopen(t, s)
	m.check(t, s)
	checkRecordCount(t, s, m)

	// Writes after a reopen come after the earlier ones, even with equal
	// Received values.
	write(t, s, m, &store.Batch{Records: []store.Record{record(a, 4, r+1, ""), record(b, 5, r, "")}})
	m.check(t, s)
	s = h.reopen(t, s)
	m.check(t, s)
	checkRecordCount(t, s, m)
}

func testStats(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.DiskBytes < 0 {
		t.Fatalf("DiskBytes = %d", st.DiskBytes)
	}
	checkRecordCount(t, s, m)
	base := now()
	id := traceID(sec(base), 1)
	rec := record(id, 1, base.UnixNano(), "")
	write(t, s, m, &store.Batch{Records: []store.Record{rec, rec, record(traceID(sec(base), 2), 2, base.UnixNano(), "")}})
	checkRecordCount(t, s, m)
	write(t, s, m, &store.Batch{Records: []store.Record{rec}})
	checkRecordCount(t, s, m)
}

func testClosed(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	id := traceID(sec(base), 1)
	b := &store.Batch{Records: []store.Record{record(id, 1, base.UnixNano(), "")}}
	write(t, s, nil, b)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = s.Close() // a second Close must not panic; its error is the backend's choice

	ctx := context.Background()
	f := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("%s after Close: %v, want ErrClosed", op, err)
		}
	}
	f("Write", s.Write(ctx, b))
	f("DropBefore", s.DropBefore(ctx, base))
	_, err := s.Stats(ctx)
	f("Stats", err)
	n := 0
	for tr, err := range s.Traces(ctx, []xrayid.TraceID{id}) {
		n++
		if tr != nil {
			t.Fatal("Traces after Close yielded a trace")
		}
		f("Traces", err)
	}
	if n != 1 {
		t.Fatalf("Traces after Close yielded %d times, want one error", n)
	}
}

func testContextCancelled(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	ids := []xrayid.TraceID{traceID(sec(base), 1), traceID(sec(base), 2), traceID(sec(base), 3)}
	m := newModel()
	b := &store.Batch{}
	for i, id := range ids {
		b.Records = append(b.Records, record(id, xrayid.SegmentID(i+1), base.UnixNano(), ""))
	}
	write(t, s, m, b)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v, want context.Canceled", op, err)
		}
	}
	f("Write", s.Write(cancelled, &store.Batch{Records: []store.Record{record(ids[0], 9, base.UnixNano(), "")}}))
	f("DropBefore", s.DropBefore(cancelled, base.Add(day)))
	for tr, err := range s.Traces(cancelled, ids) {
		if tr != nil {
			t.Fatal("Traces with a cancelled context yielded a trace")
		}
		f("Traces", err)
	}

	// Cancelled mid-iteration: the next step reports it and iteration stops.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []error
	for tr, err := range s.Traces(ctx, ids) {
		got = append(got, err)
		if tr != nil {
			cancel()
		}
	}
	if len(got) != 2 || got[0] != nil || !errors.Is(got[1], context.Canceled) {
		t.Fatalf("cancel after the first trace: yields %v, want [nil, context.Canceled]", got)
	}

	// DropBefore did not run: everything is still there, and the store works.
	write(t, s, m, &store.Batch{Records: []store.Record{record(ids[0], 10, base.UnixNano()+1, "")}})
	m.check(t, s)
}

// testEarlyBreak stops iterating early; the store must release whatever the
// iteration held.
func testEarlyBreak(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	m := newModel()
	var ids []xrayid.TraceID
	b := &store.Batch{}
	for i := range 5 {
		id := traceID(sec(base), uint64(i+1))
		ids = append(ids, id)
		b.Records = append(b.Records, record(id, xrayid.SegmentID(i+1), base.UnixNano(), ""))
	}
	write(t, s, m, b)
	for range 3 {
		for tr, err := range s.Traces(context.Background(), ids) {
			if err != nil || tr == nil {
				t.Fatalf("Traces: %v", err)
			}
			break
		}
	}
	m.check(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close after abandoned iterations: %v", err)
	}
}
