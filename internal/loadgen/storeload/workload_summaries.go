package storeload

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// SetRate sets how many traces start per second of workload time (default
// 10,000). A lower rate spreads the same number of traces over more time.
func (w *Workload) SetRate(tracesPerSecond float64) { w.rate = tracesPerSecond }

// SummaryWorkload adds to a Workload's batches what the ingest summarizer
// would send with them: for each trace a batch touches, its new summary
// (rebuilt from every document of the trace so far, binary-encoded), its End
// and PrevEnd, and the index terms not yet written for it.
//
// It remembers a trace until no document of it has arrived for Quiet
// (workload time); a later document starts the trace afresh, as a trace
// reloaded by the summarizer would (with PrevEnd 0). Not safe for concurrent
// use.
type SummaryWorkload struct {
	*Workload
	// Quiet is how long a trace is remembered after its last document.
	// Default 2 s: the workload's traces send everything within a second.
	Quiet time.Duration

	dec    *segment.Decoder
	b      summary.Builder
	traces map[xrayid.TraceID]*traceState
	terms  []store.Term
	segs   []segment.Segment
	// index is which terms the store is given (ForStore); zero: all.
	index index.Policy

	// Totals, for benchmarks: summaries and terms emitted, encoded bytes.
	Summaries, Terms, SummaryBytes int
}

type traceState struct {
	docs  []summary.Doc
	rev   uint32
	end   int64
	terms []store.Term // sorted
	last  int64
}

// ForStore makes the workload send the index terms the summarizer gives st
// (index.For: a store that pushes some fields down gets none for them).
func (w *SummaryWorkload) ForStore(st any) { w.index = index.For(st) }

// NewSummaryWorkload returns a summary workload over NewWorkload(seed, start).
func NewSummaryWorkload(seed uint64, start time.Time) *SummaryWorkload {
	return &SummaryWorkload{
		Workload: NewWorkload(seed, start),
		Quiet:    2 * time.Second,
		dec:      segment.NewDecoder(0),
		traces:   map[xrayid.TraceID]*traceState{},
	}
}

// Batch returns the next n records with the summaries of their traces.
func (w *SummaryWorkload) Batch(n int) (*store.Batch, error) {
	b := w.Workload.Batch(n)
	var touched []xrayid.TraceID
	var latest int64
	for i := range b.Records {
		r := &b.Records[i]
		latest = max(latest, r.Received)
		segs, err := w.dec.Decode(w.segs[:0], r.Doc)
		if err != nil {
			return nil, fmt.Errorf("decode record %d of the batch (trace %s): %w", i, r.TraceID, err)
		}
		t := w.traces[r.TraceID]
		if t == nil {
			t = &traceState{}
			w.traces[r.TraceID] = t
		}
		if t.last != -1 {
			touched = append(touched, r.TraceID)
			t.last = -1 // marks it touched
		}
		for k := range segs {
			seg := segs[k] // the decoder reuses segs; the summary keeps its own
			t.docs = append(t.docs, summary.Doc{Seg: &seg, Received: r.Received})
		}
	}
	for _, id := range touched {
		t := w.traces[id]
		t.last = latest
		s := w.b.Build(id, t.docs, t.rev)
		t.rev = s.Revision
		rec := store.SummaryRecord{TraceID: id, PrevEnd: t.end, Summary: s.AppendBinary(nil)}
		rec.End = int64(math.Ceil(s.End))
		if s.End == 0 {
			rec.End = s.LastSeen / int64(time.Second)
		}
		t.end = rec.End
		w.terms = w.index.Terms(s, w.terms)
		for _, term := range w.terms {
			if _, found := slices.BinarySearch(t.terms, term); !found {
				rec.Terms = append(rec.Terms, term)
			}
		}
		if len(rec.Terms) > 0 {
			t.terms = append(t.terms, rec.Terms...)
			slices.Sort(t.terms)
		}
		b.Summaries = append(b.Summaries, rec)
		w.Summaries++
		w.Terms += len(rec.Terms)
		w.SummaryBytes += len(rec.Summary)
	}
	for id, t := range w.traces {
		if t.last < latest-int64(w.Quiet) {
			delete(w.traces, id)
		}
	}
	return b, nil
}
