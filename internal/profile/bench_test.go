package profile_test

import (
	"context"
	"flag"
	"sort"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summary"
)

var benchTraces = flag.Int("profile.traces", 3600, "traces written over the hour BenchmarkRead reads")

// BenchmarkRead is the breakdown of the busiest service of an hour of
// `large` traces (-profile.traces, in batches of 100 as the summarizer
// writes them), read from the counters. A minute holds one row per (part,
// class) whatever the number of traces; what grows with the traces is the
// number of merge operands per row until Pebble compacts them:
// store=pebble reads them as written, store=pebble-compacted after a
// compaction (the state of minutes older than a few).
func BenchmarkRead(b *testing.B) {
	for _, compacted := range []bool{false, true} {
		name := "store=pebble"
		if compacted {
			name += "-compacted"
		}
		b.Run(name, func(b *testing.B) { benchRead(b, compacted) })
	}
}

func benchRead(b *testing.B, compacted bool) {
	st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sc, err := loadgen.New("large", 5)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	traces := *benchTraces
	dec := segment.NewDecoder(0)
	var bld summary.Builder
	busiest := map[string]int{}
	var batch store.Batch
	for i := range traces {
		tr := sc.Trace(i, start.Add(time.Duration(i)*time.Hour/time.Duration(traces)))
		var docs []summary.Doc
		for _, d := range tr.Docs {
			segs, err := dec.Decode(nil, d.JSON)
			if err != nil {
				b.Fatal(err)
			}
			for k := range segs {
				docs = append(docs, summary.Doc{Seg: &segs[k], Received: d.At.UnixNano()})
			}
		}
		bld.Build(tr.ID, docs, 0)
		cs := profile.Contributions(bld.Tree(nil))
		for _, c := range cs {
			busiest[c.Group]++
		}
		batch.Graph = append(batch.Graph, graph.Diff(nil, cs)...)
		if i%100 == 99 {
			batch.Graph = graph.MergeDeltas(batch.Graph)
			if err := st.Write(context.Background(), &batch); err != nil {
				b.Fatal(err)
			}
			batch.Graph = nil
		}
	}
	if len(batch.Graph) > 0 {
		if err := st.Write(context.Background(), &batch); err != nil {
			b.Fatal(err)
		}
	}
	if compacted {
		if err := st.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	groups := make([]string, 0, len(busiest))
	for g := range busiest {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return busiest[groups[i]] > busiest[groups[j]] })
	service := groups[0][len(profile.GroupPrefix):]
	b.ResetTimer()
	var p *profile.Profile
	for range b.N {
		if p, err = profile.Read(context.Background(), st, service, start, start.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if p.All.Invocations == 0 {
		b.Fatal("no invocations")
	}
	b.ReportMetric(float64(len(p.All.Parts)), "parts")
	b.ReportMetric(float64(p.All.Invocations), "invocations")
}
