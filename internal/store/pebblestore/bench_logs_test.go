package pebblestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

// benchLogs writes the lines of `invocations` traced invocations of 20
// functions spread over two days: START, 5 lines, END, REPORT each.
func benchLogs(b *testing.B, s *Store, invocations int) (traces []string, start time.Time) {
	rnd := rand.New(rand.NewPCG(7, 8))
	start = time.Now().Add(-48 * time.Hour)
	batch := &store.Batch{}
	for i := range invocations {
		fn := fmt.Sprintf("orders-api-%02d", rnd.IntN(20))
		at := start.Add(time.Duration(i) * 48 * time.Hour / time.Duration(invocations))
		req := fmt.Sprintf("%08x-1b2c-4d5e-8f90-%012x", i, rnd.Uint64()&0xffffffffffff)
		tr := traceAt(at, uint32(i)).String()
		traces = append(traces, tr)
		msgs := []string{"START RequestId: " + req + " Version: $LATEST"}
		for j := range 5 {
			msgs = append(msgs, fmt.Sprintf(`{"level":"info","msg":"step %d done","orderId":"%d","ms":%d}`, j, rnd.IntN(1e6), rnd.IntN(300)))
		}
		msgs = append(msgs, "END RequestId: "+req,
			fmt.Sprintf("REPORT RequestId: %s\tDuration: %d.%02d ms\tBilled Duration: %d ms\tMemory Size: 128 MB\tMax Memory Used: %d MB", req, rnd.IntN(900), rnd.IntN(100), rnd.IntN(900)+1, 60+rnd.IntN(40)))
		for j, m := range msgs {
			r := logs.Record{Time: at.Add(time.Duration(j) * time.Millisecond), Function: fn, LogGroup: "/aws/lambda/" + fn,
				LogStream: at.UTC().Format("2006/01/02") + "/[$LATEST]4f1c0b7a9e2d4c61b0a8f3e2d1c0b9a8", RequestID: req, TraceID: tr,
				Stream: logs.Stdout, Message: m}
			if j == 0 || j >= len(msgs)-2 {
				r.Stream = logs.Platform
			}
			batch.Logs = append(batch.Logs, r)
		}
		if len(batch.Logs) >= 8000 {
			mustWriteBatch(b, s, batch)
			batch = &store.Batch{}
		}
	}
	mustWriteBatch(b, s, batch)
	return traces, start
}

// BenchmarkLogsByTrace looks a trace's 8 lines up among 800,000 (100,000
// invocations of 20 functions over two days), over all time and within the
// trace's hour. It also reports the bytes on disk per line, all three
// indexes together, after a full compaction.
func BenchmarkLogsByTrace(b *testing.B) {
	s := openTest(b, Options{NoSync: true, Logger: quiet})
	ctx := context.Background()
	traces, start := benchLogs(b, s, 100_000)
	if err := s.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	lines := float64(len(traces) * 8)
	for _, kind := range []byte{logByTrace, logByRequest, logByFunction} {
		n, err := s.db.EstimateDiskUsage([]byte{prefixLog, kind}, []byte{prefixLog, kind + 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("index %c: %.1f B per line on disk", kind, float64(n)/lines)
	}
	n, err := s.db.EstimateDiskUsage([]byte{prefixLog}, []byte{prefixLog + 1})
	if err != nil {
		b.Fatal(err)
	}
	f := func(name string, q func(i int) store.LogQuery) {
		b.Run(name, func(b *testing.B) {
			rnd := rand.New(rand.NewPCG(9, 10))
			for b.Loop() {
				i := rnd.IntN(len(traces))
				got := 0
				for _, err := range s.Logs(ctx, q(i)) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != 8 {
					b.Fatalf("trace %s: %d lines, want 8", traces[i], got)
				}
			}
			b.ReportMetric(float64(n)/lines, "disk-B/line")
		})
	}
	f("all-time", func(i int) store.LogQuery { return store.LogQuery{TraceID: traces[i]} })
	f("its-hour", func(i int) store.LogQuery {
		at := start.Add(time.Duration(i) * 48 * time.Hour / time.Duration(len(traces)))
		return store.LogQuery{TraceID: traces[i], From: at.Add(-30 * time.Minute), To: at.Add(30 * time.Minute)}
	})
}
