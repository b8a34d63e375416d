package query_test

import (
	"context"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// whereScans records the Where of every scan and the rows it yields.
type whereScans struct {
	*memstore.Store
	wheres [][]store.FieldCond
	// whereRows counts the rows of scans with Where that carry a summary
	// (the others were skipped by the backend: a position to count only).
	whereRows int
}

func (s *whereScans) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	s.wheres = append(s.wheres, q.Where)
	return func(yield func(store.SummaryRow, error) bool) {
		for row, err := range s.Store.ScanSummaries(ctx, q) {
			if len(q.Where) > 0 && row.Summary != nil {
				s.whereRows++
			}
			if !yield(row, err) {
				return
			}
		}
	}
}

// TestPushDown runs queries on the memory backend, which evaluates Where
// natively (store.PushDown), and on Pebble, which does not: the pages are
// the same, the memory backend's scans carry the conditions, and it reads
// fewer rows.
func TestPushDown(t *testing.T) {
	peb, _, sums := planStore(t)
	mem := memstore.Open(memstore.NewDataWith(memstore.Options{EpochPast: 50 * 365 * 24 * time.Hour}))
	defer mem.Close()
	b := &store.Batch{}
	var names []string
	for _, s := range sums {
		r := roundTrip(t, s)
		var f store.SummaryFields
		f, names = summarize.Fields(r, names)
		b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: s.TraceID, End: endSecond(s),
			Summary: s.AppendBinary(nil), Terms: index.Terms(r, nil), Fields: f})
	}
	if err := mem.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ws := &whereScans{Store: mem}
	onMem := query.New(ws, query.Options{ProbeRows: 100, IndexRatio: 0.5, PageSize: 25})
	onPeb := query.New(peb, query.Options{ProbeRows: 100, IndexRatio: 0.5, PageSize: 25})
	for _, c := range []struct {
		expr  string
		where int
	}{
		{"fault", 1},
		{"ok", 2},
		{"!fault AND responsetime >= 0.05", 2},
		{`annotation.tier = 3`, 1},
		{`annotation.tier = 3 AND fault`, 2},
		{`http.status >= 500`, 1},
		{`service("items")`, 0},
		{`http.url CONTAINS "shop"`, 0},
	} {
		for _, tr := range []query.TimeRange{query.TraceID, query.Event} {
			q := query.Query{Start: base, End: at(400), TimeRange: tr, Filter: parse(t, c.expr)}
			ws.wheres, ws.whereRows = nil, 0
			got, pages := pageAll(t, onMem, q)
			want, pebPages := pageAll(t, onPeb, q)
			if !slices.Equal(got, want) {
				t.Errorf("%q (%v): pushed down %d traces, Pebble %d", c.expr, tr, len(got), len(want))
			}
			// TracesProcessedCount does not depend on the backend pushing
			// down: skipped rows still count as examined.
			examined := func(ps []*query.Page) (n int64) {
				for _, p := range ps {
					n += p.Examined
				}
				return n
			}
			if m, p := examined(pages), examined(pebPages); m != p {
				t.Errorf("%q (%v): %d traces examined with push-down, %d without", c.expr, tr, m, p)
			}
			if exp := expected(t, sums, q); !slices.Equal(got, exp) {
				t.Errorf("%q (%v): %d traces, want %d", c.expr, tr, len(got), len(exp))
			}
			p := pages[0].Plan
			if len(p.Where) != c.where {
				t.Errorf("%q (%v): plan %s pushes down %d conditions, want %d", c.expr, tr, p, len(p.Where), c.where)
			}
			if c.where > 0 && !strings.Contains(p.String(), "where=") {
				t.Errorf("%q: plan %s does not show the push-down", c.expr, p)
			}
			if c.where > 0 && !slices.ContainsFunc(ws.wheres, func(w []store.FieldCond) bool { return len(w) == c.where }) {
				t.Errorf("%q (%v): no scan carried the conditions: %v", c.expr, tr, ws.wheres)
			}
			// A scan with Where hands over summaries only for the rows
			// meeting it: fewer than the window's 400 when few match.
			if c.where > 0 && len(want) < 200 && ws.whereRows >= 400 {
				t.Errorf("%q (%v): %d summaries handed over with Where for %d results: nothing skipped", c.expr, tr, ws.whereRows, len(got))
			}
		}
	}
}
