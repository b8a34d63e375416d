package query_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var (
	benchTraces  = flag.Int("query.traces", 2000, "traces in the BenchmarkFirstPage store")
	benchDir     = flag.String("query.dir", "", "directory of the BenchmarkFirstPage store, reused when it holds the same load (default: a new temporary directory)")
	benchWorkers = flag.Int("query.workers", 0, "Options.Workers of the BenchmarkFirstPage engine (default GOMAXPROCS)")
	benchRatio   = flag.Float64("query.indexratio", 0, "Options.IndexRatio of the BenchmarkFirstPage engine (default 0.1)")
	benchPush    = flag.Bool("query.pushdown", true, "let the BenchmarkFirstPage engine push conditions down to a store that can (false: hide store.PushDown, to compare)")
	benchCH      = flag.String("query.clickhouse", "", "run BenchmarkFirstPage on a ClickHouse store instead of Pebble: a clickhouse-server (COUNTERSPY_CLICKHOUSE) is started on free ports with its data in this directory, reused by later runs")
)

const (
	benchSeed = 1
	// benchRate is the traffic the load simulates, in traces per second.
	benchRate = 50
	benchMeta = "counterspy-query-bench"
)

// benchStart is when the loaded traffic begins.
var benchStart = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// benchTraceStart is when trace i of the load starts.
func benchTraceStart(i int) time.Time {
	return benchStart.Add(time.Duration(i) * time.Second / benchRate)
}

// BenchmarkFirstPage measures the latency of the first page of
// GetTraceSummaries over a store of realistic traces (the loadgen "large"
// scenario: ~7 documents and ~1.7 KB of summary per trace, 50 traces a
// second). Smoke run (2,000 traces, loaded in a temporary directory):
//
//	go test -run '^$' -bench BenchmarkFirstPage -benchtime 20x ./internal/query
//
// The goal, 1 million traces (5.6 hours of traffic, ~7 million
// documents). Loading them takes 1.5 minutes on 2 idle cores (3–5 when the
// machine is busy) and 1.5 GB; the directory is reused by later runs (remove
// it after a change of the store's format):
//
//	go test -run '^$' -bench BenchmarkFirstPage -benchtime 20x -timeout 2h ./internal/query \
//	    -args -query.traces 1000000 -query.dir /var/tmp/counterspy-query-1m
//
// Each sub-benchmark reports p50 and p99 latency (ms), the latency of its
// first, cold call, the summaries examined and returned per call, and logs
// the plan. -query.workers sets Options.Workers (1: no fan-out).
func BenchmarkFirstPage(b *testing.B) {
	n := *benchTraces
	st := benchStore(b, n)
	if !*benchPush {
		// Without PushDown, but with the terms the store was given.
		if u, ok := st.(store.IndexPolicy); ok {
			st = struct {
				store.SummaryReader
				store.IndexPolicy
			}{st, u}
		} else {
			st = struct{ store.SummaryReader }{st}
		}
	}
	e := query.New(st, query.Options{Workers: *benchWorkers, IndexRatio: *benchRatio})
	sc, err := loadgen.New("large", benchSeed)
	if err != nil {
		b.Fatal(err)
	}
	// The window covers the whole load.
	start, end := benchStart, benchTraceStart(n).Add(time.Minute).Truncate(time.Second)
	lookup := sc.Trace(n/2, benchTraceStart(n/2)).ID
	cases := []struct {
		name, expr string
		ids        []xrayid.TraceID
		tr         query.TimeRange
	}{
		{name: "all"},
		// By end time (X-Ray's TimeRangeType Event): a ByEnd scan.
		{name: "all_by_end", tr: query.Event},
		{name: "fault", expr: "fault"},
		// Filtered by end time: ByEnd pages with pushed-down conditions.
		{name: "fault_by_end", expr: "fault", tr: query.Event},
		{name: "service_block_by_end", expr: `service("order-service") { fault }`, tr: query.Event},
		{name: "service_block", expr: `service("order-service") { fault }`},
		{name: "annotation", expr: `annotation.item_count > 4`},
		{name: "user", expr: `user = "alice@example-shop.com"`},
		{name: "edge_block", expr: `edge("web-frontend", "auth-service") { error }`},
		{name: "response_time", expr: `responsetime >= 2 AND responsetime < 5`},
		{name: "trace_id", ids: []xrayid.TraceID{lookup}},
		// Nothing matches and nothing is indexed: the call ends at its
		// budget (Options.MaxExamined, MaxTime) with a NextToken.
		{name: "budget", expr: `http.url CONTAINS "/no-such-page"`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			q := query.Query{Start: start, End: end, TraceIDs: c.ids, TimeRange: c.tr}
			if c.expr != "" {
				f, err := filter.Parse(c.expr, filter.Options{})
				if err != nil {
					b.Fatal(err)
				}
				q.Filter = f
			}
			var lat []time.Duration
			var examined, results int64
			var plan string
			for b.Loop() {
				t0 := time.Now()
				p, err := e.Run(context.Background(), q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				examined += p.Examined
				results += int64(len(p.Results))
				plan = p.Plan.String()
			}
			cold := lat[0]
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(lat[(len(lat)-1)/2]), "p50-ms")
			b.ReportMetric(ms(lat[int(math.Ceil(0.99*float64(len(lat))))-1]), "p99-ms")
			b.ReportMetric(ms(cold), "cold-ms")
			b.ReportMetric(float64(examined)/float64(len(lat)), "examined/op")
			b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
			b.Logf("%s: %s", c.name, plan)
		})
	}
}

// benchStore opens the benchmark's store, loading n traces into it unless
// the directory already holds exactly that load.
func benchStore(b *testing.B, n int) store.SummaryReader {
	if *benchCH != "" {
		return benchClickHouse(b, n, *benchCH)
	}
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	meta := filepath.Join(dir, benchMeta)
	// The first and last trace IDs tell a load by another version of the
	// scenario.
	sc, err := loadgen.New("large", benchSeed)
	if err != nil {
		b.Fatal(err)
	}
	want := benchLoadID(sc, n)
	have, err := os.ReadFile(meta)
	switch {
	case err == nil && string(have) != want:
		b.Fatalf("%s holds another load (%q, want %q): remove the directory or choose another", dir, have, want)
	case err != nil && !os.IsNotExist(err):
		b.Fatal(err)
	}
	reuse := err == nil
	st, err := pebblestore.Open(filepath.Join(dir, "store"), pebblestore.Options{
		NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	})
	if reuse {
		return st
	}
	began := time.Now()
	if err := load(st, n); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(began)
	if err := st.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	stats, err := st.Stats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d traces in %s, compacted in %s: %.0f MB on disk", n, loaded.Round(time.Second),
		(time.Since(began) - loaded).Round(time.Second), float64(stats.DiskBytes)/1e6)
	if err := os.WriteFile(meta, []byte(want), 0o644); err != nil {
		b.Fatal(err)
	}
	return st
}

// benchLoadID names a load: the first and last trace IDs tell a load by
// another version of the scenario.
func benchLoadID(sc loadgen.Scenario, n int) string {
	return fmt.Sprintf("scenario=large seed=%d traces=%d rate=%d start=%s first=%s last=%s\n", benchSeed, n, benchRate,
		benchStart.Format(time.RFC3339), sc.Trace(0, benchTraceStart(0)).ID, sc.Trace(n-1, benchTraceStart(n-1)).ID)
}

// load writes the summaries (with their index terms) of the first n traces
// of the large scenario: GOMAXPROCS workers generate, decode and summarize,
// one writer commits batches of 1,000.
func load(st store.Writer, n int) error {
	sc, err := loadgen.New("large", benchSeed)
	if err != nil {
		return err
	}
	const batch = 1000
	batches := make(chan *store.Batch, 4)
	next := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := segment.NewDecoder(0)
			var bl summary.Builder
			var terms []store.Term
			policy := index.For(st) // the terms the summarizer would give st
			for first := range next {
				if failed.Load() != nil {
					continue // drain, so that the feeder ends
				}
				b := &store.Batch{}
				for i := first; i < min(first+batch, n); i++ {
					tr := sc.Trace(i, benchTraceStart(i))
					docs := make([]summary.Doc, 0, len(tr.Docs))
					for _, d := range tr.Docs {
						segs, err := dec.Decode(nil, d.JSON)
						if err != nil {
							err = fmt.Errorf("trace %d (%s): %v", i, tr.ID, err)
							failed.CompareAndSwap(nil, &err)
							break
						}
						for k := range segs {
							segs[k].Raw = nil
							docs = append(docs, summary.Doc{Seg: &segs[k], Received: d.At.UnixNano()})
						}
					}
					s := bl.Build(tr.ID, docs, 0)
					terms = policy.Terms(s, terms)
					fields, _ := summarize.Fields(s, nil) // as the summarizer writes them
					b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: tr.ID, End: int64(max(s.End, s.Start)),
						Summary: s.AppendBinary(nil), Terms: slices.Clone(terms), Fields: fields})
				}
				batches <- b
			}
		}()
	}
	go func() {
		for first := 0; first < n; first += batch {
			next <- first
		}
		close(next)
		wg.Wait()
		close(batches)
	}()
	var werr error
	for b := range batches {
		if werr == nil {
			werr = st.Write(context.Background(), b)
		}
	}
	if err := failed.Load(); err != nil {
		return *err
	}
	return werr
}
