package query_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"testing"

	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// folding counts the rows a scan yields folded (store.SummaryRow.Folded).
type folding struct {
	pushStore
	folds, folded int
}

// Unindexed forwards the store's (store.IndexPolicy).
func (s *folding) Unindexed(f store.Field) bool { return unindexed(s.pushStore, f) }

func (s *folding) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		for row, err := range s.pushStore.ScanSummaries(ctx, q) {
			if row.Folded > 1 {
				if row.Summary != nil {
					panic("a folded row with a summary")
				}
				s.folds++
				s.folded += row.Folded
			}
			if !yield(row, err) {
				return
			}
		}
	}
}

// TestFoldedScan pages through dense seconds (20 traces each, few of them
// matching, some far apart) on ClickHouse, which folds the runs of rows its Where skips,
// and on Pebble without push-down (and with ClickHouse's index terms): every page is the same (results,
// traces examined, NextToken), with budgets that end pages inside runs,
// serial and fanned out.
func TestFoldedScan(t *testing.T) {
	peb := openStore(t)
	var sums []*summary.Summary
	for i := range 1200 {
		var opts []opt
		if i%97 == 0 || i >= 400 && i < 410 {
			opts = append(opts, fault)
		}
		switch {
		case i%50 == 7:
			opts = append(opts, request("GET", "https://shop/cart"))
		case i == 150 || i == 1000 || i == 1001:
			// Far apart: a run of more than a page between them.
			opts = append(opts, request("GET", "https://shop/rare"))
		}
		sums = append(sums, mk(i, float64(i/20)+float64(i%20)/40, opts...))
	}
	ch := openClickHouse(t, "folded")
	write(t, ch, sums...)
	// Pebble is given the terms ClickHouse is (store.IndexPolicy: no
	// trace flags), so that both plan the same scans.
	write(t, struct {
		store.Writer
		store.IndexPolicy
	}{peb, ch}, sums...)
	fch := &folding{pushStore: ch}
	for _, o := range []query.Options{
		{PageSize: 5, MaxExamined: 45, Workers: 1},
		{PageSize: 5, MaxExamined: 45, Workers: 2, SerialRows: 3},
		{PageSize: 100, MaxExamined: 1000, Workers: 2, SerialRows: 30},
		{PageSize: 3, MaxExamined: 100_000, Workers: 1},
	} {
		plain := query.New(struct {
			store.SummaryReader
			store.IndexPolicy
		}{peb, ch}, o)
		folded := query.New(fch, o)
		for _, expr := range []string{"fault", `http.url CONTAINS "/no-such-page"`, `http.url = "https://shop/cart"`, `http.url = "https://shop/rare"`} {
			for _, tr := range []query.TimeRange{query.TraceID, query.Event} {
				name := fmt.Sprintf("%q (%v, %+v)", expr, tr, o)
				q := query.Query{Start: at(1), End: at(59), TimeRange: tr, Filter: parse(t, expr)}
				got, gotPages := pageAll(t, folded, q)
				want, wantPages := pageAll(t, plain, q)
				if exp := expected(t, sums, q); !slices.Equal(want, exp) {
					t.Fatalf("%s: Pebble found %d traces, want %d", name, len(want), len(exp))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %d traces, want %d", name, len(got), len(want))
				}
				if len(gotPages) != len(wantPages) {
					t.Errorf("%s: %d pages, want %d", name, len(gotPages), len(wantPages))
					for _, p := range gotPages {
						t.Logf("got %d %d", len(p.Results), p.Examined)
					}
					for _, p := range wantPages {
						t.Logf("want %d %d", len(p.Results), p.Examined)
					}
					continue
				}
				for i := range gotPages {
					g, w := gotPages[i], wantPages[i]
					if !slices.Equal(ids(g), ids(w)) || g.Examined != w.Examined || g.NextToken != w.NextToken {
						t.Errorf("%s: page %d: %d results, %d examined, token %q; want %d, %d, %q",
							name, i+1, len(g.Results), g.Examined, g.NextToken, len(w.Results), w.Examined, w.NextToken)
					}
				}
			}
		}
	}
	// Not a vacuous comparison: runs were folded.
	if fch.folds == 0 || fch.folded < 2*fch.folds {
		t.Errorf("%d folds of %d rows", fch.folds, fch.folded)
	}
}
