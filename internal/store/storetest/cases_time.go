package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const day = 24 * time.Hour

func dropBefore(t *testing.T, s store.Store, cutoff time.Time) {
	t.Helper()
	if err := s.DropBefore(context.Background(), cutoff); err != nil {
		t.Fatalf("DropBefore(%s): %v", cutoff, err)
	}
}

// checkGone fails unless none of ids has records.
func checkGone(t *testing.T, s store.Store, ids ...xrayid.TraceID) {
	t.Helper()
	for _, id := range ids {
		if tr := readOne(t, s, id); tr != nil {
			t.Fatalf("trace %s survived with %d records", id, len(tr.Records))
		}
	}
}

func checkRecordCount(t *testing.T, s store.Store, m *model) {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Records != -1 && st.Records != int64(m.count()) {
		t.Fatalf("Stats.Records = %d, want %d (or -1)", st.Records, m.count())
	}
}

func testDropBefore(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	at := func(ago time.Duration, n uint64) (xrayid.TraceID, int64) {
		start := base.Add(-ago)
		return traceID(sec(start), n), start.UnixNano() + int64(time.Second)
	}
	old, oldR := at(10*day, 1)
	mid, midR := at(5*day, 2)
	recent, recentR := at(time.Hour, 3)
	fresh, freshR := at(0, 4)
	write(t, s, m, &store.Batch{Records: []store.Record{
		record(old, 1, oldR, ""), record(mid, 2, midR, ""), record(recent, 3, recentR, ""), record(fresh, 4, freshR, ""),
	}})
	// Late segments, arriving now: a trace is dropped by when it started.
	write(t, s, m, &store.Batch{Records: []store.Record{
		record(old, 5, base.UnixNano(), ""), record(mid, 6, base.UnixNano(), ""), record(recent, 7, base.UnixNano(), ""),
	}})

	dropBefore(t, s, base.Add(-30*day))
	m.check(t, s)

	dropBefore(t, s, base.Add(-7*day))
	checkGone(t, s, old)
	m.drop(old)
	m.check(t, s)
	checkRecordCount(t, s, m)

	dropBefore(t, s, base.Add(-3*day))
	checkGone(t, s, old, mid)
	m.drop(mid)
	m.check(t, s)
	checkRecordCount(t, s, m)

	// Dropping again, or further back, changes nothing.
	dropBefore(t, s, base.Add(-3*day))
	dropBefore(t, s, base.Add(-20*day))
	m.check(t, s)

	// The store keeps working, old traces stay gone when written again...
	write(t, s, m, &store.Batch{Records: []store.Record{record(recent, 8, base.UnixNano()+1, ""), record(fresh, 9, base.UnixNano(), "")}})
	m.check(t, s)
	checkRecordCount(t, s, m)
	if h.reopen != nil {
		s = h.reopen(t, s)
		checkGone(t, s, old, mid)
		m.check(t, s)
		checkRecordCount(t, s, m)
	}

	// ...and a cutoff in the future drops everything.
	dropBefore(t, s, base.Add(2*day))
	checkGone(t, s, recent, fresh)
	checkRecordCount(t, s, newModel())
}

// implausible returns IDs whose epochs say nothing about when the trace
// started, as OTel IDs converted to X-Ray form have.
func implausible(base time.Time, n uint64) []xrayid.TraceID {
	return []xrayid.TraceID{
		traceID(0, n),
		traceID(0xffffffff, n+1),
		traceID(sec(base.AddDate(-20, 0, 0))+12345, n+2),
		traceID(sec(base.AddDate(0, 0, 3)), n+3), // days ahead: clock skew
	}
}

// testImplausibleEpochs writes traces with implausible epochs over several
// batches (and a reopen) and reads them back whole.
func testImplausibleEpochs(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	ids := implausible(base, 1)
	r := base.UnixNano()
	batch := func(seg xrayid.SegmentID) *store.Batch {
		b := &store.Batch{}
		for i, id := range ids {
			b.Records = append(b.Records, record(id, seg+xrayid.SegmentID(i), r, ""))
			b.Records = append(b.Records, record(traceID(sec(base), uint64(seg)+uint64(i)), seg, r, ""))
			r++
		}
		return b
	}
	write(t, s, m, batch(100))
	write(t, s, m, batch(200))
	m.check(t, s)
	if h.reopen != nil {
		s = h.reopen(t, s)
		m.check(t, s)
		write(t, s, m, batch(300))
		m.check(t, s)
	}
	// Placed by arrival (now), they survive a cutoff in the past.
	dropBefore(t, s, base.Add(-day))
	m.check(t, s)
	checkRecordCount(t, s, m)
}

// testImplausibleDropByArrival checks that traces with implausible epochs are
// dropped by their first arrival, late segments included.
func testImplausibleDropByArrival(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	early := implausible(base, 10) // first arrive 10 days ago
	later := implausible(base, 20) // first arrive now
	longAgo := base.Add(-10 * day).UnixNano()
	b := &store.Batch{}
	for i, id := range early {
		b.Records = append(b.Records, record(id, xrayid.SegmentID(i+1), longAgo+int64(i), ""))
	}
	write(t, s, m, b)
	if h.reopen != nil {
		s = h.reopen(t, s) // later segments must find the placement on disk
	}
	b = &store.Batch{}
	for i, id := range early {
		b.Records = append(b.Records, record(id, xrayid.SegmentID(i+10), base.UnixNano(), "")) // late segments
	}
	for i, id := range later {
		b.Records = append(b.Records, record(id, xrayid.SegmentID(i+20), base.UnixNano(), ""))
	}
	write(t, s, m, b)
	m.check(t, s)

	dropBefore(t, s, base.Add(-5*day))
	checkGone(t, s, early...)
	for _, id := range early {
		m.drop(id)
	}
	m.check(t, s)
	checkRecordCount(t, s, m)

	// A trace ID seen again after its placement was dropped starts afresh.
	b = &store.Batch{Records: []store.Record{record(early[0], 99, base.UnixNano(), "")}}
	write(t, s, m, b)
	m.check(t, s)
	if h.reopen != nil {
		s = h.reopen(t, s)
		m.check(t, s)
		checkRecordCount(t, s, m)
	}
}
