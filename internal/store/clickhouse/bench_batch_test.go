package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/storeload"
	"github.com/counterspy/counterspy/internal/store"
)

// BenchmarkWriteBatch writes what the ingest pipeline sends for one
// PutTraceSegments call of 50 documents (records, summaries, terms): the
// client-side cost per segment of a small batch, where per-insert overhead
// shows.
func BenchmarkWriteBatch(b *testing.B) {
	srv := startServer(b)
	s := openTest(b, srv, fmt.Sprintf("benchb_%d", dbs.Add(1)))
	w := storeload.NewSummaryWorkload(1, time.Now().Add(-time.Hour))
	w.ForStore(s) // the terms the summarizer gives ClickHouse
	const batch = 50
	batches := make([]*store.Batch, b.N)
	for i := range batches {
		bt, err := w.Batch(batch)
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = bt
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for _, bt := range batches {
		if err := s.Write(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "client-cpu-ns/segment")
}
