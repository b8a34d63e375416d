package pebblestore

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/loadgen/storeload"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// rareTerm marks about 1% of the traces of the summary benchmarks.
const rareTerm store.Term = 0xee00000000000001

// isRare says which traces carry rareTerm: a fixed 1% by ID.
func isRare(id xrayid.TraceID) bool { return binary.BigEndian.Uint64(id[8:])%100 == 0 }

// padTerms adds synthetic terms to each trace's first summary until it has
// about want (the real indexer gives ~14 on the workload; the assembler's
// estimate is ~30; want < 0 leaves only rareTerm): half of them from 64 values shared by many traces (an
// annotation with few values), half unique to the trace (request IDs). It
// also adds rareTerm to the rare traces.
func padTerms(b *store.Batch, want int, seen map[xrayid.TraceID]bool) {
	for i := range b.Summaries {
		r := &b.Summaries[i]
		if seen[r.TraceID] {
			continue
		}
		seen[r.TraceID] = true
		if isRare(r.TraceID) {
			r.Terms = append(r.Terms, rareTerm)
		}
		h := binary.BigEndian.Uint64(r.TraceID[8:])
		for j := 0; len(r.Terms) < want; j++ {
			if j%2 == 0 {
				r.Terms = append(r.Terms, store.Term(0xe100000000000000|(h+uint64(j))%64<<8|uint64(j)))
			} else {
				r.Terms = append(r.Terms, store.Term(0xe200000000000000|(h*uint64(j+1))&0xffffffffffff))
			}
		}
	}
}

// prefixBytes estimates the bytes on disk of each key prefix.
func prefixBytes(b *testing.B, s *Store) map[byte]float64 {
	out := map[byte]float64{}
	for _, p := range []byte{prefixFrame, prefixTrace, prefixSummary, prefixEnd, prefixTerm} {
		n, err := s.db.EstimateDiskUsage([]byte{p}, []byte{p + 1})
		if err != nil {
			b.Fatal(err)
		}
		out[p] = float64(n)
	}
	return out
}

// BenchmarkWriteWithSummaries writes batches of 1,000 realistic documents
// with the summaries and terms of their traces, as the assembler sends them,
// and reports throughput, CPU per record (background work included), and
// bytes on disk per record after a full compaction, in all and by part.
// Variants: the indexer's own terms (~14 per trace), padded to ~30, none.
func BenchmarkWriteWithSummaries(b *testing.B) {
	f := func(name string, opts Options, terms int) {
		b.Run(name, func(b *testing.B) {
			opts.Logger = quiet
			s := openTest(b, opts)
			w := storeload.NewSummaryWorkload(1, time.Now().Add(-time.Hour))
			batches := make([]*store.Batch, b.N)
			seen := map[xrayid.TraceID]bool{}
			raw, nterms, nsums := 0, 0, 0
			for i := range batches {
				batch, err := w.Batch(benchBatch)
				if err != nil {
					b.Fatal(err)
				}
				if terms < 0 {
					for j := range batch.Summaries {
						batch.Summaries[j].Terms = nil
					}
				}
				padTerms(batch, terms, seen)
				for _, r := range batch.Records {
					raw += len(r.Doc)
				}
				for _, r := range batch.Summaries {
					nterms += len(r.Terms)
				}
				nsums += len(batch.Summaries)
				batches[i] = batch
			}
			ctx := context.Background()
			runtime.GC()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i, batch := range batches {
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batches[i] = nil // less for the GC to mark while we measure
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			n := float64(b.N * benchBatch)
			b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/record")
			if err := s.Compact(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(dataBytes(b, s))/n, "B/record-on-disk")
			pb := prefixBytes(b, s)
			b.ReportMetric((pb[prefixFrame]+pb[prefixTrace])/n, "docs-B/record")
			b.ReportMetric(pb[prefixSummary]/float64(len(seen)), "summary-B/trace")
			b.ReportMetric(pb[prefixTerm]/float64(nterms), "B/term")
			b.ReportMetric((pb[prefixSummary]+pb[prefixEnd]+pb[prefixTerm])/n, "summary+index-B/record")
			b.ReportMetric(float64(nterms)/float64(len(seen)), "terms/trace")
			b.ReportMetric(float64(nsums)/n, "summaries/record")
		})
	}
	f("sync", Options{}, 0)
	f("nosync", Options{NoSync: true}, 0)
	f("nosync-30terms", Options{NoSync: true}, 30)
	f("nosync-noterms", Options{NoSync: true}, -1)
}

// benchSummaries is a compacted store of summaries, built once per process
// and shared by the scan and lookup benchmarks: benchSummaryCount traces
// (COUNTERSPY_BENCH_SUMMARIES overrides it) spread over a day, with ~30
// terms each, rareTerm on 1% of them.
var benchSummaries struct {
	once     sync.Once
	dir      string
	s        *Store
	ids      []xrayid.TraceID
	from, to int64
	err      error
}

const benchSummaryCount = 100_000

func summariesStore(b *testing.B) *Store {
	bs := &benchSummaries
	bs.once.Do(func() {
		count := benchSummaryCount
		if v, err := strconv.Atoi(os.Getenv("COUNTERSPY_BENCH_SUMMARIES")); err == nil && v > 0 {
			count = v
		}
		bs.dir, bs.err = os.MkdirTemp("", "pebblestore-bench-summaries-")
		if bs.err != nil {
			return
		}
		bs.s, bs.err = Open(bs.dir, Options{NoSync: true, Logger: quiet})
		if bs.err != nil {
			return
		}
		start := time.Now().Add(-25 * time.Hour)
		w := storeload.NewSummaryWorkload(3, start)
		w.SetRate(float64(count) / (24 * 3600))
		w.Quiet = time.Duration(float64(20*time.Second) * float64(count) / 100_000)
		seen := map[xrayid.TraceID]bool{}
		ctx := context.Background()
		bs.from, bs.to = start.Unix(), start.Unix()
		for len(seen) < count {
			var batch *store.Batch
			if batch, bs.err = w.Batch(benchBatch); bs.err != nil {
				return
			}
			padTerms(batch, 30, seen)
			for _, r := range batch.Records {
				bs.to = max(bs.to, int64(r.TraceID.Epoch())+1)
			}
			if bs.err = bs.s.Write(ctx, batch); bs.err != nil {
				return
			}
		}
		for id := range seen {
			bs.ids = append(bs.ids, id)
		}
		bs.to += 3600 // ends come after starts
		bs.err = bs.s.Compact(ctx)
	})
	if bs.err != nil {
		b.Fatal(bs.err)
	}
	return bs.s
}

func closeBenchSummaries() {
	if s := benchSummaries.s; s != nil {
		_ = s.Close()
	}
	if benchSummaries.dir != "" {
		_ = os.RemoveAll(benchSummaries.dir)
	}
}

// scanRows runs q for up to limit rows (0: all) and returns how many came.
func scanRows(b *testing.B, s *Store, q store.SummaryScan, limit int) int {
	n := 0
	for row, err := range s.ScanSummaries(context.Background(), q) {
		if err != nil {
			b.Fatal(err)
		}
		if len(row.Summary) == 0 {
			b.Fatal("empty summary")
		}
		if n++; n == limit {
			break
		}
	}
	return n
}

// BenchmarkScanSummaries scans every summary (≥100k), newest first, in
// each order; and the first page of 100.
func BenchmarkScanSummaries(b *testing.B) {
	s := summariesStore(b)
	bs := &benchSummaries
	f := func(name string, q store.SummaryScan, limit int) {
		b.Run(name, func(b *testing.B) {
			rows := 0
			cpu0 := cpuTime()
			for b.Loop() {
				rows += scanRows(b, s, q, limit)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/scan")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(rows), "cpu-µs/row")
		})
	}
	f("ByStart", store.SummaryScan{Order: store.ByStart, From: bs.from, To: bs.to}, 0)
	f("ByEnd", store.SummaryScan{Order: store.ByEnd, From: bs.from, To: bs.to}, 0)
	f("ByStart-first100", store.SummaryScan{Order: store.ByStart, From: bs.from, To: bs.to}, 100)
	f("ByEnd-first100", store.SummaryScan{Order: store.ByEnd, From: bs.from, To: bs.to}, 100)
}

// BenchmarkScanTerm measures the time to the first 100 rows of term scans:
// rareTerm (1% of the traces), a union of it with a term nobody has, a
// common term (the frontend service, in half the traces), a union of eight
// services' terms; a full scan of the rare term, and its count.
func BenchmarkScanTerm(b *testing.B) {
	s := summariesStore(b)
	bs := &benchSummaries
	common := index.Node("frontend-web")
	var services []store.Term
	for _, name := range []string{"frontend-web", "orders-gateway/prod", "catalog-api", "cart-service",
		"user-profile", "checkout-api", "payment-worker", "inventory"} {
		services = append(services, index.Node(name))
	}
	f := func(name string, terms []store.Term, limit int) {
		b.Run(name, func(b *testing.B) {
			q := store.SummaryScan{Order: store.ByStart, From: bs.from, To: bs.to, Terms: terms}
			rows := 0
			for b.Loop() {
				rows += scanRows(b, s, q, limit)
			}
			b.ReportMetric(float64(rows)/float64(b.N), "rows/scan")
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	f("rare-first100", []store.Term{rareTerm}, 100)
	f("rare-or-absent-first100", []store.Term{rareTerm, 0xee00000000000002}, 100)
	f("common-first100", []store.Term{common}, 100)
	f("8services-first100", services, 100)
	f("rare-all", []store.Term{rareTerm}, 0)
	b.Run("CountTerm-rare", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CountTerm(context.Background(), rareTerm, bs.from, bs.to, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSummaryByID looks up one random summary at a time.
func BenchmarkSummaryByID(b *testing.B) {
	s := summariesStore(b)
	ids := benchSummaries.ids
	rnd := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	cpu0 := cpuTime()
	for b.Loop() {
		id := ids[rnd.IntN(len(ids))]
		found := false
		for _, err := range s.Summaries(ctx, []xrayid.TraceID{id}) {
			if err != nil {
				b.Fatal(err)
			}
			found = true
		}
		if !found {
			b.Fatalf("summary of %s not found", id)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/lookup")
	b.ReportMetric(float64(len(ids)), "traces-stored")
}
