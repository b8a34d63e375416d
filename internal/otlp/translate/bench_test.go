package translate

import (
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
)

// BenchmarkTranslate maps one export request of 50 tracegen traces (500
// spans), the unit the OTLP receivers handle.
func BenchmarkTranslate(b *testing.B) {
	sc, err := otlpgen.New("tracegen", 1)
	if err != nil {
		b.Fatal(err)
	}
	batch := otlpgen.NewBatch()
	spans := 0
	for i := range 50 {
		spans += sc.Trace(batch, i, time.Unix(1700000000, 0))
	}
	td := batch.Traces()
	tr := New(Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, st := tr.Translate(nil, td); st.Stored != spans {
			b.Fatalf("stored %d of %d", st.Stored, spans)
		}
	}
	b.ReportMetric(float64(spans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}
