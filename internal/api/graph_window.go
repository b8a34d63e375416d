package api

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// The service graph of an exact window. The counters are per minute, so
// the minutes the window covers whole are read from them, and a minute it
// covers in part is computed from the summaries of the traces active then:
// the calls that ended in the covered part (or started in it, while in
// progress), as the counters would have counted them. The traces read are
// those whose last activity falls in the part or up to edgeSlack after it:
// a call of a trace that went on longer than that after the window's edge
// is not counted. (A longer slack costs reading more summaries: every
// minute of it is a minute of traces decoded, twice per window.)

// edgeSlack is how long after a partial minute a trace's last activity may
// be for its calls in the minute to count.
const edgeSlack = 60 // seconds

// windowRows adds to agg the graph of group over [from, to) seconds.
func (a *API) windowRows(ctx context.Context, grp graphGroup, from, to float64, agg *graph.Aggregator) error {
	firstWhole := int64(math.Ceil(from / 60))
	endWhole := int64(math.Floor(to / 60))
	if firstWhole >= endWhole {
		// Inside one minute, or across one minute boundary with no whole
		// minute: the parts are computed.
		return a.partialRows(ctx, grp, from, to, agg)
	}
	for row, err := range a.graph.GraphCounters(ctx, grp.counters, firstWhole, endWhole) {
		if err != nil {
			return fmt.Errorf("read service graph counters: %w", err)
		}
		agg.Add(row)
	}
	if lo := float64(firstWhole * 60); from < lo {
		if err := a.partialRows(ctx, grp, from, lo, agg); err != nil {
			return err
		}
	}
	if hi := float64(endWhole * 60); to > hi {
		if err := a.partialRows(ctx, grp, hi, to, agg); err != nil {
			return err
		}
	}
	return nil
}

// partialRows adds the contributions of the calls in [lo, hi).
func (a *API) partialRows(ctx context.Context, grp graphGroup, lo, hi float64, agg *graph.Aggregator) error {
	scan := store.SummaryScan{Order: store.ByEnd, From: int64(math.Floor(lo)), To: int64(math.Ceil(hi)) + edgeSlack}
	var cr graph.Contributor
	var out []graph.Contribution
	for row, err := range a.summaries.ScanSummaries(ctx, scan) {
		if err != nil {
			return fmt.Errorf("read trace summaries: %w", err)
		}
		s := new(summary.Summary)
		if err := s.UnmarshalBinary(row.Summary); err != nil {
			continue
		}
		if grp.counters != "" && (a.opts.Registry == nil || !slices.Contains(a.opts.Registry.Match(s), grp.counters)) {
			continue
		}
		if !clipCalls(s, lo, hi) {
			continue
		}
		cr.Reset()
		out = cr.Append(out[:0], s, nil)
		for _, c := range out {
			if c.Group == "" {
				agg.Add(store.GraphRow{Minute: c.Minute, Key: c.Key, Values: c.Values})
			}
		}
	}
	return nil
}

// clipCalls keeps in s only the requests and calls counted in [lo, hi),
// and reports whether any is left.
func clipCalls(s *summary.Summary, lo, hi float64) bool {
	in := func(c summary.Call) bool {
		t := c.End
		if c.InProgress || c.End == 0 {
			t = c.Start
		}
		return t >= lo && t < hi
	}
	any := false
	for i := range s.Nodes {
		n := &s.Nodes[i]
		n.Requests = slices.DeleteFunc(n.Requests, func(c summary.Call) bool { return !in(c) })
		any = any || len(n.Requests) > 0
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		e.Calls = slices.DeleteFunc(e.Calls, func(c summary.Call) bool { return !in(c) })
		any = any || len(e.Calls) > 0
	}
	return any
}
