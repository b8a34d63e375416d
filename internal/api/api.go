// Package api serves the X-Ray REST-JSON API (version 2016-04-12): every
// operation is a POST to a fixed path with a JSON body, so the AWS CLI and the
// AWS SDKs' X-Ray clients work against it with an endpoint override.
package api

import (
	"bytes"
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
	"github.com/counterspy/counterspy/internal/insights"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/sampling"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xraymodel"
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
	// Meta keeps tags, account settings (encryption, trace segment
	// destination, indexing rules, resource policies). Nil: in memory.
	Meta store.MetaStore
	// Sampling serves the sampling rules. Nil: rules on Meta, with a
	// Default rule of SamplingRate and SamplingReservoir.
	Sampling *sampling.Rules
	// Insights serves the Insights operations. Nil: insights on Meta,
	// over the store's service graph and Registry's groups.
	Insights *insights.Detector
	// EvaluatesInsights says whether this process evaluates the insights
	// of a group (by ARN) when Insights is nil; nil: every group. Nodes
	// sharing a store give each group to one node (docs/scaling.md).
	EvaluatesInsights func(groupARN string) bool
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
	meta     store.MetaStore
	rules    *sampling.Rules
	insights *insights.Detector
	tagsMu   sync.Mutex
	policyMu sync.Mutex
	retr     retrievals

	summaries store.SummaryReader
	graph     store.GraphReader
}

// operation handles one X-Ray operation: it decodes the body into its input
// and returns the output to encode, or an error (an *Error for a client error).
type operation struct {
	name  string
	input string // the model's input shape
	do    func(ctx context.Context, body []byte) (any, error)
}

// New builds the API.
func New(ing Ingester, st Store, opts Options, ms *metrics.Set, log *slog.Logger) *API {
	opts.setDefaults()
	a := &API{ingest: ing, store: st, summaries: st, graph: st, query: query.New(st, opts.Query), opts: opts, log: log, ms: ms}
	a.decoders.New = func() any { return segment.NewDecoder(opts.MaxDocumentSize) }
	a.initExtras()
	handlers := map[string]func(context.Context, []byte) (any, error){
		"PutTraceSegments":    a.putTraceSegments,
		"BatchGetTraces":      a.batchGetTraces,
		"GetTraceSummaries":   a.getTraceSummaries,
		"PutTelemetryRecords": a.putTelemetryRecords,

		"GetServiceGraph":                a.getServiceGraph,
		"GetTraceGraph":                  a.getTraceGraph,
		"GetTimeSeriesServiceStatistics": a.getTimeSeriesServiceStatistics,
		"CreateGroup":                    a.createGroup,
		"GetGroup":                       a.getGroup,
		"GetGroups":                      a.getGroups,
		"UpdateGroup":                    a.updateGroup,
		"DeleteGroup":                    a.deleteGroup,
	}
	a.addSamplingOps(handlers)
	a.addConfigOps(handlers)
	a.addRetrievalOps(handlers)
	a.addInsightsOps(handlers)
	a.ops = map[string]operation{}
	m := inputModel()
	for name, op := range m.Operations {
		if h, ok := handlers[name]; ok {
			in := ""
			if op.Input != nil {
				in = op.Input.Shape
			}
			a.ops[op.HTTP.RequestURI] = operation{name: name, input: in, do: h}
		}
	}
	return a
}

//go:generate go run ../xraymodel/gen -o model_inputs.go

// inputModel is the request side of X-Ray's model (model_inputs.go).
var inputModel = sync.OnceValue(func() *xraymodel.Model {
	m, err := xraymodel.Parse([]byte(modelInputs))
	if err != nil {
		panic(err) // generated at build time: cannot fail
	}
	return m
})

// validateInput checks a request body against the operation's input shape,
// as X-Ray does before running the operation: wrong types, missing
// required members, lengths, ranges and enums are an
// InvalidRequestException naming the member.
func validateInput(shape string, body []byte) error {
	if shape == "" {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	v, err := xraymodel.Decode(body)
	if err != nil {
		return invalid("request body is not valid JSON: %v", err)
	}
	if v == nil {
		v = map[string]any{} // a null body has no members: required ones are missing
	}
	if err := inputModel().Validate(shape, v, xraymodel.Input); err != nil {
		var vi *xraymodel.Violation
		if errors.As(err, &vi) {
			return invalid("1 validation error detected: Value at '%s' failed to satisfy constraint: %s", vi.Path, vi.Msg)
		}
		return invalid("%v", err)
	}
	return nil
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
	out, err := func() (any, error) {
		if err := validateInput(op.input, body); err != nil {
			return nil, err
		}
		return op.do(r.Context(), body)
	}()
	a.ms.GetOrCreatePrometheusHistogram(fmt.Sprintf(`counterspy_api_request_duration_seconds{operation=%q}`, op.name)).UpdateDuration(start)
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			a.log.Error("api operation failed", "operation", op.name, "request_id", requestID, "err", err)
			apiErr = failure(err)
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

// initExtras sets up what the operations beyond traces and groups keep.
func (a *API) initExtras() {
	a.meta = a.opts.Meta
	if a.meta == nil {
		a.meta = &memMeta{}
	}
	a.rules = a.opts.Sampling
	if a.rules == nil {
		r, err := sampling.Open(context.Background(), a.meta, sampling.Options{Region: a.opts.Region, AccountID: a.opts.AccountID,
			DefaultRate: a.opts.SamplingRate, DefaultReservoir: a.opts.SamplingReservoir, Now: a.opts.Now, Logger: a.log})
		if err != nil {
			a.log.Error("sampling rules could not be loaded; serving the Default rule only, in memory", "err", err)
			r, _ = sampling.Open(context.Background(), &memMeta{}, sampling.Options{Region: a.opts.Region, AccountID: a.opts.AccountID,
				DefaultRate: a.opts.SamplingRate, DefaultReservoir: a.opts.SamplingReservoir, Now: a.opts.Now, Logger: a.log})
		}
		a.rules = r
	}
	a.insights = a.opts.Insights
	if a.insights == nil {
		d, err := insights.Open(context.Background(), a.meta, a.graph, a.opts.Registry, insights.Options{Evaluates: a.opts.EvaluatesInsights, Logger: a.log})
		if err != nil {
			a.log.Error("insights could not be loaded; starting with none, in memory", "err", err)
			d, _ = insights.Open(context.Background(), &memMeta{}, a.graph, a.opts.Registry, insights.Options{Logger: a.log})
		}
		a.insights = d
	}
}

// RunInsights evaluates the groups' insights once a minute until ctx ends.
func (a *API) RunInsights(ctx context.Context) { a.insights.Run(ctx, a.opts.Now) }
