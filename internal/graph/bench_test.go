package graph_test

import (
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/graph/graphtest"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

var (
	hourOnce sync.Once
	hour     *graphtest.Workload
	hourErr  error
)

// largeHour is one hour of a million traces of the large scenario (20,000
// of them distinct), built once per process.
func largeHour(b *testing.B) *graphtest.Workload {
	hourOnce.Do(func() { hour, hourErr = graphtest.LargeHour(1_000_000, 20_000) })
	if hourErr != nil {
		b.Fatal(hourErr)
	}
	return hour
}

// BenchmarkServiceGraphHour sums the counter rows that a million traces
// make in an hour into the service graph: GetServiceGraph's work besides
// reading the rows and encoding JSON.
func BenchmarkServiceGraphHour(b *testing.B) {
	w := largeHour(b)
	var n int
	for b.Loop() {
		var a graph.Aggregator
		for _, r := range w.Rows {
			a.Add(r)
		}
		n = len(a.Services(float64(w.FromMinute*60), float64(w.ToMinute*60)))
	}
	b.ReportMetric(float64(n), "services")
	b.ReportMetric(float64(len(w.Rows)), "rows")
	b.ReportMetric(float64(w.Counters), "counters")
}

// BenchmarkTimeSeriesHour is GetTimeSeriesServiceStatistics over the same
// hour, without a selector (the client edges), in 5-minute periods.
func BenchmarkTimeSeriesHour(b *testing.B) {
	w := largeHour(b)
	for b.Loop() {
		s := graph.NewSeries(graph.ClientEdges, 300)
		for _, r := range w.Rows {
			s.Add(r)
		}
		s.Points()
	}
}

// BenchmarkIngest is the graph step of the summarizer per trace revision
// (large scenario): contributions, the diff from the previous revision, and
// a share of merging a batch of 1,000 traces' deltas.
func BenchmarkIngest(b *testing.B) {
	sums := largeSummaries(b, 1000)
	var batch []store.GraphDelta
	i := 0
	for b.Loop() {
		s := sums[i%len(sums)]
		i++
		batch = append(batch, graph.Diff(nil, graph.Contributions(s, nil))...)
		if len(batch) > 0 && i%len(sums) == 0 {
			batch = graph.MergeDeltas(batch)[:0]
		}
	}
}

func largeSummaries(b *testing.B, n int) []*summary.Summary {
	sc, err := loadgen.New("large", 1)
	if err != nil {
		b.Fatal(err)
	}
	dec := segment.NewDecoder(0)
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var out []*summary.Summary
	for i := range n {
		tr := sc.Trace(i, start)
		var docs []summary.Doc
		for _, d := range tr.Docs {
			segs, err := dec.Decode(nil, d.JSON)
			if err != nil {
				b.Fatal(err)
			}
			for j := range segs {
				s := segs[j]
				docs = append(docs, summary.Doc{Seg: &s, Received: d.At.UnixNano()})
			}
		}
		out = append(out, summary.Build(tr.ID, docs, 0))
	}
	return out
}

// BenchmarkContributions is Contributions alone, per large-scenario trace
// (about 10 nodes, 10 edges, 24 requests and calls).
func BenchmarkContributions(b *testing.B) {
	sums := largeSummaries(b, 1000)
	i := 0
	for b.Loop() {
		graph.Contributions(sums[i%len(sums)], nil)
		i++
	}
}
