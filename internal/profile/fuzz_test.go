package profile_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// FuzzInvocations breaks down traces made of arbitrary documents (one per
// line): whatever they hold, times are finite, self time never exceeds
// a part's time, and counters are finite.
func FuzzInvocations(f *testing.F) {
	for _, cold := range []bool{true, false} {
		docs := lambdaDocs(cold)
		f.Add([]byte(docs[0] + "\n" + docs[1] + "\n" + docs[2]))
	}
	f.Add([]byte(`{"trace_id":"` + traceID + `","id":"0000000000000001","name":"s","start_time":1e9,"end_time":1e9,
	"subsegments":[{"id":"0000000000000002","name":"a","start_time":2e9,"in_progress":true}]}`))
	id := xrayid.MustParseTraceID(traceID)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := segment.NewDecoder(0)
		var docs []summary.Doc
		for i, line := range bytes.Split(data, []byte("\n")) {
			segs, err := dec.Decode(nil, line)
			if err != nil {
				continue
			}
			for k := range segs {
				docs = append(docs, summary.Doc{Seg: &segs[k], Received: int64(i)})
			}
		}
		var b summary.Builder
		b.Build(id, docs, 0)
		tree := b.Tree(nil)
		for _, inv := range profile.Invocations(tree) {
			for _, p := range inv.Parts {
				if math.IsNaN(p.Total) || math.IsInf(p.Total, 0) || math.IsNaN(p.Self) || p.Self < 0 || p.Self > p.Total {
					t.Fatalf("part %q: total %v self %v", p.Key, p.Total, p.Self)
				}
			}
		}
		for _, c := range profile.Contributions(tree) {
			for _, v := range c.Values {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					t.Fatalf("counter %d of %q: %v", v.Index, c.Key, v.Value)
				}
			}
		}
	})
}
