package otlp

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	vmmetrics "github.com/VictoriaMetrics/metrics"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// BenchmarkExportHTTP is the server's OTLP ingest path in one process:
// an OTLP/HTTP protobuf request of 50 traces shaped like Jaeger's tracegen
// (500 spans) through the handler, translation, the ingest pipeline with
// the summarizer, and the Pebble store (without fsync, which costs wall time
// rather than CPU). Besides the usual figures it reports the process's CPU
// time per span (user + system, every goroutine, GC and Pebble's background
// work included), which on a machine shared with other work is steadier
// than wall time. Each iteration sends new traces.
//
// "w3c" gives every trace a random ID, as the OTel SDKs' default generator
// does (Jaeger's tracegen too): its epoch part is implausible, so the store
// places it by arrival (a redirect); "xray" gives them X-Ray-style epochs.
func BenchmarkExportHTTP(b *testing.B) {
	b.Run("w3c", func(b *testing.B) { benchmarkExportHTTP(b, true) })
	b.Run("xray", func(b *testing.B) { benchmarkExportHTTP(b, false) })
}

func benchmarkExportHTTP(b *testing.B, w3c bool) {
	const tracesPerRequest = 50
	sc, err := otlpgen.New("tracegen", 1)
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, b.N)
	spans := 0
	start := time.Now()
	for i := range bodies {
		batch := otlpgen.NewBatch()
		for j := range tracesPerRequest {
			spans += sc.Trace(batch, i*tracesPerRequest+j, start.Add(time.Duration(i)*time.Millisecond))
		}
		if !w3c {
			xrayTraceIDs(batch.Traces(), start)
		}
		if bodies[i], err = ptraceotlp.NewExportRequestFromTraces(batch.Traces()).MarshalProto(); err != nil {
			b.Fatal(err)
		}
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pebblestore.Open(b.TempDir(), pebblestore.Options{NoSync: true, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ms := vmmetrics.NewSet()
	p := ingest.New(st, ingest.Options{Observer: summarize.New(st, summarize.Options{}, ms, log)}, ms, log)
	defer p.Close(context.Background())
	h := New(p, Options{}, ms, log).HTTPHandler()

	b.ReportAllocs()
	cpu0, gc0 := cpuTime(b), gcCPUTime()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, TracesPath, bytes.NewReader(bodies[i]))
		req.Header.Set("Content-Type", contentProto)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	cpu, gc := cpuTime(b)-cpu0, gcCPUTime()-gc0
	b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(spans), "cpu-ns/span")
	// The collector's share (marking, assists, pauses, as the runtime
	// estimates it): the part a GC setting (GOGC, internal/gctune) changes.
	b.ReportMetric(gc.Seconds()*1e9/float64(spans), "gc-cpu-ns/span")
}

// gcCPUTime is the runtime's estimate of the CPU time its collector has
// spent so far.
func gcCPUTime() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return time.Duration(s[0].Value.Float64() * 1e9)
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// xrayTraceIDs gives the scenario's random (W3C) trace IDs an X-Ray-style
// epoch second first, as the X-Ray ID generator does.
func xrayTraceIDs(td ptrace.Traces, at time.Time) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				id := sp.TraceID()
				binary.BigEndian.PutUint32(id[:4], uint32(at.Unix()))
				sp.SetTraceID(id)
			}
		}
	}
}
