package pebblestore

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/storeload"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const benchBatch = 1000

// cpuTime is the process's user+system CPU time: it counts Pebble's
// background flushes and compactions too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dataBytes is what the store's data takes on disk: tables and blob files,
// without the WAL (one memtable's worth, whatever the store holds).
func dataBytes(b *testing.B, s *Store) int64 {
	m, err := s.Metrics()
	if err != nil {
		b.Fatal(err)
	}
	return int64(m.Table.Local.LiveSize + m.BlobFiles.Local.LiveSize)
}

// BenchmarkWrite writes batches of 1,000 realistic documents (~1.3 KB) and
// reports throughput, CPU per record (background work included) and bytes
// on disk per record after a full compaction.
func BenchmarkWrite(b *testing.B) {
	f := func(name string, opts Options) {
		b.Run(name, func(b *testing.B) {
			opts.Logger = quiet
			s := openTest(b, opts)
			w := storeload.NewWorkload(1, time.Now().Add(-time.Hour))
			batches := make([]*store.Batch, b.N)
			raw := 0
			for i := range batches {
				batches[i] = w.Batch(benchBatch)
				for _, r := range batches[i].Records {
					raw += len(r.Doc)
				}
			}
			ctx := context.Background()
			b.SetBytes(int64(raw / b.N))
			runtime.GC() // the generator's garbage is not the store's
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

			cpu0 = cpuTime()
			if err := s.Compact(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "compact-cpu-µs/record")
			b.ReportMetric(float64(dataBytes(b, s))/n, "B/record-on-disk")
			b.ReportMetric(float64(raw)/n, "raw-B/record")
		})
	}
	f("sync", Options{})
	f("nosync", Options{NoSync: true})
	f("nosync-zstd3", Options{NoSync: true, ZstdLevel: 3})
	f("nosync-zstd7", Options{NoSync: true, ZstdLevel: 7})
	f("nosync-frame64K", Options{NoSync: true, FrameSize: 64 << 10})
	f("nosync-frame256K", Options{NoSync: true, FrameSize: 256 << 10})
}

// benchTraces is a compacted store holding benchTraceCount traces or more,
// built once per process (it takes a while) and shared by lookups.
var benchTraces struct {
	once sync.Once
	dir  string
	s    *Store
	ids  []xrayid.TraceID
	recs int
	err  error
}

const benchTraceCount = 100_000

func tracesStore(b *testing.B) (*Store, []xrayid.TraceID) {
	bt := &benchTraces
	bt.once.Do(func() {
		bt.dir, bt.err = os.MkdirTemp("", "pebblestore-bench-")
		if bt.err != nil {
			return
		}
		bt.s, bt.err = Open(bt.dir, Options{NoSync: true, Logger: quiet})
		if bt.err != nil {
			return
		}
		w := storeload.NewWorkload(2, time.Now().Add(-time.Hour))
		seen := map[xrayid.TraceID]bool{}
		ctx := context.Background()
		for len(seen) < benchTraceCount {
			batch := w.Batch(benchBatch)
			for _, r := range batch.Records {
				if !seen[r.TraceID] {
					seen[r.TraceID] = true
					bt.ids = append(bt.ids, r.TraceID)
				}
			}
			bt.recs += len(batch.Records)
			if bt.err = bt.s.Write(ctx, batch); bt.err != nil {
				return
			}
		}
		bt.err = bt.s.Compact(ctx)
	})
	if bt.err != nil {
		b.Fatal(bt.err)
	}
	return bt.s, bt.ids
}

func closeBenchTraces() {
	if s := benchTraces.s; s != nil {
		_ = s.Close()
	}
	if benchTraces.dir != "" {
		_ = os.RemoveAll(benchTraces.dir)
	}
}

// BenchmarkTraces looks up one random trace at a time among ≥100k stored.
func BenchmarkTraces(b *testing.B) {
	s, ids := tracesStore(b)
	rnd := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	records := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		id := ids[rnd.IntN(len(ids))]
		found := false
		for tr, err := range s.Traces(ctx, []xrayid.TraceID{id}) {
			if err != nil {
				b.Fatal(err)
			}
			records += len(tr.Records)
			found = true
		}
		if !found {
			b.Fatalf("trace %s not found", id)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/lookup")
	b.ReportMetric(float64(records)/float64(b.N), "records/trace")
	b.ReportMetric(float64(len(ids)), "traces-stored")
	b.ReportMetric(float64(dataBytes(b, s))/float64(benchTraces.recs), "B/record-on-disk")
}
