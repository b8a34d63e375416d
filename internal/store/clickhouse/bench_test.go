package clickhouse

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/storeload"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// cpuTime is this process's user+system CPU time (the client side only:
// the server's work is not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWrite writes batches of 1,000 realistic documents (~1.3 KB,
// the storeload workload) and reports segments per second, client CPU per
// segment, and the bytes per segment of the records table's parts after
// OPTIMIZE .. FINAL (system.parts; compressed with the server's codec,
// zstd in the test server's config).
func BenchmarkWrite(b *testing.B) {
	srv := startServer(b)
	s := openTest(b, srv, fmt.Sprintf("bench_%d", dbs.Add(1)))
	w := storeload.NewWorkload(1, time.Now().Add(-time.Hour))
	const batch = 1000
	batches := make([]*store.Batch, b.N)
	raw := 0
	for i := range batches {
		batches[i] = w.Batch(batch)
		for _, r := range batches[i].Records {
			raw += len(r.Doc)
		}
	}
	ctx := context.Background()
	b.SetBytes(int64(raw / b.N))
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for _, bt := range batches {
		if err := s.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	n := float64(b.N * batch)
	b.ReportMetric(n/elapsed.Seconds(), "segments/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "client-cpu-ns/segment")
	if err := s.conn.Exec(ctx, "OPTIMIZE TABLE records FINAL"); err != nil {
		b.Fatal(err)
	}
	var bytes, rows uint64
	q := "SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE active AND table = 'records' AND database = " + quote(s.opts.Database)
	if err := s.conn.QueryRow(ctx, q).Scan(&bytes, &rows); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bytes)/float64(rows), "disk-bytes/segment")
	b.ReportMetric(float64(raw)/n, "raw-bytes/segment")
}

// BenchmarkTraces reads 100 traces at a time by ID (what BatchGetTraces
// asks of the store) from 20,000 stored workload documents, and reports
// the client CPU per document read: since schema 4 that includes joining
// the split document back (records.go).
func BenchmarkTraces(b *testing.B) {
	srv := startServer(b)
	s := openTest(b, srv, fmt.Sprintf("bench_%d", dbs.Add(1)))
	w := storeload.NewWorkload(1, time.Now().Add(-time.Hour))
	ctx := context.Background()
	seen := map[xrayid.TraceID]bool{}
	var ids []xrayid.TraceID
	for range 20 {
		bt := w.Batch(1000)
		if err := s.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
		for _, r := range bt.Records {
			if !seen[r.TraceID] {
				seen[r.TraceID] = true
				ids = append(ids, r.TraceID)
			}
		}
	}
	b.ResetTimer()
	cpu0, docs := cpuTime(), 0
	for i := range b.N {
		at := i * 100 % max(len(ids)-100, 1)
		for tr, err := range s.Traces(ctx, ids[at:min(at+100, len(ids))]) {
			if err != nil {
				b.Fatal(err)
			}
			docs += len(tr.Records)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(docs), "client-cpu-ns/doc")
	b.ReportMetric(float64(docs)/float64(b.N), "docs/op")
}
