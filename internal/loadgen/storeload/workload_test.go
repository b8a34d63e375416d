package storeload

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestWorkload(t *testing.T) {
	start := time.Unix(1764067200, 0)
	a, b := NewWorkload(1, start), NewWorkload(1, start)
	// Fewer traces in flight than the default rate keeps: faster, and the
	// same code path.
	a.SetRate(500)
	b.SetRate(500)
	const n = 5000
	total := 0
	traces := map[xrayid.TraceID]int{}
	var last int64
	for i := range n {
		r, r2 := a.Next(), b.Next()
		if r.TraceID != r2.TraceID || r.ID != r2.ID || r.Received != r2.Received || !bytes.Equal(r.Doc, r2.Doc) {
			t.Fatalf("record %d differs between two workloads with the same seed", i)
		}
		var d struct {
			TraceID string `json:"trace_id"`
			ID      string `json:"id"`
			Name    string `json:"name"`
		}
		if err := json.Unmarshal(r.Doc, &d); err != nil {
			t.Fatalf("record %d: %v in %s", i, err, r.Doc)
		}
		if d.TraceID != r.TraceID.String() || d.ID != r.ID.String() || d.Name == "" {
			t.Fatalf("record %d: document names trace %q id %q name %q, record says %s %s", i, d.TraceID, d.ID, d.Name, r.TraceID, r.ID)
		}
		if r.Received < last {
			t.Fatalf("record %d arrives at %d, before the previous one (%d)", i, r.Received, last)
		}
		last = r.Received
		total += len(r.Doc)
		traces[r.TraceID]++
	}
	if avg := total / n; avg < 1100 || avg > 1500 {
		t.Errorf("documents average %d bytes, want about 1.3 KB", avg)
	}
	// The "large" scenario's traces are several documents each (services,
	// streamed subsegments), so a batch holds parts of many traces.
	if per := float64(n) / float64(len(traces)); per < 2 || per > 8 {
		t.Errorf("%.1f documents per trace, want 2–8", per)
	}
}

func TestSummaryWorkload(t *testing.T) {
	w := NewSummaryWorkload(1, time.Unix(1764067200, 0))
	w.SetRate(500)
	ends := map[xrayid.TraceID]int64{}
	for range 10 {
		b, err := w.Batch(500)
		if err != nil {
			t.Fatal(err)
		}
		inBatch := map[xrayid.TraceID]bool{}
		for _, r := range b.Records {
			inBatch[r.TraceID] = true
		}
		for i, r := range b.Summaries {
			if !inBatch[r.TraceID] {
				t.Fatalf("summary %d: trace %s has no record in the batch", i, r.TraceID)
			}
			delete(inBatch, r.TraceID) // one summary per trace
			if r.PrevEnd != ends[r.TraceID] {
				t.Fatalf("summary %d of trace %s: PrevEnd %d, want %d", i, r.TraceID, r.PrevEnd, ends[r.TraceID])
			}
			ends[r.TraceID] = r.End
			var s summary.Summary
			if err := s.UnmarshalBinary(r.Summary); err != nil || s.TraceID != r.TraceID {
				t.Fatalf("summary %d of trace %s: %v (trace %s)", i, r.TraceID, err, s.TraceID)
			}
			if r.End < int64(r.TraceID.Epoch()) || r.End > int64(r.TraceID.Epoch())+60 {
				t.Fatalf("summary %d of trace %s ends at %d", i, r.TraceID, r.End)
			}
		}
		if len(inBatch) != 0 {
			t.Fatalf("%d traces of the batch without a summary", len(inBatch))
		}
	}
	perTrace := float64(w.Terms) / float64(len(ends))
	t.Logf("%d summaries of %d traces, %.1f terms per trace, %d B per summary",
		w.Summaries, len(ends), perTrace, w.SummaryBytes/w.Summaries)
	if perTrace < 10 || perTrace > 60 {
		t.Errorf("%.1f terms per trace: the indexer changed, or the workload", perTrace)
	}
}
