package query_test

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
	"github.com/counterspy/counterspy/internal/store/memstore"
)

// pushStore is a backend that evaluates Where natively.
type pushStore interface {
	store.SummaryReader
	store.PushDown
}

// whereScans records the Where of every scan and the rows it yields.
type whereScans struct {
	pushStore
	wheres [][]store.FieldCond
	// whereRows counts the rows of scans with Where that carry a summary
	// (the others were skipped by the backend: a position to count only).
	whereRows int
}

// Unindexed forwards the store's (store.IndexPolicy): a planner must know
// which index terms the store was not given.
func (s *whereScans) Unindexed(f store.Field) bool { return unindexed(s.pushStore, f) }

// unindexed is st's store.IndexPolicy answer, false without.
func unindexed(st any, f store.Field) bool {
	u, ok := st.(store.IndexPolicy)
	return ok && u.Unindexed(f)
}

func (s *whereScans) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	s.wheres = append(s.wheres, q.Where)
	return func(yield func(store.SummaryRow, error) bool) {
		for row, err := range s.pushStore.ScanSummaries(ctx, q) {
			if len(q.Where) > 0 && row.Summary != nil {
				s.whereRows++
			}
			if !yield(row, err) {
				return
			}
		}
	}
}

// TestPushDown runs queries on the memory backend and on ClickHouse, which
// evaluate Where on every field, and on Pebble, which evaluates it on the fixed-size ones
// (flags, durations, HTTP status: its field header), against Pebble with
// the capability hidden: the pages are the same, the scans carry the
// conditions, and they read fewer rows.
func TestPushDown(t *testing.T) {
	peb, _, sums := planStore(t)
	mem := memstore.Open(memstore.NewDataWith(memstore.Options{EpochPast: 50 * 365 * 24 * time.Hour}))
	defer mem.Close()
	write(t, mem, sums...)
	// ClickHouse evaluates Where on every field, like the memory backend,
	// in SQL over the newest revision's flat columns.
	ch := openClickHouse(t, "pushdown")
	write(t, ch, sums...)
	for _, backend := range []struct {
		name string
		st   pushStore
		// where picks the expected count of pushed-down conditions.
		where func(mem, peb int) int
	}{
		{"memory", mem, func(m, _ int) int { return m }},
		{"pebble", peb, func(_, p int) int { return p }},
		{"clickhouse", ch, func(m, _ int) int { return m }},
	} {
		ws := &whereScans{pushStore: backend.st}
		pushed := query.New(ws, query.Options{ProbeRows: 100, IndexRatio: 0.5, PageSize: 25})
		// Without the capability: the wrapper hides PushDown (not the
		// terms the store was given: the plans are the same).
		plain := query.New(hidePushDown(backend.st), query.Options{ProbeRows: 100, IndexRatio: 0.5, PageSize: 25})
		for _, c := range []struct {
			expr          string
			memWhere, peb int
		}{
			{"fault", 1, 1},
			{"ok", 2, 2},
			{"!fault AND responsetime >= 0.05", 2, 2},
			{`annotation.tier = 3`, 1, 0},
			{`annotation.tier = 3 AND fault`, 2, 1},
			{`http.status >= 500`, 1, 1},
			{`service("items")`, 1, 0},
			{`service("no-such-service")`, 1, 0},
			{`http.url CONTAINS "shop"`, 1, 0},
			{`http.url CONTAINS "/no-such-page"`, 1, 0},
			{`http.method = "POST" AND http.url BEGINSWITH "https://"`, 2, 0},
			// The edge (which implies its ends' services).
			{`edge("web", "items") { fault }`, 1, 0},
			{`edge("web", "items")`, 1, 0},
			{`edge("web", "no-such-service") { error }`, 1, 0},
			// From the client: its ends' services only.
			{`edge(id(name: "web", type: "client"), "web")`, 1, 0},
			{`edge(id(name: "web", type: "client"), "items")`, 2, 0},
		} {
			for _, tr := range []query.TimeRange{query.TraceID, query.Event} {
				where := backend.where(c.memWhere, c.peb)
				// Following the annotation value's terms (by start only),
				// the annotation key is not pushed down again.
				if strings.HasPrefix(c.expr, "annotation.") && tr == query.TraceID && backend.name != "pebble" {
					where--
				}
				q := query.Query{Start: base, End: at(400), TimeRange: tr, Filter: parse(t, c.expr)}
				ws.wheres, ws.whereRows = nil, 0
				got, pages := pageAll(t, pushed, q)
				want, plainPages := pageAll(t, plain, q)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %q (%v): pushed down %d traces, without %d", backend.name, c.expr, tr, len(got), len(want))
				}
				// TracesProcessedCount does not depend on the backend
				// pushing down: skipped rows still count as examined.
				examined := func(ps []*query.Page) (n int64) {
					for _, p := range ps {
						n += p.Examined
					}
					return n
				}
				if m, p := examined(pages), examined(plainPages); m != p {
					t.Errorf("%s: %q (%v): %d traces examined with push-down, %d without", backend.name, c.expr, tr, m, p)
				}
				if exp := expected(t, sums, q); !slices.Equal(got, exp) {
					t.Errorf("%s: %q (%v): %d traces, want %d", backend.name, c.expr, tr, len(got), len(exp))
				}
				p := pages[0].Plan
				if len(p.Where) != where {
					t.Errorf("%s: %q (%v): plan %s pushes down %d conditions, want %d", backend.name, c.expr, tr, p, len(p.Where), where)
				}
				if where > 0 && !strings.Contains(p.String(), "where=") {
					t.Errorf("%s: %q: plan %s does not show the push-down", backend.name, c.expr, p)
				}
				if where > 0 && !slices.ContainsFunc(ws.wheres, func(w []store.FieldCond) bool { return len(w) == where }) {
					t.Errorf("%s: %q (%v): no scan carried the conditions: %v", backend.name, c.expr, tr, ws.wheres)
				}
				// A scan with Where hands over summaries only for the rows
				// meeting it: fewer than the window's 400 when few match.
				if where > 0 && len(want) < 200 && ws.whereRows >= 400 {
					t.Errorf("%s: %q (%v): %d summaries handed over with Where for %d results: nothing skipped", backend.name, c.expr, tr, ws.whereRows, len(got))
				}
			}
		}
	}
}

// hidePushDown is st without store.PushDown, but with the index terms it
// was given (store.IndexPolicy), which a planner must know.
func hidePushDown(st store.SummaryReader) store.SummaryReader {
	if u, ok := st.(store.IndexPolicy); ok {
		return struct {
			store.SummaryReader
			store.IndexPolicy
		}{st, u}
	}
	return struct{ store.SummaryReader }{st}
}

// openClickHouse opens database db on a ClickHouse server started for the
// test, accepting the test summaries' old epochs; it is closed at the end.
func openClickHouse(t *testing.T, db string) *clickhouse.Store {
	t.Helper()
	srv := chtest.StartTest(t)
	ch, err := clickhouse.Open(context.Background(), clickhouse.Options{Addr: srv.Addr, Database: db,
		EpochPast: 50 * 365 * 24 * time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}
