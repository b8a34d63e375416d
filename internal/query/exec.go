package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// checkEvery is how many rows pass between looks at the clock and the
// context.
const checkEvery = 64

// execute runs a planned scan until the page is full, the budget is spent
// or the window is exhausted. The first Options.SerialRows rows are judged
// in the caller's goroutine; a scan that goes on longer fans out (fanOut).
func (e *Engine) execute(ctx context.Context, q *Query, w *window, p Plan, before *store.Position) (*Page, error) {
	pg := &pager{opts: &e.opts, page: &Page{Results: []Result{}, Plan: p}, started: e.opts.Now()}
	scan := store.SummaryScan{Order: w.order, From: w.from, To: w.to, Before: before, Terms: p.Terms, Where: p.Where}
	if len(p.Where) > 0 {
		// Runs of rows skipped by Where may come folded, up to the budget.
		scan.Fold = e.opts.MaxExamined
	}
	j := judge{q: q, w: w, checks: p.Checks, scratch: new(summary.Summary)}
	handover := false
	for row, err := range e.st.ScanSummaries(ctx, scan) {
		if err != nil {
			return nil, fmt.Errorf("scan summaries %s: %w", p, err)
		}
		if pg.stop {
			pg.more = true // something is left: the next page starts here
			break
		}
		v := j.row(row.Pos, row.TraceID, row.Summary)
		v.folded = row.Folded
		if err := pg.add(ctx, &v); err != nil {
			return nil, err
		}
		if !pg.stop && e.opts.Workers > 1 && pg.read >= e.opts.SerialRows {
			handover = true
			break
		}
	}
	if handover {
		scan.Before = &pg.last
		if scan.Fold > 0 {
			// The rest of the budget: the fan-out's scan starts after
			// the rows examined so far.
			scan.Fold = max(0, e.opts.MaxExamined-int(pg.page.Examined))
		}
		if err := e.fanOut(ctx, scan, pg, q, w, p); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	page := pg.page
	page.ApproximateTime = w.start
	if pg.more {
		page.ApproximateTime = time.Unix(pg.last.Sec, 0).UTC()
		page.NextToken = newCursor(q, pg.last).encode(e.opts.CursorKey)
	}
	return page, nil
}

// verdict is what judging one row found.
type verdict struct {
	pos store.Position
	// outside: the row is in a boundary second but outside the window.
	outside bool
	// corrupt: the summary could not be decoded.
	corrupt bool
	// match is the decoded summary of a matching row.
	match     *summary.Summary
	eventTime time.Time
	// folded is the number of skipped rows the row stands for when above
	// 1 (store.SummaryRow.Folded).
	folded int
}

// judge decides rows: window, sampling, filter. Not safe for concurrent
// use; each worker has its own.
type judge struct {
	q       *Query
	w       *window
	checks  []filter.Condition
	scratch *summary.Summary
}

// row judges one row. The bytes are only read during the call.
func (j *judge) row(pos store.Position, id xrayid.TraceID, b []byte) verdict {
	v := verdict{pos: pos}
	if b == nil {
		// Skipped by the backend on a pushed-down condition: examined, no
		// match. (In a boundary second it counts even if its exact time is
		// just outside the window: the backend did not say.)
		return v
	}
	s := j.scratch
	decoded := false
	if j.w.boundary(pos.Sec) {
		if s.UnmarshalBinary(b) != nil {
			v.corrupt = true
			return v
		}
		decoded = true
		if !j.w.contains(clamp(j.w.exact(s), pos.Sec)) {
			v.outside = true
			return v
		}
	}
	if !j.w.sampled(id) {
		return v
	}
	if !decoded && s.UnmarshalBinary(b) != nil {
		v.corrupt = true
		return v
	}
	if !matches(j.q.Filter, j.checks, s) {
		return v
	}
	v.match = s
	if j.w.matchEventTime {
		v.eventTime = timeOf(clamp(j.w.exact(s), pos.Sec))
	}
	j.scratch = new(summary.Summary) // the result keeps the decoded one
	return v
}

// matches applies the cheap necessary conditions, then the filter.
func matches(f *filter.Expr, checks []filter.Condition, s *summary.Summary) bool {
	for i := range checks {
		if !checks[i].Holds(s) {
			return false
		}
	}
	return f == nil || f.Match(s)
}

// pager builds a page from verdicts taken in scan order, and decides when
// to stop. Once stop is set, the next row read (if any) sets more: the
// page ends with a NextToken at last.
type pager struct {
	opts    *Options
	page    *Page
	started time.Time
	read    int
	last    store.Position
	stop    bool
	more    bool
}

func (pg *pager) add(ctx context.Context, v *verdict) error {
	pg.last = v.pos
	if pg.read++; pg.read%checkEvery == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if pg.opts.Now().Sub(pg.started) >= pg.opts.MaxTime {
			pg.stop = true
		}
	}
	if v.outside {
		return nil
	}
	p := pg.page
	if p.Examined += int64(max(1, v.folded)); p.Examined >= int64(pg.opts.MaxExamined) {
		pg.stop = true
	}
	switch {
	case v.corrupt:
		p.Skipped++
	case v.match != nil:
		p.Results = append(p.Results, Result{Summary: v.match, Pos: v.pos, MatchedEventTime: v.eventTime})
		if len(p.Results) >= pg.opts.PageSize {
			pg.stop = true
		}
	}
	return nil
}

// lookup reads the summaries of q.TraceIDs: one page, newest first.
func (e *Engine) lookup(ctx context.Context, q *Query, w *window) (*Page, error) {
	p := Plan{Order: w.order, From: w.from, To: w.to, Lookup: len(q.TraceIDs), Estimate: -1}
	page := &Page{Results: []Result{}, Plan: p, ApproximateTime: w.start}
	var checks []filter.Condition
	if q.Filter != nil {
		checks = q.Filter.Necessary()
	}
	times := make(map[*summary.Summary]float64)
	seen := make(map[xrayid.TraceID]bool, len(q.TraceIDs))
	for row, err := range e.st.Summaries(ctx, q.TraceIDs) {
		if err != nil {
			return nil, fmt.Errorf("look up %d trace summaries: %w", len(q.TraceIDs), err)
		}
		if seen[row.TraceID] {
			continue
		}
		seen[row.TraceID] = true
		page.Examined++
		s := new(summary.Summary)
		if s.UnmarshalBinary(row.Summary) != nil {
			page.Skipped++
			continue
		}
		// A lookup's row carries the trace's placement (ByStart); its last
		// activity second is the exact time's anyway.
		t := w.exact(s)
		if w.order == store.ByStart && row.Pos.Sec != 0 {
			t = clamp(t, row.Pos.Sec)
		}
		if !w.contains(t) || !w.sampled(row.TraceID) || !matches(q.Filter, checks, s) {
			continue
		}
		r := Result{Summary: s, Pos: row.Pos}
		if w.matchEventTime {
			r.MatchedEventTime = timeOf(t)
		}
		times[s] = t
		page.Results = append(page.Results, r)
	}
	slices.SortStableFunc(page.Results, func(a, b Result) int {
		return cmp.Or(cmp.Compare(times[b.Summary], times[a.Summary]),
			cmp.Compare(string(b.Summary.TraceID[:]), string(a.Summary.TraceID[:])))
	})
	return page, nil
}
