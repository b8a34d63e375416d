package summarize

import (
	"context"
	"fmt"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// prefetch brings every trace of segs that is not in memory into memory
// with one Summaries call for all of them and one Traces call for those the
// store has a summary of. On a local store a lookup is cheap, but on a
// remote one (ClickHouse) it is a round trip: one per new trace bounded
// ingest at a few hundred traces a second (docs/clickhouse.md). A trace it
// fails to load stays out of memory, and trace resumes it alone.
func (s *Summarizer) prefetch(segs []segment.Segment) {
	var ids []xrayid.TraceID
	seen := map[xrayid.TraceID]bool{}
	for i := range segs {
		id := segs[i].TraceID
		if _, ok := s.traces[id]; ok || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	loaded, err := s.load(ids)
	if err != nil {
		s.log.Warn("batched trace lookup failed; looking traces up one by one", "traces", len(ids), "err", err)
		return
	}
	for _, id := range ids {
		tr := loaded[id]
		if tr == nil {
			tr = &trace{id: id} // never stored: nothing to resume
		}
		tr.elem = s.lru.PushBack(tr)
		s.traces[id] = tr
	}
}

// load reads what the store has of ids (none of them in memory): their
// summaries, and the documents of those that have one. Traces without a
// stored summary are left out of the result.
func (s *Summarizer) load(ids []xrayid.TraceID) (map[xrayid.TraceID]*trace, error) {
	ctx := context.Background()
	rows := map[xrayid.TraceID][]byte{}
	var found []xrayid.TraceID
	for row, err := range s.st.Summaries(ctx, ids) {
		if err != nil {
			return nil, fmt.Errorf("read %d summaries: %w", len(ids), err)
		}
		if _, ok := rows[row.TraceID]; !ok {
			found = append(found, row.TraceID)
		}
		rows[row.TraceID] = append([]byte(nil), row.Summary...)
	}
	out := make(map[xrayid.TraceID]*trace, len(found))
	if len(found) == 0 {
		return out, nil
	}
	records := map[xrayid.TraceID][]store.Record{}
	for t, err := range s.st.Traces(ctx, found) {
		if err != nil {
			return nil, fmt.Errorf("read documents of %d traces: %w", len(found), err)
		}
		records[t.ID] = t.Records
	}
	for _, id := range found {
		tr := &trace{id: id}
		s.restore(tr, rows[id], records[id])
		out[id] = tr
	}
	return out, nil
}

// resume loads what the store has of one trace that is not in memory: its
// summary (revision, last End, terms) and its documents. A trace never
// seen costs one summary lookup.
func (s *Summarizer) resume(tr *trace) error {
	ctx := context.Background()
	var stored []byte
	found := false
	for row, err := range s.st.Summaries(ctx, []xrayid.TraceID{tr.id}) {
		if err != nil {
			return fmt.Errorf("trace %s: read summary: %w", tr.id, err)
		}
		stored, found = append(stored[:0], row.Summary...), true
	}
	if !found {
		return nil
	}
	var records []store.Record
	for t, err := range s.st.Traces(ctx, []xrayid.TraceID{tr.id}) {
		if err != nil {
			return fmt.Errorf("trace %s: read documents: %w", tr.id, err)
		}
		records = t.Records
	}
	s.restore(tr, stored, records)
	return nil
}

// restore fills tr (not in memory yet) from its stored summary and
// documents.
func (s *Summarizer) restore(tr *trace, stored []byte, records []store.Record) {
	var prev summary.Summary
	readable := true
	if err := prev.UnmarshalBinary(stored); err != nil {
		// A summary we cannot read is rebuilt from the documents (its
		// service-graph counts cannot be taken back: they may count
		// twice).
		s.log.Warn("unreadable stored summary; rebuilding it", "trace_id", tr.id.String(), "err", err)
		readable = false
	}
	s.reloads.Inc()
	tr.revision, tr.end = prev.Revision, endSecond(&prev)
	tr.written = s.index.Terms(&prev, nil)
	if readable {
		// What the stored revision counted, with today's groups (a group
		// changed since then is re-attributed from this revision on).
		tr.keepGraph(s.contributions(&prev))
	}
	for _, r := range records {
		segs, err := s.dec.Decode(nil, r.Doc)
		if err != nil {
			continue // stored documents were valid when accepted; skip what no longer decodes
		}
		for i := range segs {
			d := segs[i]
			d.Raw = nil
			tr.docs = append(tr.docs, summary.Doc{Seg: &d, Received: r.Received})
			tr.entities += len(d.Entities)
			s.entities += len(d.Entities)
		}
	}
	// What the stored revision counted in the profiles: the same
	// documents, resolved again.
	s.builder.Build(tr.id, tr.docs, tr.revision)
	tr.prof = s.profile()
}
