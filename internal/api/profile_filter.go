package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The bounds of a profile of a filter expression, which reads the
// matching traces' documents (variables so a test can make them small).
var (
	profileMaxTraces = 2000
	profileMaxTime   = 10 * time.Second
)

// profileOfFilter is the profile of service over the traces that match
// expr and started in [start, end): the newest profileMaxTraces of them,
// resolved from their documents as the summarizer resolves them.
func (a *API) profileOfFilter(ctx context.Context, service, expr string, start, end time.Time) (*profile.Profile, error) {
	f, err := filter.Parse(expr, filter.Options{Group: a.opts.Groups})
	if err != nil {
		return nil, invalid("%v", err)
	}
	began := time.Now()
	sample := &profile.Sample{Filter: expr, Complete: true}
	var ids []xrayid.TraceID
	err = a.scanDays(ctx, query.Query{TimeRange: query.TraceID, Filter: f}, start, end, 1000, func(page *query.Page) bool {
		for _, r := range page.Results {
			if len(ids) == profileMaxTraces {
				sample.Complete = false
				sample.Note = fmt.Sprintf("a sample: the newest %d matching traces (from %s)", len(ids), fmtRFC3339(page.ApproximateTime))
				return false
			}
			ids = append(ids, r.Summary.TraceID)
		}
		if page.NextToken != "" && time.Since(began) >= profileMaxTime {
			sample.Complete = false
			sample.Note = fmt.Sprintf("a sample: the scan's time budget ran out after %d matching traces", len(ids))
			return false
		}
		return true
	})
	if err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return nil, err
		}
		return nil, fmt.Errorf("profile of %q where %s: %w", service, expr, err)
	}
	var invs []profile.Invocation
	err = a.traceInvocations(ctx, ids, func(_ xrayid.TraceID, found []profile.Invocation) bool {
		for _, inv := range found {
			if inv.Service == service {
				invs = append(invs, inv)
			}
		}
		sample.Traces++
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("profile of %q where %s: %w", service, expr, err)
	}
	p := profile.FromInvocations(service, start, end, invs)
	p.Sample = sample
	return p, nil
}

// traceInvocations resolves the stored documents of each trace of ids as
// the summarizer does and passes its invocations to fn, until fn returns
// false.
func (a *API) traceInvocations(ctx context.Context, ids []xrayid.TraceID, fn func(xrayid.TraceID, []profile.Invocation) bool) error {
	dec := segment.NewDecoder(0)
	var b summary.Builder
	var tree []summary.TreeEntity
	for t, err := range a.store.Traces(ctx, ids) {
		if err != nil {
			return fmt.Errorf("read traces: %w", err)
		}
		var docs []summary.Doc
		for _, r := range t.Records {
			segs, err := dec.Decode(nil, r.Doc)
			if err != nil {
				continue // stored documents were valid when accepted
			}
			for i := range segs {
				docs = append(docs, summary.Doc{Seg: &segs[i], Received: r.Received})
			}
		}
		b.Build(t.ID, docs, 0)
		tree = b.Tree(tree[:0])
		if !fn(t.ID, profile.Invocations(tree)) {
			return nil
		}
	}
	return nil
}
