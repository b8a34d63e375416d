package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestWorkload(t *testing.T) {
	start := time.Unix(1764067200, 0)
	a, b := NewWorkload(1, start), NewWorkload(1, start)
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
	if per := float64(n) / float64(len(traces)); per < 2 || per > 4 {
		t.Errorf("%.1f segments per trace, want 2–4", per)
	}
}
