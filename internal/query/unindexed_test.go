package query_test

import (
	"context"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
)

// termSpy records every index term a planner counts or follows.
type termSpy struct {
	pushStore
	terms []store.Term
}

func (s *termSpy) Unindexed(f store.Field) bool { return unindexed(s.pushStore, f) }

func (s *termSpy) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	s.terms = append(s.terms, q.Terms...)
	return s.pushStore.ScanSummaries(ctx, q)
}

func (s *termSpy) CountTerm(ctx context.Context, term store.Term, from, to int64, limit int) (int, error) {
	s.terms = append(s.terms, term)
	return s.pushStore.CountTerm(ctx, term, from, to, limit)
}

func (s *termSpy) EstimateTerms(ctx context.Context, terms []store.Term, from, to int64, limit int) (int, error) {
	s.terms = append(s.terms, terms...)
	return s.pushStore.(store.TermEstimator).EstimateTerms(ctx, terms, from, to, limit)
}

// TestUnindexedTerms: on a store given no terms for what it pushes down
// (the memory backend, ClickHouse: store.IndexPolicy), the planner never
// counts or follows a term of those kinds (it scans with the condition
// pushed down), still follows the others (annotation values, users, node
// flags), and every answer is the slow way's.
func TestUnindexedTerms(t *testing.T) {
	_, _, sums := planStore(t)
	mem := memstore.Open(memstore.NewDataWith(memstore.Options{EpochPast: 50 * 365 * 24 * time.Hour}))
	defer mem.Close()
	write(t, mem, sums...)
	ch := openClickHouse(t, "unindexed")
	write(t, ch, sums...)
	left := func(term store.Term) bool {
		switch index.KindOf(term) {
		case index.KindNode, index.KindAnnotationKey, index.KindResponseTime, index.KindDuration, index.KindHTTPStatus, index.KindTraceFlag:
			return true
		}
		return false
	}
	for _, backend := range []struct {
		name string
		st   pushStore
	}{{"memory", mem}, {"clickhouse", ch}} {
		if index.For(backend.st).Full() {
			t.Fatalf("%s: given every index term", backend.name)
		}
		spy := &termSpy{pushStore: backend.st}
		e := query.New(spy, query.Options{ProbeRows: 100, IndexRatio: 0.5, PageSize: 25})
		followed := 0
		for _, c := range []struct {
			expr string
			// follows: the plan follows index terms (of a kind the store
			// was given).
			follows bool
		}{
			{"fault", false},
			{"error OR throttle", false},
			{"partial", false},
			{"inferred", false},
			{"responsetime >= 0.05", false},
			{"duration < 1", false},
			{"http.status = 500", false},
			{`annotation.tier > 2`, false},
			{`annotation.tier = 3`, true},
			{`user = "alice"`, true},
			{`service("items")`, false},
			{`service("items") { fault }`, true},
			{`edge("web", "items")`, false},
			{`edge("web", "items") { fault } AND responsetime < 10`, false},
			{`user = "alice" AND fault`, true},
		} {
			for _, tr := range []query.TimeRange{query.TraceID, query.Event} {
				q := query.Query{Start: base, End: at(400), TimeRange: tr, Filter: parse(t, c.expr)}
				spy.terms = nil
				got, pages := pageAll(t, e, q)
				if exp := expected(t, sums, q); !slices.Equal(got, exp) {
					t.Errorf("%s: %q (%v): %d traces, want %d", backend.name, c.expr, tr, len(got), len(exp))
				}
				for _, term := range spy.terms {
					if left(term) {
						t.Errorf("%s: %q (%v): the planner used term %#x of kind %d, which the store was not given", backend.name, c.expr, tr, uint64(term), index.KindOf(term))
					}
				}
				p := pages[0].Plan
				if tr == query.TraceID && (p.Index != nil || p.Empty) != c.follows {
					t.Errorf("%s: %q: plan %s, want following terms %v", backend.name, c.expr, p, c.follows)
				}
				if p.Index != nil {
					followed++
				}
			}
		}
		if followed == 0 {
			t.Errorf("%s: no plan followed a term", backend.name)
		}
	}
}
