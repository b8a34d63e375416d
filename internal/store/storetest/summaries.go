package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// sumModel is what the suite expects a store's summaries to be: per trace,
// its start (placement) second, its latest End and summary, and every term
// ever written for it.
type sumModel struct {
	traces map[xrayid.TraceID]*sumTrace
	segs   xrayid.SegmentID
}

type sumTrace struct {
	start, end int64
	rev        int
	summary    []byte
	terms      map[store.Term]bool
}

func newSumModel() *sumModel { return &sumModel{traces: map[xrayid.TraceID]*sumTrace{}} }

// revise adds to b one record of trace id arriving at received (Unix
// nanoseconds) and the trace's next summary revision, ending at end, with
// those of terms not written yet. start is the second the trace must be
// placed at: its ID's epoch, or the first arrival for implausible epochs.
// The model changes when the batch is written (see sumWrite); revise only
// reads it, so a batch may revise a trace once.
func (m *sumModel) revise(b *store.Batch, id xrayid.TraceID, start, received, end int64, terms ...store.Term) {
	m.segs++
	b.Records = append(b.Records, record(id, m.segs, received, ""))
	m.reviseOnly(b, id, start, end, terms...)
}

// reviseOnly adds a summary revision without a record.
func (m *sumModel) reviseOnly(b *store.Batch, id xrayid.TraceID, start, end int64, terms ...store.Term) {
	r := store.SummaryRecord{TraceID: id, End: end}
	rev := 1
	tr := m.traces[id]
	if tr != nil {
		r.PrevEnd, rev = tr.end, tr.rev+1
	}
	for _, term := range terms {
		if tr == nil || !tr.terms[term] {
			r.Terms = append(r.Terms, term)
		}
	}
	r.Summary = summaryBytes(id, start, rev)
	b.Summaries = append(b.Summaries, r)
}

// summaryBytes is an opaque summary: binary, with NULs, unique per revision.
func summaryBytes(id xrayid.TraceID, start int64, rev int) []byte {
	b := []byte{0, 0xff, 's', 0}
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(start))
	b = binary.AppendUvarint(b, uint64(rev))
	return fmt.Appendf(b, "revision %d of %s", rev, id)
}

// apply records b's summaries as written. Placement comes from the
// summary bytes (summaryBytes embeds the expected start).
func (m *sumModel) apply(b *store.Batch) {
	for _, r := range b.Summaries {
		tr := m.traces[r.TraceID]
		if tr == nil {
			tr = &sumTrace{terms: map[store.Term]bool{}}
			m.traces[r.TraceID] = tr
		}
		tr.start = int64(binary.BigEndian.Uint64(r.Summary[4+16:]))
		tr.end = r.End
		tr.rev++
		tr.summary = bytes.Clone(r.Summary)
		for _, term := range r.Terms {
			tr.terms[term] = true
		}
	}
}

func (m *sumModel) drop(ids ...xrayid.TraceID) {
	for _, id := range ids {
		delete(m.traces, id)
	}
}

// sumWrite writes b and records it in the model (and in m, if not nil).
func sumWrite(t *testing.T, s store.Store, sm *sumModel, m *model, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write(%d records, %d summaries): %v", len(b.Records), len(b.Summaries), err)
	}
	sm.apply(b)
	if m != nil {
		m.add(b)
	}
}

// expect returns the rows a scan must yield.
func (m *sumModel) expect(q store.SummaryScan) []store.SummaryRow {
	var rows []store.SummaryRow
	for id, tr := range m.traces {
		sec := tr.start
		if q.Order == store.ByEnd {
			sec = tr.end
		}
		pos := store.Position{Sec: sec, TraceID: id}
		if sec < q.From || sec >= q.To || q.Before != nil && !pos.Less(*q.Before) {
			continue
		}
		if len(q.Terms) > 0 && !slices.ContainsFunc(q.Terms, func(term store.Term) bool { return tr.terms[term] }) {
			continue
		}
		rows = append(rows, store.SummaryRow{Pos: pos, TraceID: id, Summary: tr.summary})
	}
	slices.SortFunc(rows, func(a, b store.SummaryRow) int { return comparePos(b.Pos, a.Pos) })
	return rows
}

// count is what CountTerm must return.
func (m *sumModel) count(term store.Term, from, to int64, limit int) int {
	n := 0
	for _, tr := range m.traces {
		if tr.terms[term] && tr.start >= from && tr.start < to {
			n++
		}
	}
	return min(n, max(limit, 0))
}

func comparePos(a, b store.Position) int {
	if a.Less(b) {
		return -1
	}
	if b.Less(a) {
		return 1
	}
	return 0
}

// scan runs q to the end (or to limit rows, if limit > 0), copying each
// row's summary, and fails the test on error.
func scan(t *testing.T, s store.Store, q store.SummaryScan, limit int) []store.SummaryRow {
	t.Helper()
	var rows []store.SummaryRow
	for row, err := range s.ScanSummaries(context.Background(), q) {
		if err != nil {
			t.Fatalf("ScanSummaries(%s) after %d rows: %v", describeScan(q), len(rows), err)
		}
		row.Summary = bytes.Clone(row.Summary)
		rows = append(rows, row)
		if len(rows) == limit {
			break
		}
	}
	return rows
}

// checkRows compares scanned rows with the expected ones.
func checkRows(t *testing.T, what string, got, want []store.SummaryRow) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Pos != w.Pos || g.TraceID != w.TraceID || !bytes.Equal(g.Summary, w.Summary) {
			t.Fatalf("%s: row %d of %d:\n got  %s\n want %s", what, i, len(got), describeRow(g), describeRow(w))
		}
	}
	if len(got) != len(want) {
		extra := got
		if len(want) > len(got) {
			extra = want
		}
		t.Fatalf("%s: %d rows, want %d (first unmatched: %s)", what, len(got), len(want), describeRow(extra[min(len(got), len(want))]))
	}
}

// checkScan runs q and compares with the model.
func checkScan(t *testing.T, s store.Store, m *sumModel, q store.SummaryScan) {
	t.Helper()
	checkRows(t, "ScanSummaries("+describeScan(q)+")", scan(t, s, q, 0), m.expect(q))
}

// checkPaged pages through q, size rows at a time, resuming each page
// before the last row of the previous one, and compares the concatenation
// with the model: every trace exactly once, in order.
func checkPaged(t *testing.T, s store.Store, m *sumModel, q store.SummaryScan, size int) {
	t.Helper()
	var all []store.SummaryRow
	page := q
	for n := 0; ; n++ {
		rows := scan(t, s, page, size)
		all = append(all, rows...)
		if len(rows) < size {
			break
		}
		if n > len(m.traces)+1 {
			t.Fatalf("paging %s by %d: more than %d pages", describeScan(q), size, n)
		}
		last := rows[len(rows)-1].Pos
		page.Before = &last
	}
	checkRows(t, fmt.Sprintf("paging %s by %d", describeScan(q), size), all, m.expect(q))
}

// checkSummaries reads ids by ID and compares with the model: each known
// ID in request order, unknown ones skipped.
func checkSummaries(t *testing.T, s store.Store, m *sumModel, ids ...xrayid.TraceID) {
	t.Helper()
	var got, want []store.SummaryRow
	for row, err := range s.Summaries(context.Background(), ids) {
		if err != nil {
			t.Fatalf("Summaries: %v", err)
		}
		got = append(got, store.SummaryRow{TraceID: row.TraceID, Summary: bytes.Clone(row.Summary)})
	}
	for _, id := range ids {
		if tr := m.traces[id]; tr != nil {
			want = append(want, store.SummaryRow{TraceID: id, Summary: tr.summary})
		}
	}
	checkRows(t, fmt.Sprintf("Summaries(%d IDs)", len(ids)), got, want)
}

// checkCount compares CountTerm with the model.
func checkCount(t *testing.T, s store.Store, m *sumModel, term store.Term, from, to int64, limit int) {
	t.Helper()
	got, err := s.CountTerm(context.Background(), term, from, to, limit)
	if err != nil {
		t.Fatalf("CountTerm(%x, %d, %d, %d): %v", uint64(term), from, to, limit, err)
	}
	if want := m.count(term, from, to, limit); got != want {
		t.Fatalf("CountTerm(%x, %d, %d, %d) = %d, want %d", uint64(term), from, to, limit, got, want)
	}
}

// checkAllScans checks the whole-range scans of both orders, with and
// without terms, and every term's count.
func checkAllScans(t *testing.T, s store.Store, m *sumModel, terms ...store.Term) {
	t.Helper()
	const lo, hi = -1 << 40, 1 << 40
	checkScan(t, s, m, store.SummaryScan{Order: store.ByStart, From: lo, To: hi})
	checkScan(t, s, m, store.SummaryScan{Order: store.ByEnd, From: lo, To: hi})
	for _, term := range terms {
		checkScan(t, s, m, store.SummaryScan{Order: store.ByStart, From: lo, To: hi, Terms: []store.Term{term}})
		checkCount(t, s, m, term, lo, hi, 1<<30)
	}
	if len(terms) > 1 {
		checkScan(t, s, m, store.SummaryScan{Order: store.ByStart, From: lo, To: hi, Terms: terms})
	}
	var ids []xrayid.TraceID
	for id := range m.traces {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b xrayid.TraceID) int { return bytes.Compare(a[:], b[:]) })
	checkSummaries(t, s, m, ids...)
}

func describeScan(q store.SummaryScan) string {
	order := "ByStart"
	if q.Order == store.ByEnd {
		order = "ByEnd"
	}
	s := fmt.Sprintf("%s [%d, %d)", order, q.From, q.To)
	if q.Before != nil {
		s += fmt.Sprintf(" before (%d, %s)", q.Before.Sec, q.Before.TraceID)
	}
	if len(q.Terms) > 0 {
		s += fmt.Sprintf(" terms %x", q.Terms)
	}
	return s
}

func describeRow(r store.SummaryRow) string {
	return fmt.Sprintf("{pos (%d, %s) trace %s summary %q}", r.Pos.Sec, r.Pos.TraceID, r.TraceID, r.Summary)
}

// idAt builds an ID with the given epoch whose other bytes are all n: IDs
// of one second order by n.
func idAt(epoch int64, n byte) xrayid.TraceID {
	var id xrayid.TraceID
	for i := range id {
		id[i] = n
	}
	binary.BigEndian.PutUint32(id[:4], uint32(epoch))
	return id
}

// Terms used by the cases; backends treat them as opaque.
const (
	termA store.Term = 0x0100000000000001
	termB store.Term = 0x0100000000000002
	termC store.Term = 0x0300000000000003
	termD store.Term = 0xff000000000000ff // top bit set: no sign trouble
	termX store.Term = 0x0900000000000009 // never written
)
