package profile_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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

var (
	benchTraces = flag.Int("profile.traces", 3600, "traces written over the hour BenchmarkRead reads")
	benchDir    = flag.String("profile.dir", "", "directory of BenchmarkRead's stores, reused when it holds the same load (default: new temporary directories)")
)

// BenchmarkRead is the breakdown of the busiest service of an hour of
// `large` traces (-profile.traces, in batches of 100 as the summarizer
// writes them), read from the counters. A minute holds one row per (part,
// class) whatever the number of traces; what grows with the traces is the
// number of merge operands per row until Pebble compacts them:
// store=pebble reads them as written, store=pebble-compacted after a
// compaction (the state of minutes older than a few).
//
// The goal, 1 M traces in the hour, building the stores once
// (they are reused by later runs; remove the directory after a change of
// the counters' format):
//
//	go test -run '^$' -bench BenchmarkRead -benchtime 20x -timeout 3h ./internal/profile \
//	    -args -profile.traces 1000000 -profile.dir /var/tmp/counterspy-profile-1m
//
// Each sub-benchmark reports the p50 and p99 latency of one Read (ms).
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
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	traces := *benchTraces
	dir := b.TempDir()
	name := "raw"
	if compacted {
		name = "compacted"
	}
	reuse := false
	want := fmt.Sprintf("scenario=large seed=5 traces=%d start=%s\n", traces, start.Format(time.RFC3339))
	meta := ""
	if *benchDir != "" {
		dir = filepath.Join(*benchDir, name)
		meta = filepath.Join(dir, "counterspy-profile-bench")
		have, err := os.ReadFile(meta)
		switch {
		case err == nil && !strings.HasPrefix(string(have), want):
			b.Fatalf("%s holds another load (%q, want %q): remove the directory or choose another", dir, have, want)
		case err != nil && !os.IsNotExist(err):
			b.Fatal(err)
		}
		reuse = err == nil
	}
	st, err := pebblestore.Open(dir, pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var service string
	if reuse {
		have, err := os.ReadFile(meta)
		if err != nil {
			b.Fatal(err)
		}
		service = strings.TrimSpace(strings.TrimPrefix(string(have), want))
	} else {
		began := time.Now()
		service = benchLoad(b, st, start, traces, compacted)
		b.Logf("built %d traces' counters in %s", traces, time.Since(began).Round(time.Second))
		if meta != "" {
			if err := os.WriteFile(meta, []byte(want+service+"\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	var p *profile.Profile
	var lat []time.Duration
	for range b.N {
		t0 := time.Now()
		if p, err = profile.Read(context.Background(), st, service, start, start.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	if p.All.Invocations == 0 {
		b.Fatal("no invocations")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(ms(lat[(len(lat)-1)/2]), "p50-ms")
	b.ReportMetric(ms(lat[int(math.Ceil(0.99*float64(len(lat))))-1]), "p99-ms")
	b.ReportMetric(float64(len(p.All.Parts)), "parts")
	b.ReportMetric(float64(p.All.Invocations), "invocations")
}

// benchLoad writes the profile counters of traces `large` traces over the
// hour from start, and returns the busiest service.
func benchLoad(b *testing.B, st *pebblestore.Store, start time.Time, traces int, compacted bool) string {
	sc, err := loadgen.New("large", 5)
	if err != nil {
		b.Fatal(err)
	}
	dec := segment.NewDecoder(0)
	var bld summary.Builder
	busiest := map[string]int{}
	var batch store.Batch
	var tree []summary.TreeEntity
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
		tree = bld.Tree(tree[:0])
		cs := profile.Contributions(tree)
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
	return groups[0][len(profile.GroupPrefix):]
}
