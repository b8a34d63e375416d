package query_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func idsOf(sums ...*summary.Summary) []xrayid.TraceID {
	out := make([]xrayid.TraceID, len(sums))
	for i, s := range sums {
		out[i] = s.TraceID
	}
	return out
}

func strs(ids []xrayid.TraceID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// randomStore holds 2000 traces over 1000 seconds (often several in one
// second), a tenth faulty, a third calling items, with a last activity up
// to 100 s after their start.
func randomStore(t *testing.T) (*pebblestore.Store, []*summary.Summary) {
	st := openStore(t)
	r := rand.New(rand.NewPCG(1, 2))
	var sums []*summary.Summary
	for i := range 2000 {
		sec := float64(r.IntN(1000)) + float64(r.IntN(1000))/1000
		var opts []opt
		if r.IntN(10) == 0 {
			opts = append(opts, fault)
		}
		if r.IntN(3) == 0 {
			opts = append(opts, calls("items", r.IntN(4) == 0))
		}
		opts = append(opts, lastActivity(sec+float64(r.IntN(100000))/1000))
		sums = append(sums, mk(i, sec, opts...))
	}
	write(t, st, sums...)
	return st, sums
}

// TestPaging: paging returns what one pass over everything would, each
// trace once, newest first, whatever the page size, budget and plan.
func TestPaging(t *testing.T) {
	st, sums := randomStore(t)
	f := func(opts query.Options, tr query.TimeRange, start, end time.Time, expr string) {
		t.Helper()
		e := query.New(st, opts)
		q := query.Query{Start: start, End: end, TimeRange: tr, Filter: parse(t, expr)}
		want := expected(t, sums, q)
		got, pages := pageAll(t, e, q)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s %q %+v: got %d traces in %d pages, want %d", tr, expr, opts, len(got), len(pages), len(want))
			return
		}
		var examined int64
		for i, p := range pages {
			examined += p.Examined
			if len(p.Results) > opts.PageSize || opts.MaxExamined > 0 && p.Examined > int64(opts.MaxExamined) {
				t.Errorf("%s %q: page %d has %d results after %d rows", tr, expr, i+1, len(p.Results), p.Examined)
			}
			if i > 0 && p.ApproximateTime.After(pages[i-1].ApproximateTime) {
				t.Errorf("%s %q: page %d's approximate time %s is after the previous page's %s", tr, expr, i+1,
					p.ApproximateTime, pages[i-1].ApproximateTime)
			}
		}
		if last := pages[len(pages)-1]; !last.ApproximateTime.Equal(start) {
			t.Errorf("%s %q: last page's approximate time %s, want the window start %s", tr, expr, last.ApproximateTime, start)
		}
		if expr == "" && examined != int64(len(want)) {
			t.Errorf("%s: %d rows examined over all pages, want %d", tr, examined, len(want))
		}
	}
	for _, tr := range []query.TimeRange{query.TraceID, query.Event} {
		for _, expr := range []string{"", "fault", `service("items")`, `service("items") { fault }`, `!fault AND responsetime < 1`} {
			// Serial, and fanned out to 3 workers after 5 rows.
			for _, par := range []query.Options{{Workers: 1}, {Workers: 3, SerialRows: 5}} {
				f(query.Options{PageSize: 7, ProbeRows: 20, Workers: par.Workers, SerialRows: par.SerialRows}, tr, base, at(1000), expr)
				f(query.Options{PageSize: 100, Workers: par.Workers, SerialRows: par.SerialRows}, tr, at(250.5), at(750.25), expr)
				f(query.Options{PageSize: 1000, Workers: par.Workers, SerialRows: par.SerialRows}, tr, base, at(1000), expr)
				// A small budget: pages often end before they are full.
				f(query.Options{PageSize: 10, MaxExamined: 13, ProbeRows: 16, Workers: par.Workers, SerialRows: par.SerialRows},
					tr, at(100), at(900.999), expr)
				f(query.Options{PageSize: 30, MaxExamined: 200, Workers: par.Workers, SerialRows: par.SerialRows}, tr, at(100), at(900.999), expr)
			}
		}
	}
}

// TestFanOutCancel: a scan whose context ends while workers run returns
// the context's error and leaves no goroutine behind (TestMain checks).
func TestFanOutCancel(t *testing.T) {
	st, _ := randomStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	e := query.New(st, query.Options{Workers: 2, SerialRows: 1, Now: func() time.Time {
		if calls++; calls == 3 {
			cancel()
		}
		return base
	}})
	_, err := e.Run(ctx, query.Query{Start: base, End: at(1000), Filter: parse(t, `http.url = "nowhere"`)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestBudget: a call stops after MaxExamined rows with what it has.
func TestBudget(t *testing.T) {
	st, _ := randomStore(t)
	e := query.New(st, query.Options{MaxExamined: 50})
	p, err := e.Run(context.Background(), query.Query{Start: base, End: at(1000), Filter: parse(t, `http.url = "nowhere"`)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Examined != 50 || len(p.Results) != 0 || p.NextToken == "" {
		t.Errorf("examined %d, %d results, token %q; want 50, 0 and a token", p.Examined, len(p.Results), p.NextToken)
	}
	// A clock that jumps a second per reading ends the call at the first
	// look, after checkEvery rows, serial or fanned out.
	for _, workers := range []int{1, 2} {
		now := base
		e = query.New(st, query.Options{MaxTime: time.Millisecond, Workers: workers, SerialRows: 10,
			Now: func() time.Time { now = now.Add(time.Second); return now }})
		p, err = e.Run(context.Background(), query.Query{Start: base, End: at(1000), Filter: parse(t, `http.url = "nowhere"`)})
		if err != nil {
			t.Fatal(err)
		}
		if p.Examined != 64 || p.NextToken == "" {
			t.Errorf("time budget, %d workers: examined %d, token %q; want 64 and a token", workers, p.Examined, p.NextToken)
		}
	}
}

// TestByEnd: Event and Service select by last activity and report it.
func TestByEnd(t *testing.T) {
	st := openStore(t)
	sums := []*summary.Summary{
		mk(1, 10, lastActivity(500.25)),
		mk(2, 20, lastActivity(20.1)),
		mk(3, 30, lastActivity(300.5)),
		mk(4, 400, lastActivity(400.1)),
	}
	write(t, st, sums...)
	e := query.New(st, query.Options{})
	f := func(tr query.TimeRange, start, end float64, want ...string) {
		t.Helper()
		p, err := e.Run(context.Background(), query.Query{Start: at(start), End: at(end), TimeRange: tr})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range p.Results {
			s := r.Summary.TraceID.String()[26:] + "@"
			if tr == query.TraceID {
				if !r.MatchedEventTime.IsZero() {
					t.Errorf("TraceId result with MatchedEventTime %s", r.MatchedEventTime)
				}
			} else {
				s += r.MatchedEventTime.Sub(base).String()
			}
			got = append(got, strings.TrimLeft(s, "0"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s [%v, %v): got %v, want %v", tr, start, end, got, want)
		}
	}
	f(query.TraceID, 0, 1000, "4@", "3@", "2@", "1@")
	f(query.TraceID, 15, 35, "3@", "2@")
	f(query.Event, 0, 1000, "1@8m20.25s", "4@6m40.1s", "3@5m0.5s", "2@20.1s")
	f(query.Service, 300, 500, "4@6m40.1s", "3@5m0.5s")
	f(query.Event, 300.5, 500.25, "4@6m40.1s", "3@5m0.5s")
	f(query.Event, 300.6, 500.26, "1@8m20.25s", "4@6m40.1s")
}

// TestWindowBounds: in the first and last second of a window that does
// not start or end on a whole second, the exact start decides.
func TestWindowBounds(t *testing.T) {
	st := openStore(t)
	write(t, st, mk(1, 10.2), mk(2, 10.7), mk(3, 11), mk(4, 19.999), mk(5, 20.5), mk(6, 21))
	e := query.New(st, query.Options{})
	f := func(start, end float64, want ...int) {
		t.Helper()
		p, err := e.Run(context.Background(), query.Query{Start: at(start), End: at(end)})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, r := range p.Results {
			got = append(got, int(r.Summary.TraceID[15]))
		}
		if !slices.Equal(got, want) {
			t.Errorf("[%v, %v): got %v, want %v", start, end, got, want)
		}
	}
	f(10, 21, 5, 4, 3, 2, 1)
	f(10.5, 20.5, 4, 3, 2)
	f(10.7, 20.6, 5, 4, 3, 2)
	f(10.71, 20.5, 4, 3)
	f(10.2, 10.7, 1)
	f(11, 11.001, 3)

	// Trace 7's ID says second 30, its first segment starts at 32.5: the
	// ID places it, and its exact time is taken as late in second 30 as
	// can be.
	late := mk(7, 32.5)
	late.TraceID = traceID(base.Unix()+30, 7)
	write(t, st, late)
	f(30, 31, 7)
	f(30.5, 31, 7)
	f(32, 33)
	f(30.2, 30.5)
}

// TestSampling: FixedRate keeps a deterministic share of the traces,
// PartialScan scans the newest part of the window.
func TestSampling(t *testing.T) {
	st, sums := randomStore(t)
	e := query.New(st, query.Options{PageSize: 1000})
	all, _ := pageAll(t, e, query.Query{Start: base, End: at(1000)})
	f := func(s query.Sampling, lo, hi int) []string {
		t.Helper()
		got, _ := pageAll(t, e, query.Query{Start: base, End: at(1000), Sampling: s})
		if len(got) < lo || len(got) > hi {
			t.Errorf("%v %v: %d traces, want %d to %d", s.Strategy, s.Value, len(got), lo, hi)
		}
		again, _ := pageAll(t, e, query.Query{Start: base, End: at(1000), Sampling: s})
		if !slices.Equal(got, again) {
			t.Errorf("%v %v: a second run returned other traces", s.Strategy, s.Value)
		}
		return got
	}
	f(query.Sampling{Strategy: query.FixedRate, Value: 0}, 0, 0)
	f(query.Sampling{Strategy: query.FixedRate, Value: 1}, 2000, 2000)
	tenth := f(query.Sampling{Strategy: query.FixedRate, Value: 0.1}, 160, 240)
	half := f(query.Sampling{Strategy: query.FixedRate, Value: 0.5}, 900, 1100)
	for _, id := range tenth {
		if !slices.Contains(half, id) {
			t.Errorf("%s is in the 10%% sample, not in the 50%% one", id)
		}
	}
	// The newest 30% of [0, 1000) s is [700, 1000).
	partial := f(query.Sampling{Strategy: query.PartialScan, Value: 0.3}, 0, 2000)
	want := expected(t, sums, query.Query{Start: at(700), End: at(1000)})
	if !slices.Equal(partial, want) {
		t.Errorf("PartialScan 0.3: %d traces, want the %d of [700, 1000)", len(partial), len(want))
	}
	if len(all) != 2000 {
		t.Errorf("%d traces without sampling", len(all))
	}
}

// TestLookup: trace IDs are read directly, still within the window and
// the filter.
func TestLookup(t *testing.T) {
	st := openStore(t)
	a, b, c := mk(1, 10), mk(2, 20, fault), mk(3, 30)
	write(t, st, a, b, c)
	e := query.New(st, query.Options{})
	f := func(start, end float64, expr string, want ...*summary.Summary) {
		t.Helper()
		q := query.Query{Start: at(start), End: at(end), Filter: parse(t, expr),
			TraceIDs: append(idsOf(a, b, c), traceID(base.Unix(), 99), b.TraceID)}
		p, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p); !slices.Equal(got, strs(idsOf(want...))) {
			t.Errorf("[%v, %v) %q: got %v, want %v", start, end, expr, got, strs(idsOf(want...)))
		}
		if p.NextToken != "" || p.Plan.Lookup != 5 || !strings.HasPrefix(p.Plan.String(), "lookup 5 ByStart") {
			t.Errorf("token %q, plan %s", p.NextToken, p.Plan)
		}
	}
	f(0, 100, "", c, b, a)
	f(15, 100, "", c, b)
	f(0, 100, "fault", b)
	f(25, 100, "fault")
}

// TestCursor: a NextToken only resumes the query it came from, and any
// change to it is detected.
func TestCursor(t *testing.T) {
	st, _ := randomStore(t)
	e := query.New(st, query.Options{PageSize: 5})
	q := query.Query{Start: base, End: at(1000), Filter: parse(t, "fault"),
		Sampling: query.Sampling{Strategy: query.FixedRate, Value: 0.9}}
	p, err := e.Run(context.Background(), q)
	if err != nil || p.NextToken == "" {
		t.Fatalf("first page: %v, token %q", err, p.NextToken)
	}
	token := p.NextToken
	f := func(q query.Query, want string) {
		t.Helper()
		_, err := e.Run(context.Background(), q)
		var ie *query.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("cursor %.20s…: error %v, want an InvalidError", q.Cursor, err)
			return
		}
		if !strings.Contains(ie.Msg, want) {
			t.Errorf("cursor %.20s…: message %q, want it to contain %q", q.Cursor, ie.Msg, want)
		}
	}
	resumed := q
	resumed.Cursor = token
	if _, err := e.Run(context.Background(), resumed); err != nil {
		t.Fatalf("resume: %v", err)
	}
	// The same filter spelled differently is the same query.
	respelled := resumed
	respelled.Filter = parse(t, "  FAULT = true ")
	if _, err := e.Run(context.Background(), respelled); err != nil {
		t.Errorf("resume with the filter respelled: %v", err)
	}

	other := resumed
	other.End = at(999)
	f(other, "its time range is [2024-05-01T10:00:00Z, 2024-05-01T10:16:40Z), this request's is [2024-05-01T10:00:00Z, 2024-05-01T10:16:39Z)")
	other = resumed
	other.TimeRange = query.Event
	f(other, "its TimeRangeType is TraceId, this request's is Event")
	other = resumed
	other.Filter = parse(t, "error")
	f(other, "its FilterExpression differs")
	other = resumed
	other.Sampling.Value = 0.8
	f(other, "its sampling (FixedRate 0.9) differs from this request's (FixedRate 0.8)")
	other = resumed
	other.Sampling = query.Sampling{}
	f(other, "its sampling")

	// Flip every bit of every byte of the token's text: each change is
	// rejected (or decodes to the very same token).
	for i := range token {
		for bit := range 6 {
			b := []byte(token)
			b[i] ^= 1 << bit
			if string(b) == token {
				continue
			}
			other = resumed
			other.Cursor = string(b)
			if _, err := e.Run(context.Background(), other); err == nil {
				t.Errorf("token with byte %d bit %d flipped (%q) accepted", i, bit, b)
			}
		}
	}
	for _, bad := range []string{"x", "!!!", token[:len(token)-2], token + "AA", strings.Repeat("A", len(token))} {
		other = resumed
		other.Cursor = bad
		f(other, "is not a token this server issued")
	}
	other = resumed
	other.Cursor = "Ag" + token[2:] // version 2
	f(other, "or from another version of the server")

	// A token is bound to the key it was issued with.
	rekeyed := query.New(st, query.Options{PageSize: 5, CursorKey: []byte("another key")})
	if _, err := rekeyed.Run(context.Background(), resumed); err == nil {
		t.Error("a token issued with another key was accepted")
	}
}

func TestValidate(t *testing.T) {
	st := openStore(t)
	e := query.New(st, query.Options{})
	f := func(q query.Query, want string) {
		t.Helper()
		_, err := e.Run(context.Background(), q)
		var ie *query.InvalidError
		if !errors.As(err, &ie) || ie.Msg != want {
			t.Errorf("got %v, want InvalidError %q", err, want)
		}
	}
	f(query.Query{End: at(1)}, "StartTime and EndTime are required")
	f(query.Query{Start: at(10), End: at(10)}, "EndTime (2024-05-01T10:00:10Z) must be after StartTime (2024-05-01T10:00:10Z)")
	f(query.Query{Start: at(10), End: at(5)}, "EndTime (2024-05-01T10:00:05Z) must be after StartTime (2024-05-01T10:00:10Z)")
	f(query.Query{Start: base, End: base.Add(24*time.Hour + time.Second)},
		"the time range from 2024-05-01T10:00:00Z to 2024-05-02T10:00:01Z is 24h0m1s; the longest allowed is 24h0m0s")
	f(query.Query{Start: base, End: at(1), Sampling: query.Sampling{Strategy: query.PartialScan}},
		"SamplingStrategy PartialScan needs a Value in (0, 1], not 0")
	f(query.Query{Start: base, End: at(1), Sampling: query.Sampling{Strategy: query.FixedRate, Value: 1.5}},
		"SamplingStrategy FixedRate needs a Value in [0, 1], not 1.5")
	f(query.Query{Start: base, End: at(1), TimeRange: 7}, "unknown time range type 7")

	for _, s := range []string{"", "TraceId", "Event", "Service"} {
		if _, err := query.ParseTimeRange(s); err != nil {
			t.Errorf("ParseTimeRange(%q): %v", s, err)
		}
	}
	if _, err := query.ParseTimeRange("traceid"); err == nil || err.Error() != `TimeRangeType "traceid" is not one of TraceId, Event, Service` {
		t.Errorf("ParseTimeRange(traceid): %v", err)
	}
	if _, err := query.ParseStrategy("Partial"); err == nil || err.Error() != `SamplingStrategy.Name "Partial" is not one of PartialScan, FixedRate` {
		t.Errorf("ParseStrategy(Partial): %v", err)
	}
}
