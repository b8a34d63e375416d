package translate

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkTranslate maps one export request of 50 traces shaped like
// Jaeger's tracegen (a server span and nine client spans, 11 attributes
// each: 500 spans), the unit the OTLP receivers handle.
func BenchmarkTranslate(b *testing.B) {
	benchmarkTranslate(b, tracegenShaped(), false)
}

// BenchmarkTranslateDecoded is BenchmarkTranslate with every document
// decoded by the segment decoder instead of the digest filled in while
// writing it (what the translator did before digest.go).
func BenchmarkTranslateDecoded(b *testing.B) {
	benchmarkTranslate(b, tracegenShaped(), true)
}

func benchmarkTranslate(b *testing.B, td ptrace.Traces, decoded bool) {
	tr := New(Options{})
	tr.noDigest = decoded
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, st := tr.Translate(nil, td); st.Stored != 500 || st.Documents != 50 {
			b.Fatalf("stored %d spans in %d documents", st.Stored, st.Documents)
		}
	}
	b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// tracegenShaped is one export request of 50 traces shaped like Jaeger's
// tracegen.
func tracegenShaped() ptrace.Traces {
	var fns []func(ptrace.Span)
	for tr := range 50 {
		for k := range 10 {
			id := pcommon.SpanID{0, 0, 0, 0, 0, byte(tr), 1, byte(k + 1)}
			parent, kind, name := pcommon.SpanID{0, 0, 0, 0, 0, byte(tr), 1, 1}, ptrace.SpanKindClient, "okey-dokey-"+strconv.Itoa(k)
			if k == 0 {
				parent, kind, name = none, ptrace.SpanKindServer, "lets-go"
			}
			attrs := map[string]any{"span.kind": "client", "peer.service": "tracegen-server", "peer.host.ipv4": "1.2.3.4",
				"http.method": "GET", "http.url": "http://tracegen-server:8080/api/v1/items", "http.status_code": 200, "worker": "0"}
			for j := range 4 {
				attrs["attr_"+strconv.Itoa(j)] = strconv.Itoa(tr*1000 + k*10 + j)
			}
			traceID := tid
			traceID[15] = byte(tr)
			fns = append(fns, func(sp ptrace.Span) {
				span(id, parent, kind, name, attrs)(sp)
				sp.SetTraceID(traceID)
			})
		}
	}
	return build(map[string]any{"service.name": "tracegen", "telemetry.sdk.language": "go"}, fns...)
}
