package summarize_test

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// BenchmarkSummarize is the ingest path's summarizer cost: every document
// of 200 `large` traces observed in batches of 64 documents (summaries,
// index terms, service-graph and profile deltas), against an empty store.
func BenchmarkSummarize(b *testing.B) {
	sc, err := loadgen.New("large", 3)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dec := segment.NewDecoder(0)
	var segs []segment.Segment
	var recs []store.Record
	for i := range 200 {
		tr := sc.Trace(i, now.Add(time.Duration(i)*10*time.Millisecond))
		for _, d := range tr.Docs {
			ss, err := dec.Decode(nil, d.JSON)
			if err != nil {
				b.Fatal(err)
			}
			for k := range ss {
				segs = append(segs, ss[k])
				recs = append(recs, store.Record{TraceID: ss[k].TraceID, ID: ss[k].ID(), Received: d.At.UnixNano(), Doc: d.JSON})
			}
		}
	}
	st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sum := summarize.New(st, summarize.Options{Now: func() time.Time { return now }}, metrics.NewSet(), quiet)
		for start := 0; start < len(segs); start += 64 {
			end := min(start+64, len(segs))
			batch := &store.Batch{Records: recs[start:end]}
			if err := sum.Observe(segs[start:end], batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(segs)), "ns/doc")
}
