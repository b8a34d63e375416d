// Package api serves the X-Ray REST-JSON API (version 2016-04-12): every
// operation is a POST to a fixed path with a JSON body, so the AWS CLI and the
// AWS SDKs' X-Ray clients work against it with an endpoint override.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/httpbody"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// Ingester makes segments durable; SubmitWait returns once they are.
type Ingester interface {
	SubmitWait(ctx context.Context, segs []segment.Segment) error
}

// Options configures the API.
type Options struct {
	// MaxBodyBytes caps a request body. Default 8 MiB.
	MaxBodyBytes int64
	// MaxDocumentSize caps one segment document. Default 64 KiB.
	MaxDocumentSize int
	// MaxTraceBytes caps a compiled trace (BatchGetTraces sets LimitExceeded
	// beyond it). Default 5 MiB.
	MaxTraceBytes int
	// Region and AccountID appear in ARNs the API makes up.
	Region, AccountID string
	// SamplingRate and SamplingReservoir define the Default sampling rule
	// handed to SDKs. Defaults 1.0 (every request) and 1 per second.
	SamplingRate      float64
	SamplingReservoir int
	Now               func() time.Time
	// Retention is how long the store keeps traces: PutTraceSegments
	// rejects segments already past it (segment.Window). 0: no check.
	Retention time.Duration
	// Query tunes GetTraceSummaries: page size, scan budget per call.
	Query query.Options
	// Groups resolves group.name and group.arn in filter expressions to
	// the group's expression (false for an unknown group). Nil knows only
	// the Default group.
	Groups func(nameOrARN string) (expression string, ok bool)
	// Registry serves the group operations and scopes the service graph
	// by group; when Groups is nil it resolves group references too. Nil
	// knows only the Default group.
	Registry *groups.Registry
}

func (o *Options) setDefaults() {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 8 << 20
	}
	if o.MaxDocumentSize <= 0 {
		o.MaxDocumentSize = segment.MaxDocumentSize
	}
	if o.MaxTraceBytes <= 0 {
		o.MaxTraceBytes = 5 << 20
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SamplingRate <= 0 || o.SamplingRate > 1 {
		o.SamplingRate = 1
	}
	if o.SamplingReservoir <= 0 {
		o.SamplingReservoir = 1
	}
	if o.Groups == nil && o.Registry != nil {
		o.Groups = o.Registry.Resolve
	}
}

// Store is what the API reads: traces, their summaries, and the
// service-graph counters.
type Store interface {
	store.Reader
	store.SummaryReader
	store.GraphReader
}

// API is the HTTP handler for the X-Ray operations.
type API struct {
	ingest   Ingester
	store    store.Reader
	query    *query.Engine
	opts     Options
	log      *slog.Logger
	ops      map[string]operation
	decoders sync.Pool
	ms       *metrics.Set
	sampling reservoir

	summaries store.SummaryReader
	graph     store.GraphReader
}

// operation handles one X-Ray operation: it decodes the body into its input
// and returns the output to encode, or an error (an *Error for a client error).
type operation struct {
	name string
	do   func(ctx context.Context, body []byte) (any, error)
}

// New builds the API.
func New(ing Ingester, st Store, opts Options, ms *metrics.Set, log *slog.Logger) *API {
	opts.setDefaults()
	a := &API{ingest: ing, store: st, summaries: st, graph: st, query: query.New(st, opts.Query), opts: opts, log: log, ms: ms}
	a.decoders.New = func() any { return segment.NewDecoder(opts.MaxDocumentSize) }
	a.ops = map[string]operation{
		"/TraceSegments":    {"PutTraceSegments", a.putTraceSegments},
		"/Traces":           {"BatchGetTraces", a.batchGetTraces},
		"/TraceSummaries":   {"GetTraceSummaries", a.getTraceSummaries},
		"/GetSamplingRules": {"GetSamplingRules", a.getSamplingRules},
		"/SamplingTargets":  {"GetSamplingTargets", a.getSamplingTargets},
		"/TelemetryRecords": {"PutTelemetryRecords", a.putTelemetryRecords},

		"/ServiceGraph":                {"GetServiceGraph", a.getServiceGraph},
		"/TraceGraph":                  {"GetTraceGraph", a.getTraceGraph},
		"/TimeSeriesServiceStatistics": {"GetTimeSeriesServiceStatistics", a.getTimeSeriesServiceStatistics},
		"/CreateGroup":                 {"CreateGroup", a.createGroup},
		"/GetGroup":                    {"GetGroup", a.getGroup},
		"/Groups":                      {"GetGroups", a.getGroups},
		"/UpdateGroup":                 {"UpdateGroup", a.updateGroup},
		"/DeleteGroup":                 {"DeleteGroup", a.deleteGroup},
	}
	return a
}

// Handles reports whether path is an X-Ray operation this API serves.
func (a *API) Handles(path string) bool {
	_, ok := a.ops[path]
	return ok
}

// ServeHTTP dispatches one operation.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	op, ok := a.ops[r.URL.Path]
	if !ok {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "UnknownOperationException",
			Message: fmt.Sprintf("unknown operation %s %s", r.Method, r.URL.Path)})
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "InvalidRequestException",
			Message: fmt.Sprintf("%s takes POST, not %s", op.name, r.Method)})
		return
	}
	start := time.Now()
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLargeException",
		Message: fmt.Sprintf("request body exceeds the %d-byte limit", a.opts.MaxBodyBytes)}
	if r.ContentLength > a.opts.MaxBodyBytes {
		// Refused before reading a byte of it.
		a.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_api_errors_total{operation=%q,code=%q}`, op.name, tooLarge.Code)).Inc()
		writeError(w, tooLarge)
		return
	}
	// MaxBytesReader stops reading one byte past the limit, so a body of
	// unknown length is never buffered beyond it either.
	// The auth middleware may have read it already.
	body, err := httpbody.Read(w, r, a.opts.MaxBodyBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_api_errors_total{operation=%q,code=%q}`, op.name, tooLarge.Code)).Inc()
			writeError(w, tooLarge)
			return
		}
		writeError(w, invalid("reading request body: %v", err))
		return
	}
	out, err := op.do(r.Context(), body)
	a.ms.GetOrCreatePrometheusHistogram(fmt.Sprintf(`counterspy_api_request_duration_seconds{operation=%q}`, op.name)).UpdateDuration(start)
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			a.log.Error("api operation failed", "operation", op.name, "request_id", requestID, "err", err)
			apiErr = &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
		}
		a.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_api_errors_total{operation=%q,code=%q}`, op.name, apiErr.Code)).Inc()
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeInput unmarshals a request body; an empty body is an empty input.
func decodeInput(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
