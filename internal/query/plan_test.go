package query_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summary"
)

// planStore holds 400 traces, one per second from base: every one calls
// web; 1 in 20 faults, 1 in 4 calls items (1 in 40 faulty), 1 in 100 is
// alice's, 1 in 10 has annotation tier = 3.
func planStore(t *testing.T) (*pebblestore.Store, *counting, []*summary.Summary) {
	st := openStore(t)
	var sums []*summary.Summary
	for i := range 400 {
		var opts []opt
		if i%20 == 0 {
			opts = append(opts, fault)
		}
		if i%4 == 0 {
			opts = append(opts, calls("items", i%40 == 0))
		}
		if i%100 == 7 {
			opts = append(opts, user("alice"))
		}
		if i%10 == 3 {
			opts = append(opts, annotation("tier", 3))
		}
		switch i % 16 {
		case 5:
			opts = append(opts, request("POST", "https://shop/cart"))
		case 9:
			opts = append(opts, request("GET", "http://other/?from=shop"))
		}
		sums = append(sums, mk(i, float64(i), opts...))
	}
	write(t, st, sums...)
	return st, &counting{SummaryReader: st}, sums
}

func TestPlan(t *testing.T) {
	peb, st, sums := planStore(t)
	e := query.New(st, query.Options{ProbeRows: 100, IndexRatio: 0.5})
	// Pebble's own term estimate (store.TermEstimator; the wrapper hides
	// it, so e adds up CountTerm) plans the same.
	est := query.New(estimating{peb, peb}, query.Options{ProbeRows: 100, IndexRatio: 0.5})
	f := func(expr string, tr query.TimeRange, want string) {
		t.Helper()
		q := query.Query{Start: base, End: at(400), TimeRange: tr, Filter: parse(t, expr)}
		p, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Plan.String()
		pe, err := est.Run(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if pe.Plan.String() != got {
			t.Errorf("%q: with the store's estimate: plan\n got %s\nwant %s", expr, pe.Plan, got)
		}
		// The window is the same in every case; only the choice matters.
		got = strings.TrimPrefix(got, "scan ByStart [2024-05-01T10:00:00Z,2024-05-01T10:06:40Z) ")
		got = strings.TrimPrefix(got, "scan ByEnd [2024-05-01T10:00:00Z,2024-05-01T10:06:40Z) ")
		if got != want {
			t.Errorf("%q: plan\n got %s\nwant %s", expr, got, want)
		}
		if w := expected(t, sums, q); len(w) < 100 && strings.Join(ids(p), ",") != strings.Join(w, ",") {
			t.Errorf("%q: got %d traces, want %d", expr, len(p.Results), len(w))
		}
	}
	f("", query.TraceID, "all: no filter")
	f(`http.url CONTAINS "shop"`, query.TraceID, "all: no indexed condition")
	// The probe reads the newest 100 rows (seconds 300–399): 5 faults.
	f("fault", query.TraceID, "terms=fault = true (1 term) est=5/100")
	f("fault", query.Event, "all: no index by last activity")
	// Every trace has web: following its term would read every row anyway.
	f(`service("web")`, query.TraceID, `all: best index node id(name: "web") has ≥51 of 100 rows`)
	f(`service("web") { fault }`, query.TraceID, `terms=node id(name: "web") with fault (1 term) est=5/100`)
	// items has a quarter of the traces, its faults a fortieth.
	f(`service("items")`, query.TraceID, `terms=node id(name: "items") (1 term) est=25/100`)
	f(`service("items") { fault }`, query.TraceID, `terms=node id(name: "items") with fault (1 term) est=2/100`)
	// The smallest candidate wins.
	f(`service("items") AND user = "alice"`, query.TraceID, `terms=user "alice" (1 term) est=1/100`)
	f(`annotation.tier = 3 AND fault`, query.TraceID, `terms=fault = true (1 term) est=5/100`)
	f(`annotation.tier = 3 OR annotation.tier = 4`, query.TraceID, `all: no indexed condition`)
	// The edge's term is its callee's.
	f(`edge("web", "items")`, query.TraceID, `terms=edge id(name: "web") -> id(name: "items") (1 term) est=25/100`)
	// 100 ms falls in the bucket [64, 128) ms, which every trace is in.
	f(`responsetime >= 0.05`, query.TraceID, `all: best index responsetime in [0.05, +Inf] has ≥51 of 100 rows`)
	f(`responsetime > 1`, query.TraceID, `terms=responsetime in (1, +Inf] (22 terms) est=0/100`)
}

// TestPlanProbe: the probe reads ProbeRows rows and finishes the second it
// is in; the estimates cover the same seconds, and later pages plan again
// over what is left.
func TestPlanProbe(t *testing.T) {
	st := openStore(t)
	var sums []*summary.Summary
	for i := range 300 {
		// Three traces a second; the newest 150 all fault, the others none.
		var opts []opt
		if i >= 150 {
			opts = append(opts, fault)
		}
		sums = append(sums, mk(i, float64(i/3), opts...))
	}
	write(t, st, sums...)
	// Without push-down, which would skip the rows without faults.
	e := query.New(estimating{st, st}, query.Options{ProbeRows: 10, PageSize: 100, IndexRatio: 0.5})
	q := query.Query{Start: base, End: at(100), Filter: parse(t, "fault")}
	p, err := e.Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Plan.String(), "scan ByStart [2024-05-01T10:00:00Z,2024-05-01T10:01:40Z) all: best index fault = true has ≥7 of 12 rows"; got != want {
		t.Errorf("first page plan\n got %s\nwant %s", got, want)
	}
	if p.Plan.ProbeFrom != base.Unix()+96 {
		t.Errorf("probe reached second %d, want %d", p.Plan.ProbeFrom-base.Unix(), 96)
	}
	if len(p.Results) != 100 || p.NextToken == "" {
		t.Fatalf("first page: %d results, token %q", len(p.Results), p.NextToken)
	}
	// The other 50 faults, then 150 rows without.
	q.Cursor = p.NextToken
	p, err = e.Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	// The probe resumes below the cursor, in second 66 (traces 199, 198),
	// and reads to the end of second 63 (11 rows).
	if got, want := p.Plan.String(), "scan ByStart [2024-05-01T10:00:00Z,2024-05-01T10:01:40Z) resumed all: best index fault = true has ≥6 of 11 rows"; got != want {
		t.Errorf("second page plan\n got %s\nwant %s", got, want)
	}
	if len(p.Results) != 50 || p.NextToken != "" {
		t.Fatalf("second page: %d results, token %q", len(p.Results), p.NextToken)
	}
	if p.Examined != 200 {
		t.Errorf("second page examined %d rows, want 200", p.Examined)
	}
	// With it, Pebble skips the 150 rows without faults by their field
	// header (handing over no summary to decode for them): the same page,
	// and the same count of rows examined.
	pushed, err := query.New(st, query.Options{ProbeRows: 10, PageSize: 100, IndexRatio: 0.5}).Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(pushed), ids(p)) || pushed.Examined != 200 || !strings.Contains(pushed.Plan.String(), "where=1") {
		t.Errorf("second page with push-down: %d results (want %d), %d examined (want 200), plan %s",
			len(pushed.Results), len(p.Results), pushed.Examined, pushed.Plan)
	}

	// Over the older half only, faults are absent: the index wins.
	q = query.Query{Start: base, End: at(50), Filter: parse(t, "fault")}
	p, err = e.Run(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Plan.String(), "scan ByStart [2024-05-01T10:00:00Z,2024-05-01T10:00:50Z) terms=fault = true (1 term) est=0/12"; got != want {
		t.Errorf("older half plan\n got %s\nwant %s", got, want)
	}
	if len(p.Results) != 0 || p.Examined != 0 || p.NextToken != "" {
		t.Errorf("older half: %d results, %d examined, token %q", len(p.Results), p.Examined, p.NextToken)
	}
}

// TestPlanCost: planning reads at most one probe and one count per term.
func TestPlanCost(t *testing.T) {
	_, st, _ := planStore(t)
	e := query.New(st, query.Options{ProbeRows: 100, IndexRatio: 0.5})
	q := query.Query{Start: base, End: at(400), Filter: parse(t, `service("items") AND user = "alice" AND fault`)}
	if _, err := e.Run(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if st.scans != 2 || st.counts != 3 {
		t.Errorf("%d scans and %d counts, want 2 (probe, page) and 3 (one per term)", st.scans, st.counts)
	}
	st.scans, st.counts = 0, 0
	q = query.Query{Start: base, End: at(400), Filter: parse(t, `http.url CONTAINS "x"`)}
	if _, err := e.Run(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	if st.scans != 1 || st.counts != 0 {
		t.Errorf("nothing to estimate: %d scans and %d counts, want 1 and 0", st.scans, st.counts)
	}
}

// TestTermsAreHints: the same results whether the store narrows by index
// terms or not, and a stale term (left by an earlier revision) does not
// make a trace match.
func TestTermsAreHints(t *testing.T) {
	st, _, sums := planStore(t)
	// Trace 0 faulted in revision 1; revision 2 no longer does, but its
	// fault term stays.
	fixed := mk(0, 0, calls("items", false))
	fixed.Revision = 2
	write(t, st, fixed)
	sums[0] = fixed

	withIndex := query.New(st, query.Options{ProbeRows: 50, PageSize: 7})
	without := query.New(noTerms{st}, query.Options{ProbeRows: 50, PageSize: 7})
	for _, expr := range []string{"fault", `service("items") { fault }`, `user = "alice"`, `annotation.tier = 3`, `responsetime > 1`} {
		q := query.Query{Start: base, End: at(400), Filter: parse(t, expr)}
		want := strings.Join(expected(t, sums, q), ",")
		got, pages := pageAll(t, withIndex, q)
		if pages[0].Plan.Index == nil {
			t.Errorf("%s: no index used: %s", expr, pages[0].Plan)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s with index:\n got %v\nwant %v", expr, got, want)
		}
		got, _ = pageAll(t, without, q)
		if strings.Join(got, ",") != want {
			t.Errorf("%s without index:\n got %v\nwant %v", expr, got, want)
		}
	}
}

func TestEmptyWindow(t *testing.T) {
	_, st, _ := planStore(t)
	e := query.New(st, query.Options{})
	p, err := e.Run(context.Background(), query.Query{Start: at(1000), End: at(2000), Filter: parse(t, "fault")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Results) != 0 || p.NextToken != "" || !p.ApproximateTime.Equal(at(1000)) {
		t.Errorf("empty window: %d results, token %q, approximate time %s", len(p.Results), p.NextToken, p.ApproximateTime)
	}
	if !strings.HasSuffix(p.Plan.String(), "all: nothing left in the window") {
		t.Errorf("plan %s", p.Plan)
	}
}
