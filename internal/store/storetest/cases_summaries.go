package storetest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const (
	secNs  = int64(time.Second)
	allLo  = math.MinInt64
	allHi  = math.MaxInt64
	byS    = store.ByStart
	byE    = store.ByEnd
	noPage = 0
)

// testSummariesByID writes, replaces and reads summaries by ID.
func testSummariesByID(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	sm := newSumModel()
	T := int64(sec(now()))
	a, b, c := idAt(T-5, 1), idAt(T-5, 2), idAt(T, 3)
	batch := &store.Batch{}
	sm.revise(batch, a, T-5, T*secNs, T, termA)
	sm.revise(batch, b, T-5, T*secNs, T+1)
	put := func(b *store.Batch) { t.Helper(); sumWrite(t, s, sm, m, b) }
	put(batch)
	checkSummaries(t, s, sm, a, b, c)
	checkSummaries(t, s, sm, b, a)
	checkSummaries(t, s, sm, c, idAt(T-5, 9), xrayid.TraceID{}, traceID(0xffffffff, 1))
	checkSummaries(t, s, sm)

	// A later revision replaces the summary; c gets its first, together
	// with its first record.
	batch = &store.Batch{}
	sm.revise(batch, a, T-5, T*secNs+1, T+2, termB)
	sm.revise(batch, c, T, T*secNs+1, T+2)
	put(batch)
	checkSummaries(t, s, sm, c, b, a)
	checkAllScans(t, s, sm, termA, termB)

	// The store keeps no reference to the batch's bytes.
	batch = &store.Batch{}
	sm.revise(batch, b, T-5, T*secNs+2, T+3)
	put(batch)
	for i := range batch.Summaries[0].Summary {
		batch.Summaries[0].Summary[i] = 'X'
	}
	checkSummaries(t, s, sm, a, b, c)
	m.check(t, s) // records are unaffected by summaries
}

// testSummaryScanEdges pins down the window and resume semantics.
func testSummaryScanEdges(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	// a, b, c, d start at T-30, T-20, T-20, T-10 (b < c in the second);
	// they end at T+50, T-15, T-15, T-5.
	a, b, c, d := idAt(T-30, 1), idAt(T-20, 2), idAt(T-20, 3), idAt(T-10, 4)
	batch := &store.Batch{}
	sm.revise(batch, a, T-30, T*secNs, T+50, termA)
	sm.revise(batch, b, T-20, T*secNs, T-15, termA, termB)
	sm.revise(batch, c, T-20, T*secNs, T-15, termB)
	sm.revise(batch, d, T-10, T*secNs, T-5, termA)
	sumWrite(t, s, sm, nil, batch)

	f := func(order store.Order, from, to int64, before *store.Position, terms []store.Term, want ...xrayid.TraceID) {
		t.Helper()
		q := store.SummaryScan{Order: order, From: from, To: to, Before: before, Terms: terms}
		rows := scan(t, s, q, noPage)
		ids := make([]xrayid.TraceID, len(rows))
		for i, r := range rows {
			ids[i] = r.TraceID
		}
		if len(ids) != len(want) || !equalIDs(ids, want) {
			t.Fatalf("ScanSummaries(%s): %v, want %v", describeScan(q), ids, want)
		}
		checkRows(t, "ScanSummaries("+describeScan(q)+")", rows, sm.expect(q))
	}
	at := func(sec int64, id xrayid.TraceID) *store.Position { return &store.Position{Sec: sec, TraceID: id} }
	ts := func(terms ...store.Term) []store.Term { return terms }

	f(byS, T-30, T-9, nil, nil, d, c, b, a)
	f(byS, T-30, T-10, nil, nil, c, b, a) // To is exclusive
	f(byS, T-20, T-10, nil, nil, c, b)    // From is inclusive
	f(byS, T-19, T-10, nil, nil)
	f(byS, T-10, T-30, nil, nil) // From after To
	f(byS, T-10, T-10, nil, nil)
	f(byS, 0, 1<<40, nil, nil, d, c, b, a) // past the 32-bit range
	f(byS, allLo, allHi, nil, nil, d, c, b, a)
	f(byS, T-30, T, at(T-20, c), nil, b, a) // strictly before
	f(byS, T-30, T, at(T-20, b), nil, a)
	f(byS, T-30, T, at(T-10, d), nil, c, b, a)
	f(byS, T-30, T, at(T-20, idAt(T-20, 9)), nil, c, b, a) // a position nobody holds
	f(byS, T-30, T, at(T-20, idAt(T-20, 0)), nil, a)
	f(byS, T-30, T, at(T+100, a), nil, d, c, b, a) // Before past To
	f(byS, T-30, T, at(T-30, a), nil)
	f(byS, T-30, T, at(-5, a), nil)
	f(byS, T-25, T, at(T-20, c), nil, b) // Before and From together

	f(byE, allLo, allHi, nil, nil, a, d, c, b)
	f(byE, T-15, T-5, nil, nil, c, b)
	f(byE, T-15, T-4, nil, nil, d, c, b)
	f(byE, T-14, T+50, nil, nil, d)
	f(byE, T-14, T+51, nil, nil, a, d)
	f(byE, allLo, allHi, at(T-15, c), nil, b)
	f(byE, allLo, allHi, at(T, idAt(0, 0)), nil, d, c, b)

	f(byS, allLo, allHi, nil, ts(termA), d, b, a)
	f(byS, allLo, allHi, nil, ts(termB), c, b)
	f(byS, allLo, allHi, nil, ts(termA, termB), d, c, b, a) // b once
	f(byS, allLo, allHi, nil, ts(termB, termA, termB), d, c, b, a)
	f(byS, allLo, allHi, nil, ts(termX))
	f(byS, allLo, allHi, nil, ts(termX, termB), c, b)
	f(byS, T-20, T-10, nil, ts(termA, termB), c, b)
	f(byS, T-30, T, at(T-20, c), ts(termA, termB), b, a)
	f(byS, T-30, T, at(T-20, b), ts(termB))
	f(byS, T-10, T-30, nil, ts(termA))
}

func equalIDs(a, b []xrayid.TraceID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testSummaryScanMany checks scans and paging over many traces that share
// seconds, with several revisions each.
func testSummaryScanMany(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	rnd := rand.New(rand.NewPCG(7, 8))
	T := int64(sec(now()))
	terms := []store.Term{termA, termB, termC, termD}
	ids := make([]xrayid.TraceID, 400)
	starts := map[xrayid.TraceID]int64{}
	for i := range ids {
		start := T - 7200 + int64(rnd.IntN(60))*120 // 60 distinct seconds over two hours
		ids[i] = traceID(uint32(start), uint64(i+1))
		starts[ids[i]] = start
	}
	for range 4 {
		b := &store.Batch{}
		seen := map[xrayid.TraceID]bool{}
		for range 250 {
			id := ids[rnd.IntN(len(ids))]
			if seen[id] {
				continue
			}
			seen[id] = true
			start := starts[id]
			end := start + int64(rnd.IntN(30))
			if tr := sm.traces[id]; tr != nil {
				end = max(end, tr.end)
			}
			var ts []store.Term
			for _, term := range terms {
				if rnd.IntN(4) == 0 {
					ts = append(ts, term)
				}
			}
			sm.revise(b, id, start, T*secNs, end, ts...)
		}
		sumWrite(t, s, sm, nil, b)
	}
	checkAllScans(t, s, sm, terms...)

	windows := [][2]int64{{T - 7200, T}, {T - 3600, T - 1800}, {T - 7200 + 120, T - 7200 + 121}, {T - 100, T}}
	for _, w := range windows {
		for _, order := range []store.Order{byS, byE} {
			checkScan(t, s, sm, store.SummaryScan{Order: order, From: w[0], To: w[1]})
		}
		checkScan(t, s, sm, store.SummaryScan{From: w[0], To: w[1], Terms: []store.Term{termA, termC}})
	}
	for _, size := range []int{1, 7, 100} {
		checkPaged(t, s, sm, store.SummaryScan{Order: byS, From: allLo, To: allHi}, size)
		checkPaged(t, s, sm, store.SummaryScan{Order: byE, From: allLo, To: allHi}, size)
		checkPaged(t, s, sm, store.SummaryScan{Order: byS, From: T - 3600, To: T, Terms: []store.Term{termB, termD}}, size)
	}
}

// testSummaryByEndReplace moves traces along the ByEnd order: each appears
// once, at its latest End.
func testSummaryByEndReplace(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	a, b := idAt(T-60, 1), idAt(T-60, 2)
	f := func(endA, endB int64) {
		t.Helper()
		batch := &store.Batch{}
		sm.revise(batch, a, T-60, T*secNs, endA)
		sm.revise(batch, b, T-60, T*secNs, endB)
		sumWrite(t, s, sm, nil, batch)
		checkScan(t, s, sm, store.SummaryScan{Order: byE, From: allLo, To: allHi})
		checkPaged(t, s, sm, store.SummaryScan{Order: byE, From: allLo, To: allHi}, 1)
		checkScan(t, s, sm, store.SummaryScan{Order: byE, From: T - 60, To: T})
	}
	f(T-50, T-50)
	f(T-40, T-50) // a moves, b stays
	f(T-40, T-40) // b catches up: same second, ordered by ID
	f(T-10, T-45) // End may go back (a clock step): the entry still moves
	f(T+5, T+6)

	// Several revisions of one trace in one batch.
	batch := &store.Batch{Summaries: []store.SummaryRecord{
		{TraceID: a, End: T + 20, PrevEnd: sm.traces[a].end, Summary: summaryBytes(a, T-60, 100)},
		{TraceID: a, End: T + 30, PrevEnd: T + 20, Summary: summaryBytes(a, T-60, 101)},
		{TraceID: a, End: T + 30, PrevEnd: T + 30, Summary: summaryBytes(a, T-60, 102)},
	}}
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm)
}

// testSummaryTerms checks that terms accumulate across revisions and that a
// union yields each trace once.
func testSummaryTerms(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	ids := []xrayid.TraceID{idAt(T-3, 1), idAt(T-3, 2), idAt(T-2, 3), idAt(T-1, 4)}
	batch := &store.Batch{}
	sm.revise(batch, ids[0], T-3, T*secNs, T, termA, termB, termC)
	sm.revise(batch, ids[1], T-3, T*secNs, T, termA)
	sm.revise(batch, ids[2], T-2, T*secNs, T)
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC, termD)

	// Later revisions add terms; earlier ones stay.
	batch = &store.Batch{}
	sm.revise(batch, ids[1], T-3, T*secNs, T+1, termD)
	sm.revise(batch, ids[2], T-2, T*secNs, T+1, termB, termD)
	sm.revise(batch, ids[3], T-1, T*secNs, T+1, termC)
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC, termD)
	if !sm.traces[ids[1]].terms[termA] {
		t.Fatal("model lost a term")
	}

	// A term written again (a retried batch) is still one entry.
	batch = &store.Batch{Summaries: []store.SummaryRecord{{
		TraceID: ids[0], End: T + 2, PrevEnd: T, Summary: summaryBytes(ids[0], T-3, 2), Terms: []store.Term{termA, termA, termB},
	}}}
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC, termD)

	// So is a term listed twice in the first record of a trace.
	fresh := idAt(T-1, 5)
	batch = &store.Batch{Summaries: []store.SummaryRecord{{
		TraceID: fresh, End: T, Summary: summaryBytes(fresh, T-1, 1), Terms: []store.Term{termC, termD, termD}, // termD is new at T-1
	}}}
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC, termD)

	// By end time, terms are refused.
	var errs []error
	for row, err := range s.ScanSummaries(context.Background(), store.SummaryScan{Order: byE, From: allLo, To: allHi, Terms: []store.Term{termA}}) {
		if err == nil {
			t.Fatalf("ScanSummaries ByEnd with terms yielded %s", describeRow(row))
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 {
		t.Fatalf("ScanSummaries ByEnd with terms: %d errors, want 1", len(errs))
	}
}

// testCountTerm checks counts, windows and limits.
func testCountTerm(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	batch := &store.Batch{}
	for i := range 50 {
		start := T - 4000 + int64(i)*80 // across hours
		terms := []store.Term{termA}
		if i%5 == 0 {
			terms = append(terms, termB)
		}
		sm.revise(batch, idAt(start, byte(i)), start, T*secNs, start+1, terms...)
	}
	sumWrite(t, s, sm, nil, batch)
	// Revisions add no count.
	batch = &store.Batch{}
	for i := range 10 {
		start := T - 4000 + int64(i)*80
		sm.revise(batch, idAt(start, byte(i)), start, T*secNs, start+2, termA, termB)
	}
	sumWrite(t, s, sm, nil, batch)

	f := func(term store.Term, from, to int64, limit, want int) {
		t.Helper()
		checkCount(t, s, sm, term, from, to, limit)
		if got := sm.count(term, from, to, limit); got != want {
			t.Fatalf("model count %d, test says %d", got, want)
		}
	}
	f(termA, allLo, allHi, 1000, 50)
	f(termA, allLo, allHi, 50, 50)
	f(termA, allLo, allHi, 49, 49)
	f(termA, allLo, allHi, 1, 1)
	f(termA, allLo, allHi, 0, 0)
	f(termB, allLo, allHi, 1000, 18) // every fifth (10), and 8 more among the first ten
	f(termA, T-4000, T-4000+80, 1000, 1)
	f(termA, T-4000, T-4000+81, 1000, 2)
	f(termA, T-4000+1, T-4000+81, 1000, 1)
	f(termA, T-4000+80*10, T-4000+80*20, 1000, 10)
	f(termA, T-4000+80*10, T-4000+80*20, 3, 3)
	f(termA, T, T-4000, 1000, 0)
	f(termC, allLo, allHi, 1000, 0)
}

// testSummaryImplausible checks traces placed by first arrival: found by ID,
// and in ByStart scans at the second of their first arrival.
func testSummaryImplausible(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	sm := newSumModel()
	base := now()
	ids := implausible(base, 1)
	first := base.Add(-3 * time.Minute)
	start := int64(sec(first))
	batch := &store.Batch{}
	for i, id := range ids {
		// The trace's first records and first summary in one batch; the
		// batch's other record of it arrives later.
		sm.revise(batch, id, start, first.UnixNano()+int64(i), start+10, termA)
		batch.Records = append(batch.Records, record(id, 1000+xrayid.SegmentID(i), first.UnixNano()+int64(time.Minute), ""))
	}
	plain := idAt(start, 7)
	sm.revise(batch, plain, start, first.UnixNano(), start+10, termA)
	sumWrite(t, s, sm, m, batch)
	checkAllScans(t, s, sm, termA)
	checkScan(t, s, sm, store.SummaryScan{From: start, To: start + 1})
	checkScan(t, s, sm, store.SummaryScan{From: start, To: start + 1, Terms: []store.Term{termA}})
	for _, id := range ids {
		checkScan(t, s, sm, store.SummaryScan{From: int64(id.Epoch()), To: int64(id.Epoch()) + 1}) // nothing there
	}

	if h.reopen != nil {
		s = h.reopen(t, s) // later revisions must find the placement on disk
	}
	// Later revisions, with records arriving later still, stay where the
	// trace was placed; one comes without a record.
	batch = &store.Batch{}
	for i, id := range ids {
		if i == 0 {
			sm.reviseOnly(batch, id, start, start+30, termB)
			continue
		}
		sm.revise(batch, id, start, base.UnixNano(), start+30, termB)
	}
	sumWrite(t, s, sm, m, batch)
	checkAllScans(t, s, sm, termA, termB)
	checkPaged(t, s, sm, store.SummaryScan{From: allLo, To: allHi}, 2)
	checkPaged(t, s, sm, store.SummaryScan{From: allLo, To: allHi, Terms: []store.Term{termA, termB}}, 2)
	m.check(t, s)
}

// testSummaryDropBefore checks that retention takes summaries, terms and
// ByEnd entries with their traces.
func testSummaryDropBefore(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	base := now()
	B := int64(sec(base))
	at := func(ago time.Duration) int64 { return int64(sec(base.Add(-ago))) }
	old, oldLate := idAt(at(10*day), 1), idAt(at(10*day), 2)
	mid, recent, fresh := idAt(at(5*day), 3), idAt(at(time.Hour), 4), idAt(B, 5)
	odd := implausible(base, 10)[0] // placed by arrival, 10 days ago
	batch := &store.Batch{}
	sm.revise(batch, old, at(10*day), at(10*day)*secNs, at(10*day)+5, termA, termB)
	sm.revise(batch, oldLate, at(10*day), at(10*day)*secNs, at(10*day)+5, termA)
	sm.revise(batch, mid, at(5*day), at(5*day)*secNs, at(5*day)+5, termA)
	sm.revise(batch, recent, at(time.Hour), at(time.Hour)*secNs, at(time.Hour)+5, termA, termB)
	sm.revise(batch, fresh, B, B*secNs, B, termB)
	sm.revise(batch, odd, at(10*day), at(10*day)*secNs, at(10*day)+5, termA)
	sumWrite(t, s, sm, nil, batch)
	// oldLate's last activity is now: it still goes with its start.
	batch = &store.Batch{}
	sm.revise(batch, oldLate, at(10*day), B*secNs, B, termC)
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC)

	dropBefore(t, s, base.Add(-30*day))
	checkAllScans(t, s, sm, termA, termB, termC)

	dropBefore(t, s, base.Add(-7*day))
	sm.drop(old, oldLate, odd)
	checkAllScans(t, s, sm, termA, termB, termC)
	checkSummaries(t, s, sm, old, oldLate, odd)
	checkPaged(t, s, sm, store.SummaryScan{Order: byE, From: allLo, To: allHi}, 1)

	dropBefore(t, s, base.Add(-3*day))
	sm.drop(mid)
	checkAllScans(t, s, sm, termA, termB, termC)

	// The store keeps working.
	batch = &store.Batch{}
	sm.revise(batch, recent, at(time.Hour), B*secNs, B+1, termC)
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC)
	if h.reopen != nil {
		s = h.reopen(t, s)
		checkAllScans(t, s, sm, termA, termB, termC)
	}
	dropBefore(t, s, base.Add(2*day))
	sm.drop(recent, fresh)
	checkAllScans(t, s, sm, termA, termB, termC)
}

// testSummaryReopen checks that summaries, ByEnd entries and terms survive
// a reopen, and that revisions after it replace the earlier ones.
func testSummaryReopen(t *testing.T, h *harness) {
	if h.reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	batch := &store.Batch{}
	for i := range 20 {
		sm.revise(batch, idAt(T-int64(i%4), byte(i)), T-int64(i%4), T*secNs, T+int64(i), termA)
	}
	sumWrite(t, s, sm, nil, batch)
	s = h.reopen(t, s)
	checkAllScans(t, s, sm, termA, termB)
	batch = &store.Batch{}
	for i := range 10 {
		sm.revise(batch, idAt(T-int64(i%4), byte(i)), T-int64(i%4), T*secNs, T+100+int64(i), termB)
	}
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB)
	s = h.reopen(t, s)
	checkAllScans(t, s, sm, termA, termB)
	checkPaged(t, s, sm, store.SummaryScan{Order: byE, From: allLo, To: allHi}, 3)
}

// testSummaryRetry writes a batch twice, as a retry after an error does,
// and a batch of summaries only.
func testSummaryRetry(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	a, b := idAt(T-1, 1), idAt(T-1, 2)
	batch := &store.Batch{}
	sm.revise(batch, a, T-1, T*secNs, T, termA)
	sm.revise(batch, b, T-1, T*secNs, T, termA)
	sumWrite(t, s, sm, nil, batch)
	batch = &store.Batch{}
	sm.revise(batch, a, T-1, T*secNs, T+5, termB)
	sumWrite(t, s, sm, nil, batch)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	checkAllScans(t, s, sm, termA, termB)

	batch = &store.Batch{}
	sm.reviseOnly(batch, b, T-1, T+7, termC)
	sm.reviseOnly(batch, idAt(T-1, 3), T-1, T+7, termC) // a summary before any record
	sumWrite(t, s, sm, nil, batch)
	checkAllScans(t, s, sm, termA, termB, termC)
}

// testSummaryClosed checks ErrClosed from every SummaryReader method.
func testSummaryClosed(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	id := idAt(T, 1)
	batch := &store.Batch{}
	sm.revise(batch, id, T, T*secNs, T, termA)
	sumWrite(t, s, sm, nil, batch)
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
	f("Write with summaries", s.Write(ctx, batch))
	_, err := s.CountTerm(ctx, termA, allLo, allHi, 10)
	f("CountTerm", err)
	g := func(op string, rows func(func(store.SummaryRow, error) bool)) {
		t.Helper()
		n := 0
		for _, err := range rows {
			n++
			f(op, err)
		}
		if n != 1 {
			t.Fatalf("%s after Close yielded %d times, want one error", op, n)
		}
	}
	g("Summaries", s.Summaries(ctx, []xrayid.TraceID{id}))
	g("ScanSummaries ByStart", s.ScanSummaries(ctx, store.SummaryScan{From: allLo, To: allHi}))
	g("ScanSummaries ByEnd", s.ScanSummaries(ctx, store.SummaryScan{Order: byE, From: allLo, To: allHi}))
	g("ScanSummaries terms", s.ScanSummaries(ctx, store.SummaryScan{From: allLo, To: allHi, Terms: []store.Term{termA}}))
}

// summaryScans are one scan of each kind over everything.
var summaryScans = []store.SummaryScan{
	{Order: byS, From: allLo, To: allHi},
	{Order: byE, From: allLo, To: allHi},
	{Order: byS, From: allLo, To: allHi, Terms: []store.Term{termA, termB}},
}

// fiveSummaries writes five traces with summaries under termA and termB.
func fiveSummaries(t *testing.T, s store.Store) (*sumModel, []xrayid.TraceID) {
	sm := newSumModel()
	T := int64(sec(now()))
	batch := &store.Batch{}
	var ids []xrayid.TraceID
	for i := range 5 {
		id := idAt(T-int64(i), byte(i+1))
		ids = append(ids, id)
		sm.revise(batch, id, T-int64(i), T*secNs, T, termA, termB)
	}
	sumWrite(t, s, sm, nil, batch)
	return sm, ids
}

// testSummaryContext checks cancellation before and during each read.
func testSummaryContext(t *testing.T, h *harness) {
	s := h.open(t)
	sm, ids := fiveSummaries(t, s)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v, want context.Canceled", op, err)
		}
	}
	_, err := s.CountTerm(cancelled, termA, allLo, allHi, 10)
	f("CountTerm", err)
	for row, err := range s.Summaries(cancelled, ids) {
		if row.Summary != nil {
			t.Fatal("Summaries with a cancelled context yielded a row")
		}
		f("Summaries", err)
	}
	// Cancelled mid-iteration: the next step reports it and iteration stops.
	mid := func(op string, rows func(ctx context.Context) func(func(store.SummaryRow, error) bool)) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var got []error
		for row, err := range rows(ctx) {
			got = append(got, err)
			if err == nil && row.Summary == nil {
				t.Fatalf("%s yielded a row without a summary", op)
			}
			if err == nil {
				cancel()
			}
		}
		if len(got) != 2 || got[0] != nil || !errors.Is(got[1], context.Canceled) {
			t.Fatalf("%s, cancelled after the first row: yields %v, want [nil, context.Canceled]", op, got)
		}
	}
	mid("Summaries", func(ctx context.Context) func(func(store.SummaryRow, error) bool) { return s.Summaries(ctx, ids) })
	for _, q := range summaryScans {
		f("ScanSummaries", func() error {
			for _, err := range s.ScanSummaries(cancelled, q) {
				return err
			}
			return nil
		}())
		mid("ScanSummaries("+describeScan(q)+")", func(ctx context.Context) func(func(store.SummaryRow, error) bool) {
			return s.ScanSummaries(ctx, q)
		})
	}
	checkAllScans(t, s, sm, termA, termB)
}

// testSummaryEarlyBreak stops scans early and uses the store from inside
// them; the store must release what the iterations held.
func testSummaryEarlyBreak(t *testing.T, h *harness) {
	s := h.open(t)
	sm, ids := fiveSummaries(t, s)
	ctx := context.Background()
	for range 3 {
		for _, q := range summaryScans {
			for _, err := range s.ScanSummaries(ctx, q) {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		for _, err := range s.Summaries(ctx, ids) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// The loop body may read and write the store.
	for _, q := range summaryScans {
		n := 0
		for row, err := range s.ScanSummaries(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			checkSummaries(t, s, sm, row.TraceID)
			if tr := readOne(t, s, row.TraceID); tr == nil {
				t.Fatalf("trace %s has a summary but no records", row.TraceID)
			}
			if _, err := s.CountTerm(ctx, termA, allLo, allHi, 100); err != nil {
				t.Fatal(err)
			}
			if n == 2 {
				write(t, s, nil, &store.Batch{Records: []store.Record{record(row.TraceID, 999, now().UnixNano(), "")}})
			}
		}
		if n != len(ids) {
			t.Fatalf("ScanSummaries(%s) with reads inside: %d rows, want %d", describeScan(q), n, len(ids))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after abandoned iterations: %v", err)
	}
}

// testSummaryConcurrent pages through scans while summaries are written.
// Every scan must be in strictly descending order without duplicates, and
// what was written before a scan started must be in it.
func testSummaryConcurrent(t *testing.T, h *harness) {
	s := h.open(t)
	sm, _ := fiveSummaries(t, s)
	before := len(sm.traces)
	T := int64(sec(now()))
	const writers, batches, perBatch = 2, 20, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				b := &store.Batch{}
				for j := range perBatch {
					id := traceID(uint32(T-int64(j%10)), uint64(1000*(w+1)+j))
					r := store.SummaryRecord{TraceID: id, End: T + int64(i), Summary: []byte{byte(i)}, Terms: []store.Term{termA}}
					if i > 0 {
						r.PrevEnd = T + int64(i-1)
					}
					b.Records = append(b.Records, record(id, xrayid.SegmentID(i*100+j+1), T*secNs, ""))
					b.Summaries = append(b.Summaries, r)
				}
				if err := s.Write(context.Background(), b); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for i := 0; i < 30; i++ {
				q := summaryScans[i%len(summaryScans)]
				var last *store.Position
				n := 0
				for row, err := range s.ScanSummaries(context.Background(), q) {
					if err != nil {
						errs <- err
						return
					}
					if last != nil && !row.Pos.Less(*last) {
						errs <- errors.New(describeScan(q) + ": rows out of order: " + describeRow(row))
						return
					}
					last = &row.Pos
					n++
				}
				if n < before {
					errs <- errors.New(describeScan(q) + ": lost rows written before the scan")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rows := scan(t, s, store.SummaryScan{Order: byE, From: allLo, To: allHi}, noPage)
	if want := before + writers*perBatch; len(rows) != want {
		t.Fatalf("%d traces by end time, want %d", len(rows), want)
	}
}
