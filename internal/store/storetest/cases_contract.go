package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The cases of this file check the rules store.go settles: what a failed
// Write leaves behind, what is a hint, duplicate IDs, terms on ByEnd.

// halfFailed is the scenario of testHalfFailedBatch: a first batch, then a
// second one whose Write fails partway, in every concern (records of an old
// and a new trace, summary revisions with new terms, graph deltas that take
// back and add counts as a summary revision does, in two groups, and log
// lines).
type halfFailed struct {
	m      *model
	sm     *sumModel
	gm     *graphModel
	lm     *logModel
	a, b   xrayid.TraceID
	minute int64
	// T is the second the traces start around (fixed: their IDs embed it).
	T      int64
	b1, b2 *store.Batch
}

func newHalfFailed() *halfFailed {
	at := now()
	T := int64(sec(at))
	x := &halfFailed{m: newModel(), sm: newSumModel(), gm: newGraphModel(), lm: &logModel{},
		a: idAt(T-2, 1), b: idAt(T-1, 2), minute: T / 60, T: T}
	x.b1 = &store.Batch{ID: 1001}
	x.sm.revise(x.b1, x.a, T-2, T*secNs, T, termA)
	x.sm.revise(x.b1, x.a, T-2, T*secNs+1, T, termA) // one more record of a
	x.b1.Summaries = x.b1.Summaries[:1]
	x.b1.Graph = []store.GraphDelta{
		{Minute: x.minute, Key: "node/a", Values: cs(0, 1, 3, 250)},
		{Minute: x.minute, Key: "edge/a-b", Values: cs(0, 1)},
		{Minute: x.minute, Group: "g", Key: "node/a", Values: cs(0, 1, 3, 250)},
	}
	x.b1.Logs = []logs.Record{
		line("fa", "req-1", x.a.String(), at, "start"),
		line("fa", "req-1", x.a.String(), at.Add(time.Millisecond), "end"),
	}
	return x
}

// second builds the batch that fails, after b1 is in the models.
func (x *halfFailed) second() {
	at := now()
	T := x.T
	x.b2 = &store.Batch{ID: 1002}
	x.sm.revise(x.b2, x.a, T-2, T*secNs+2, T+5, termA, termB)
	x.sm.revise(x.b2, x.b, T-1, T*secNs+3, T+1, termA)
	x.b2.Graph = []store.GraphDelta{
		// a's second revision takes back its response time and adds the
		// new one, and adds b.
		{Minute: x.minute, Key: "node/a", Values: cs(0, 1, 3, 150)},
		{Minute: x.minute, Key: "node/b", Values: cs(0, 1)},
		{Minute: x.minute, Group: "g", Key: "node/a", Values: cs(3, 150)},
		{Minute: x.minute + 1, Key: "edge/a-b", Values: cs(0, 2, 1, 1)},
	}
	x.b2.Logs = []logs.Record{line("fb", "req-2", x.b.String(), at.Add(2*time.Millisecond), "b")}
}

// written records b as stored in every model.
func (x *halfFailed) written(b *store.Batch) {
	x.m.add(b)
	x.sm.apply(b)
	x.gm.add(b.Graph)
	x.lm.add(b.Logs)
}

// check compares everything the store holds with the models, exactly.
func (x *halfFailed) check(t *testing.T, s store.Store) {
	t.Helper()
	x.m.check(t, s)
	checkSummaries(t, s, x.sm, x.a, x.b)
	checkAllScans(t, s, x.sm, termA, termB)
	for _, term := range []store.Term{termA, termB} {
		checkCount(t, s, x.sm, term, allLo, allHi, 100)
	}
	for _, g := range []string{"", "g"} {
		checkGraph(t, s, x.gm, g, minMinute, maxMinute)
	}
	checkAllLogs(t, s, x.lm)
}

// testHalfFailedBatch fails a Write partway (with the backend's fault hook)
// and then does what the ingest pipeline does (store.Writer): on an Atomic
// backend, reads what is there, which must be all of the batch or none of
// it, and writes the batch again only if none; on any other backend,
// writes the same batch (same ID) again until it succeeds. Either way
// records, summaries, terms, graph counters and log lines must end up
// exactly as if the batch had been written once.
func testHalfFailedBatch(t *testing.T, h *harness) {
	if h.faulty == nil {
		t.Skip("the backend's test gives no fault hook (storetest.WithFaults)")
	}
	s, arm, disarm := h.faulty(t)
	x := newHalfFailed()
	if err := s.Write(context.Background(), x.b1); err != nil {
		t.Fatalf("first Write: %v", err)
	}
	x.written(x.b1)
	x.second()

	arm()
	err := s.Write(context.Background(), x.b2)
	disarm()
	if err == nil {
		t.Fatal("the Write with the fault armed succeeded")
	}
	t.Logf("failed Write: %v", err)

	if store.IsAtomic(s) {
		stored := readOne(t, s, x.b) != nil
		if stored {
			x.written(x.b2)
		}
		// All or none: every concern must agree with the records of b.
		x.check(t, s)
		if stored {
			return
		}
	}
	var errs []error
	for attempt := 0; ; attempt++ {
		err := s.Write(context.Background(), x.b2)
		if err == nil {
			break
		}
		errs = append(errs, err)
		if attempt == 50 {
			t.Fatalf("the batch was not stored after %d retries: %v", attempt+1, errors.Join(errs...))
		}
		time.Sleep(100 * time.Millisecond) // a backend may take a moment to recover from the fault
	}
	x.written(x.b2)
	x.check(t, s)
	// Nothing of the retry lingers: the next batch is counted once too.
	x.second()
	x.b2.ID = 1003
	if err := s.Write(context.Background(), x.b2); err != nil {
		t.Fatalf("Write after the retry: %v", err)
	}
	x.written(x.b2)
	x.check(t, s)
}

// testHints writes wrong hints: a PrevEnd that is not the stored End (0,
// and a second the trace never ended at), terms written before, a term
// twice in one record. Reads must be as if the hints were right.
func testHints(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	a, b := idAt(T-3, 1), idAt(T-3, 2)
	batch := &store.Batch{}
	sm.revise(batch, a, T-3, T*secNs, T, termA)
	sm.revise(batch, b, T-3, T*secNs, T+1, termA)
	sumWrite(t, s, sm, nil, batch)

	batch = &store.Batch{}
	sm.revise(batch, a, T-3, T*secNs+1, T+4, termB)
	sm.revise(batch, b, T-3, T*secNs+1, T+6, termB)
	batch.Summaries[0].PrevEnd = 0      // "no revision stored": wrong
	batch.Summaries[1].PrevEnd = T + 77 // never b's End
	batch.Summaries[0].Terms = []store.Term{termA, termB, termB}
	sumWrite(t, s, sm, nil, batch)
	checkSummaries(t, s, sm, a, b)
	checkAllScans(t, s, sm, termA, termB)
	for _, term := range []store.Term{termA, termB} {
		checkCount(t, s, sm, term, allLo, allHi, 100)
	}
}

// testDuplicateIDs asks for the same ID more than once: Traces and
// Summaries yield it once.
func testDuplicateIDs(t *testing.T, h *harness) {
	s := h.open(t)
	sm := newSumModel()
	T := int64(sec(now()))
	a, b := idAt(T-3, 1), idAt(T-3, 2)
	batch := &store.Batch{}
	sm.revise(batch, a, T-3, T*secNs, T)
	sm.revise(batch, b, T-3, T*secNs, T)
	sumWrite(t, s, sm, nil, batch)
	ids := []xrayid.TraceID{a, b, a, a, b}
	for range 4 { // past a backend's switch from searching to a set
		ids = append(ids, ids...)
	}
	var got []xrayid.TraceID
	for tr, err := range s.Traces(context.Background(), ids) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tr.ID)
	}
	if !slices.Equal(got, []xrayid.TraceID{a, b}) {
		t.Fatalf("Traces of duplicated IDs yielded %v, want [%s %s]", got, a, b)
	}
	got = got[:0]
	for row, err := range s.Summaries(context.Background(), ids) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row.TraceID)
	}
	if !slices.Equal(got, []xrayid.TraceID{a, b}) {
		t.Fatalf("Summaries of duplicated IDs yielded %v, want [%s %s]", got, a, b)
	}
}

// testByEndTerms: a ByEnd scan restricted by terms is refused with an
// error wrapping errors.ErrUnsupported.
func testByEndTerms(t *testing.T, h *harness) {
	s := h.open(t)
	n := 0
	for _, err := range s.ScanSummaries(context.Background(), store.SummaryScan{Order: byE, From: allLo, To: allHi, Terms: []store.Term{termA}}) {
		n++
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("ByEnd scan with terms: %v, want an error wrapping errors.ErrUnsupported", err)
		}
	}
	if n != 1 {
		t.Fatalf("ByEnd scan with terms yielded %d rows, want one error", n)
	}
}

// testEstimateTerms checks a TermEstimator's bounds: at least the distinct
// traces under the terms, at most the sum of CountTerm, capped at limit.
func testEstimateTerms(t *testing.T, h *harness) {
	s := h.open(t)
	e, ok := s.(store.TermEstimator)
	if !ok {
		t.Skip("the backend does not estimate terms (optional)")
	}
	sm := newSumModel()
	T := int64(sec(now()))
	batch := &store.Batch{}
	for i := range 12 {
		var terms []store.Term
		switch i % 3 {
		case 0:
			terms = []store.Term{termA}
		case 1:
			terms = []store.Term{termA, termB}
		case 2:
			terms = []store.Term{termC}
		}
		sm.revise(batch, idAt(T-int64(i), byte(i+1)), T-int64(i), T*secNs, T, terms...)
	}
	sumWrite(t, s, sm, nil, batch)
	ctx := context.Background()
	for _, c := range []struct {
		terms    []store.Term
		from, to int64
		limit    int
	}{
		{[]store.Term{termA, termB}, allLo, allHi, 100},
		{[]store.Term{termA, termB, termC}, allLo, allHi, 100},
		{[]store.Term{termA, termB, termC}, allLo, allHi, 5},
		{[]store.Term{termA, termC}, T - 5, T + 1, 100},
		{[]store.Term{termX}, allLo, allHi, 100},
		{nil, allLo, allHi, 100},
	} {
		got, err := e.EstimateTerms(ctx, c.terms, c.from, c.to, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		distinct := map[xrayid.TraceID]bool{}
		sum := 0
		for id, tr := range sm.traces {
			for _, term := range c.terms {
				if tr.terms[term] && tr.start >= c.from && tr.start < c.to {
					distinct[id] = true
					sum++
				}
			}
		}
		lo, hi := min(len(distinct), c.limit), min(sum, c.limit)
		if got < lo || got > hi {
			t.Errorf("EstimateTerms(%x, [%d, %d), limit %d) = %d, want in [%d, %d]", c.terms, c.from, c.to, c.limit, got, lo, hi)
		}
	}
}

// testWhere scans with Where conditions, which every backend may ignore
// and none may use to leave out a row that meets them. Fields are written
// with the summaries; backends without PushDown ignore them.
func testWhere(t *testing.T, h *harness) {
	s := h.open(t)
	// A backend leaves out the index terms only of fields it pushes down
	// (store.IndexPolicy): the planner scans with those conditions instead.
	if u, ok := s.(store.IndexPolicy); ok {
		p, _ := s.(store.PushDown)
		for f := store.FieldFault; f <= store.FieldInferred; f++ {
			if u.Unindexed(f) && (p == nil || !p.PushesDown(f)) {
				t.Errorf("field %d: unindexed but not pushed down", f)
			}
		}
	}
	sm := newSumModel()
	T := int64(sec(now()))
	batch := &store.Batch{}
	fields := make(map[xrayid.TraceID]store.SummaryFields)
	for i := range 20 {
		id := idAt(T-int64(i%5), byte(i+1))
		sm.revise(batch, id, T-int64(i%5), T*secNs, T+int64(i%3), termA)
		f := store.SummaryFields{
			Duration: float64(i) / 4, Fault: i%2 == 0, Error: i%3 == 0, HTTPStatus: 200 + 100*(i%4),
			Services: []string{"web", []string{"db", "queue"}[i%2]}, AnnotationKeys: []string{"k" + string(rune('a'+i%3))},
			HTTPMethod: []string{"GET", "POST", ""}[i%3], HTTPURL: []string{"https://shop/cart?id=1", "https://shop/api/v2/items", "http://h/%27it's\\ok"}[i%3],
			// Edges: web → db with an error on some, none on others; a
			// writer that predates edges on a few.
			HasEdges: i%5 != 4,
			// Services with every name (an alias, mq, for queue) on
			// most; primary names only on a few (a writer before
			// ServiceNames), with or without edges.
			ServiceNames: i%7 != 2,
			// Inferred, known with ServiceNames.
			Inferred: i%4 == 1, Partial: i%6 == 1,
		}
		if f.ServiceNames && i%2 == 1 {
			f.Services = append(f.Services, "mq")
		}
		if i%2 == 1 && i%5 != 4 {
			f.Edges = []store.EdgeField{{Key: store.EdgeKey("web", "db"), Flags: store.EdgeFlags(i % 4 / 2)}, {Key: store.EdgeKey("web", "it's")}}
		}
		batch.Summaries[len(batch.Summaries)-1].Fields = f
		fields[id] = f
	}
	sumWrite(t, s, sm, nil, batch)
	wheres := [][]store.FieldCond{
		{{Field: store.FieldFault, Op: store.Eq, Num: 1}},
		{{Field: store.FieldDuration, Op: store.Ge, Num: 2}, {Field: store.FieldError, Op: store.Eq, Num: 0}},
		{{Field: store.FieldService, Op: store.Has, Str: "queue"}, {Field: store.FieldHTTPStatus, Op: store.Le, Num: 300}},
		{{Field: store.FieldAnnotationKey, Op: store.Has, Str: "kb"}},
		{{Field: store.FieldService, Op: store.Has, Str: "nowhere"}},
		{{Field: store.FieldService, Op: store.Has, Str: "mq"}, {Field: store.FieldFault, Op: store.Eq, Num: 0}},
		{{Field: store.FieldInferred, Op: store.Eq, Num: 1}},
		{{Field: store.FieldInferred, Op: store.Eq, Num: 0}, {Field: store.FieldPartial, Op: store.Eq, Num: 0}},
		{{Field: store.FieldPartial, Op: store.Eq, Num: 1}},
		{{Field: store.FieldHTTPMethod, Op: store.Eq, Str: "POST"}},
		{{Field: store.FieldHTTPURL, Op: store.Prefix, Str: "https://shop/"}, {Field: store.FieldHTTPMethod, Op: store.Eq, Str: "GET"}},
		{{Field: store.FieldHTTPURL, Op: store.Contains, Str: "/v2/"}},
		{{Field: store.FieldHTTPURL, Op: store.Contains, Str: "'it's\\"}},
		{{Field: store.FieldHTTPURL, Op: store.Contains, Str: ""}, {Field: store.FieldHTTPURL, Op: store.Prefix, Str: ""}},
		{{Field: store.FieldHTTPURL, Op: store.Eq, Str: "https://shop/cart?id"}},
		{{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db")}},
		{{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db"), Num: float64(store.EdgeError)}},
		{{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "it's"), Num: float64(store.EdgeFault)}},
	}
	for _, where := range wheres {
		for _, q := range []store.SummaryScan{
			{Order: byS, From: allLo, To: allHi, Where: where},
			{Order: byE, From: allLo, To: allHi, Where: where},
			{Order: byS, From: T - 3, To: T, Terms: []store.Term{termA}, Where: where},
		} {
			all := sm.expect(store.SummaryScan{Order: q.Order, From: q.From, To: q.To, Terms: q.Terms})
			got := scan(t, s, q, noPage)
			var want []store.SummaryRow
			for _, r := range all {
				f := fields[r.TraceID]
				if !slices.ContainsFunc(where, func(c store.FieldCond) bool { return !c.Holds(&f) }) {
					want = append(want, r)
				}
			}
			// Every row meeting Where, in order; others may be there too.
			i := 0
			for _, r := range got {
				if i < len(want) && r.Pos == want[i].Pos {
					i++
				}
			}
			if i < len(want) {
				t.Fatalf("%s where %+v: left out %s", describeScan(q), where, describeRow(want[i]))
			}
			if p, ok := s.(store.PushDown); ok && !slices.ContainsFunc(where, func(c store.FieldCond) bool { return !p.PushesDown(c.Field) }) {
				// It said it pushes these down: every row's position, and a
				// summary for exactly the rows meeting them.
				if len(got) != len(all) {
					t.Fatalf("%s where %+v: %d rows, want every one of the %d positions (skipped rows have a nil summary)", describeScan(q), where, len(got), len(all))
				}
				var kept []store.SummaryRow
				for i, r := range got {
					if r.Pos != all[i].Pos {
						t.Fatalf("%s where %+v: row %d at %v, want %v", describeScan(q), where, i, r.Pos, all[i].Pos)
					}
					if r.Summary != nil {
						kept = append(kept, r)
					}
				}
				checkRows(t, describeScan(q), kept, want)
			}
			for _, fold := range []int{1000, 3} {
				checkFolded(t, s, q, fold, got, where)
			}
		}
	}
}

// checkFolded scans q with SummaryScan.Fold: expanded, its rows are
// those of the same scan without (got); a folded row stands for rows
// that fail where, ends at the last of them and within the first fold
// rows.
func checkFolded(t *testing.T, s store.SummaryReader, q store.SummaryScan, fold int, got []store.SummaryRow, where []store.FieldCond) {
	t.Helper()
	q.Fold = fold
	var pos []store.Position
	for r, err := range s.ScanSummaries(context.Background(), q) {
		if err != nil {
			t.Fatalf("%s where %+v, fold %d: %v", describeScan(q), where, fold, err)
		}
		if r.Folded <= 1 {
			pos = append(pos, r.Pos)
			continue
		}
		n := len(pos)
		if r.Summary != nil || n+r.Folded > fold || n+r.Folded > len(got) {
			t.Fatalf("%s where %+v, fold %d: a fold of %d rows after %d (summary %v)", describeScan(q), where, fold, r.Folded, n, r.Summary != nil)
		}
		for _, g := range got[n : n+r.Folded] {
			pos = append(pos, g.Pos)
			if g.Summary != nil {
				t.Fatalf("%s where %+v, fold %d: folded %s, which the scan without reads", describeScan(q), where, fold, describeRow(g))
			}
		}
		if r.Pos != pos[len(pos)-1] {
			t.Fatalf("%s where %+v, fold %d: a fold ends at %v, want its last row's %v", describeScan(q), where, fold, r.Pos, pos[len(pos)-1])
		}
	}
	want := make([]store.Position, len(got))
	for i, r := range got {
		want[i] = r.Pos
	}
	if !slices.Equal(pos, want) {
		t.Fatalf("%s where %+v, fold %d: %d positions, want %d", describeScan(q), where, fold, len(pos), len(want))
	}
}
