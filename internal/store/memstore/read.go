package memstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Every reader below copies what it yields while holding the lock and
// yields with the lock released: the loop body may read and write the store
// (the suite does), and an abandoned iteration holds nothing. Before each
// yield the context is checked, so a cancellation stops the iteration at the
// next step with the context's error.

// Traces yields each requested trace with records once, in request order,
// its records sorted by Received with ties in write order (Trace.Records).
// A lookup is a map access: its cost does not grow with the store.
func (s *Store) Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*store.Trace, error] {
	return func(yield func(*store.Trace, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(nil, err)
			return
		}
		seen := map[xrayid.TraceID]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			tr := s.trace(id)
			if tr == nil {
				continue
			}
			if err := s.check(ctx); err != nil {
				yield(nil, err)
				return
			}
			if !yield(tr, nil) {
				return
			}
		}
	}
}

// trace returns a copy of trace id's records, or nil if it has none.
func (s *Store) trace(id xrayid.TraceID) *store.Trace {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	t := s.d.traces[id]
	if t == nil || len(t.recs) == 0 {
		return nil
	}
	recs := make([]store.Record, len(t.recs))
	for i, r := range t.recs {
		r.Doc = bytes.Clone(r.Doc) // the caller's to mutate
		recs[i] = r
	}
	slices.SortStableFunc(recs, func(a, b store.Record) int { return cmp.Compare(a.Received, b.Received) })
	return &store.Trace{ID: id, Records: recs}
}

// Summaries yields the summary of each requested trace that has one, once,
// in request order; Pos is its ByStart position.
func (s *Store) Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.SummaryRow{}, err)
			return
		}
		seen := map[xrayid.TraceID]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			row, ok := s.summary(id)
			if !ok {
				continue
			}
			if err := s.check(ctx); err != nil {
				yield(store.SummaryRow{}, err)
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

func (s *Store) summary(id xrayid.TraceID) (store.SummaryRow, bool) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	t := s.d.traces[id]
	if t == nil || t.summary == nil {
		return store.SummaryRow{}, false
	}
	return store.SummaryRow{Pos: store.Position{Sec: t.sec, TraceID: id}, TraceID: id, Summary: bytes.Clone(t.summary)}, true
}

// ScanSummaries yields the summaries with From <= Sec < To, strictly before
// q.Before, newest first, in pages of scanPage rows copied under the lock;
// each page resumes strictly before the last row of the previous one, so
// positions only descend and memory stays bounded. Terms restrict a ByStart
// scan to the traces indexed under any of them; each trace has one
// position, so it comes at most once. ByEnd scans with terms are refused,
// as the contract allows terms "only for ByStart".
//
// A scan is not a snapshot (the contract does not ask for one): a revision
// written while a ByEnd scan runs moves its trace, which the scan then
// misses if it moved above the page boundary, or meets a second time if it
// moved below it. Positions still only descend.
func (s *Store) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.SummaryRow{}, err)
			return
		}
		if q.Order != store.ByStart && q.Order != store.ByEnd {
			yield(store.SummaryRow{}, fmt.Errorf("%w: unknown scan order %d", errBadQuery, q.Order))
			return
		}
		if q.Order == store.ByEnd && len(q.Terms) > 0 {
			yield(store.SummaryRow{}, fmt.Errorf("%w: index terms restrict only ByStart scans: %w", errBadQuery, errors.ErrUnsupported))
			return
		}
		if q.From >= q.To {
			return
		}
		// Every position at or after {To, zero ID} has Sec >= To.
		bound := store.Position{Sec: q.To}
		if q.Before != nil && q.Before.Less(bound) {
			bound = *q.Before
		}
		for {
			page, more := s.scanPage(q, bound)
			for _, row := range page {
				if err := s.check(ctx); err != nil {
					yield(store.SummaryRow{}, err)
					return
				}
				if !yield(row, nil) {
					return
				}
			}
			if !more {
				return
			}
			bound = page[len(page)-1].Pos
		}
	}
}

// scanPage returns up to scanPage rows of q strictly before bound, newest
// first, and whether there may be more.
func (s *Store) scanPage(q store.SummaryScan, bound store.Position) ([]store.SummaryRow, bool) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	idx := d.byStart
	if q.Order == store.ByEnd {
		idx = d.byEnd
	}
	var page []store.SummaryRow
	for i := idx.search(bound) - 1; i >= 0 && idx[i].Sec >= q.From; i-- {
		p := idx[i]
		if len(q.Terms) > 0 && !slices.ContainsFunc(q.Terms, func(term store.Term) bool {
			_, ok := d.terms[term][p.TraceID]
			return ok
		}) {
			continue
		}
		row := store.SummaryRow{Pos: p, TraceID: p.TraceID}
		if holds(q.Where, &d.traces[p.TraceID].fields) {
			row.Summary = bytes.Clone(d.traces[p.TraceID].summary)
		}
		page = append(page, row)
		if len(page) == scanPage {
			return page, true
		}
	}
	return page, false
}

// holds reports whether f meets every condition of where.
func holds(where []store.FieldCond, f *store.SummaryFields) bool {
	for _, c := range where {
		if !c.Holds(f) {
			return false
		}
	}
	return true
}

// PushesDown implements store.PushDown: a scan skips the rows that do not
// meet Where, on every field (the reference semantics, FieldCond.Holds).
func (s *Store) PushesDown(store.Field) bool { return true }

// Unindexed implements store.IndexPolicy as the ClickHouse backend does
// (store.UnindexedWhenPushedDown), so that the tests on this fast backend
// take the planner's paths without those terms.
func (s *Store) Unindexed(f store.Field) bool { return store.UnindexedWhenPushedDown(f) }

// EstimateTerms implements store.TermEstimator exactly: the distinct
// traces under any of terms placed in [from, to), up to limit.
func (s *Store) EstimateTerms(ctx context.Context, terms []store.Term, from, to int64, limit int) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[xrayid.TraceID]bool{}
	for _, term := range terms {
		for id := range d.terms[term] {
			if len(seen) >= limit {
				return limit, nil
			}
			if sec := d.traces[id].sec; sec >= from && sec < to {
				seen[id] = true
			}
		}
	}
	return min(len(seen), limit), nil
}

// CountTerm counts the traces indexed under term whose placement second is
// in [from, to), stopping at limit.
func (s *Store) CountTerm(ctx context.Context, term store.Term, from, to int64, limit int) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for id := range d.terms[term] {
		if n >= limit {
			break
		}
		if sec := d.traces[id].sec; sec >= from && sec < to {
			n++
		}
	}
	return n, nil
}

// GraphCounters yields the nonzero sums of group in [fromMinute, toMinute),
// by minute then key bytewise. Zero sums were deleted when written, so every
// stored row has a value.
func (s *Store) GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[store.GraphRow, error] {
	return func(yield func(store.GraphRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.GraphRow{}, err)
			return
		}
		for _, row := range s.graphRows(group, fromMinute, toMinute) {
			if err := s.check(ctx); err != nil {
				yield(store.GraphRow{}, err)
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

func (s *Store) graphRows(group string, from, to int64) []store.GraphRow {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	var rows []store.GraphRow
	for m, keys := range d.graph[group] {
		if m < from || m >= to {
			continue
		}
		for k, vals := range keys {
			r := store.GraphRow{Minute: m, Key: k, Values: make([]store.Counter, 0, len(vals))}
			for i, v := range vals {
				r.Values = append(r.Values, store.Counter{Index: i, Value: v})
			}
			slices.SortFunc(r.Values, func(a, b store.Counter) int { return cmp.Compare(a.Index, b.Index) })
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b store.GraphRow) int {
		return cmp.Or(cmp.Compare(a.Minute, b.Minute), strings.Compare(a.Key, b.Key))
	})
	return rows
}

// Logs yields the lines q selects, oldest first, ties in write order (the
// order logLines keeps). Exactly one of TraceID, RequestID and Function must
// be set, and Limit must not be negative.
func (s *Store) Logs(ctx context.Context, q store.LogQuery) iter.Seq2[logs.Record, error] {
	return func(yield func(logs.Record, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(logs.Record{}, err)
			return
		}
		set := 0
		for _, f := range []string{q.TraceID, q.RequestID, q.Function} {
			if f != "" {
				set++
			}
		}
		if set != 1 {
			yield(logs.Record{}, fmt.Errorf("%w: a log query needs exactly one of trace ID, request ID and function, got %d", errBadQuery, set))
			return
		}
		if q.Limit < 0 {
			yield(logs.Record{}, fmt.Errorf("%w: negative log limit %d", errBadQuery, q.Limit))
			return
		}
		for _, l := range s.logLines(q) {
			if err := s.check(ctx); err != nil {
				yield(logs.Record{}, err)
				return
			}
			if !yield(l, nil) {
				return
			}
		}
	}
}

func (s *Store) logLines(q store.LogQuery) []logs.Record {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []logs.Record
	for _, l := range d.logLines {
		switch {
		case q.TraceID != "" && l.TraceID != q.TraceID,
			q.RequestID != "" && l.RequestID != q.RequestID,
			q.Function != "" && l.Function != q.Function,
			!q.From.IsZero() && l.Time.Before(q.From),
			!q.To.IsZero() && !l.Time.Before(q.To):
			continue
		}
		out = append(out, l)
		if len(out) == q.Limit {
			break
		}
	}
	return out
}

// GetMeta returns a copy of key's value.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	v, ok := s.d.meta[key]
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(v), true, nil
}

// PutMeta stores a copy of value.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.meta[key] = v
	return nil
}

// DeleteMeta removes key; an absent key is not an error.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	delete(s.d.meta, key)
	return nil
}

// ListMeta yields copies of the entries with prefix, in key order.
func (s *Store) ListMeta(ctx context.Context, prefix string) iter.Seq2[store.MetaEntry, error] {
	return func(yield func(store.MetaEntry, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.MetaEntry{}, err)
			return
		}
		for _, e := range s.metaEntries(prefix) {
			if err := s.check(ctx); err != nil {
				yield(store.MetaEntry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (s *Store) metaEntries(prefix string) []store.MetaEntry {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	var out []store.MetaEntry
	for k, v := range s.d.meta {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.MetaEntry{Key: k, Value: bytes.Clone(v)})
		}
	}
	slices.SortFunc(out, func(a, b store.MetaEntry) int { return strings.Compare(a.Key, b.Key) })
	return out
}
