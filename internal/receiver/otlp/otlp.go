// Package otlp receives OpenTelemetry traces over OTLP/HTTP (POST /v1/traces)
// and OTLP/gRPC (TraceService/Export), decodes them with the collector's
// pdata, maps them onto X-Ray segments (internal/otlp/translate) and hands
// them to the ingest pipeline. Like PutTraceSegments, it answers success only
// once the accepted spans are durable.
//
// Answers follow the OTLP specification
// (https://opentelemetry.io/docs/specs/otlp/): partial success for spans that
// could not be stored, 400/InvalidArgument for a body that does not decode,
// 415 for other content types, 503/Unavailable with a retry delay when the
// ingest queue is full. docs/otlp.md has the table.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/otlp/translate"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// Protocol labels of the received/rejected counters.
const (
	ProtoHTTP = "otlp_http"
	ProtoGRPC = "otlp_grpc"
)

// RetryAfter is the delay a client is asked to wait when the queue is full.
const RetryAfter = time.Second

// Options tune a Receiver.
type Options struct {
	// Annotations names span attributes indexed as annotations on every span.
	Annotations []string
	// MaxBodyBytes bounds a request body after decompression. Default 32 MiB.
	MaxBodyBytes int
}

// Receiver is the OTLP receiver. It is safe for concurrent use.
type Receiver struct {
	ingest Ingester
	opts   Options
	ms     *metrics.Set
	log    *slog.Logger

	translators sync.Pool
}

// Ingester makes segments durable: the ingest pipeline, or a cluster
// router in front of it (internal/cluster).
type Ingester interface {
	Shed(bytes, segments int) bool
	SubmitWait(ctx context.Context, segs []segment.Segment) error
}

// New returns a receiver feeding p. Metrics are registered in ms.
func New(p Ingester, opts Options, ms *metrics.Set, log *slog.Logger) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	r := &Receiver{ingest: p, opts: opts, ms: ms, log: log}
	r.translators.New = func() any { return translate.New(translate.Options{Annotations: opts.Annotations}) }
	for _, proto := range []string{ProtoHTTP, ProtoGRPC} {
		ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_received_total{protocol=%q}`, proto))
	}
	return r
}

// errQueueFull means the ingest queue has no room: the client should retry.
var errQueueFull = errors.New("the ingest queue is full; retry later")

// errUnavailable means the server is shutting down or could not store.
type errUnavailable struct{ err error }

func (e errUnavailable) Error() string { return e.err.Error() }
func (e errUnavailable) Unwrap() error { return e.err }

// result is what an export did, for the partial-success answer.
type result struct {
	rejected int64
	message  string
}

// export maps td, stores it durably and reports what was rejected. proto
// labels the metrics.
func (r *Receiver) export(ctx context.Context, td ptrace.Traces, proto string) (result, error) {
	tr := r.translators.Get().(*translate.Translator)
	segs, st := tr.Translate(nil, td)
	r.translators.Put(tr)

	for field, n := range st.Fixed {
		r.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_otlp_fixed_total{field=%q}`, field)).Add(n)
	}
	var res result
	if len(st.Rejected) > 0 {
		reasons := make([]string, 0, len(st.Rejected))
		for reason, n := range st.Rejected {
			res.rejected += int64(n)
			reasons = append(reasons, fmt.Sprintf("%d spans: %s", n, reason))
			r.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_rejected_total{protocol=%q,reason=%q}`, proto, reason)).Add(n)
		}
		sort.Strings(reasons)
		res.message = "rejected " + strings.Join(reasons, "; ")
	}
	if len(segs) == 0 {
		return res, nil
	}
	// A full queue is answered at once with "retry later" rather than by
	// holding the request: the OTLP clients retry with backoff. The probe
	// asks for at most 1 MiB of room so that a request larger than the
	// whole queue is not refused forever (SubmitWait takes it when the
	// queue drains).
	// Shed counts the documents as dropped (the dropped and stored counters
	// count documents; received and rejected count spans).
	if r.ingest.Shed(min(docBytes(segs), 1<<20), len(segs)) {
		return res, errQueueFull
	}
	if err := r.ingest.SubmitWait(ctx, segs); err != nil {
		if errors.Is(err, ingest.ErrClosed) {
			return res, errUnavailable{errors.New("the server is shutting down")}
		}
		if !errors.Is(err, store.ErrNoSpace) { // the pipeline reports a full disk itself, once a minute
			r.log.Error("otlp: storing spans failed", "protocol", proto, "spans", st.Stored, "err", err)
		}
		return res, errUnavailable{fmt.Errorf("storing %d spans: %w", st.Stored, err)}
	}
	r.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_received_total{protocol=%q}`, proto)).Add(st.Stored)
	return res, nil
}

func docBytes(segs []segment.Segment) int {
	n := 0
	for i := range segs {
		n += len(segs[i].Raw)
	}
	return n
}

// badRequest counts a request refused whole (a body that does not decode,
// an unknown content type): its spans cannot be counted.
func (r *Receiver) badRequest(proto string) {
	r.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_otlp_bad_requests_total{protocol=%q}`, proto)).Inc()
}

// response builds the OTLP answer for res.
func response(res result) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if res.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(res.rejected)
		resp.PartialSuccess().SetErrorMessage(res.message)
	}
	return resp
}
