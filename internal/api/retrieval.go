package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/assemble"
	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/otelspan"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Trace retrieval (X-Ray's Transaction Search API): StartTraceRetrieval
// names up to 100 traces and a window, ListRetrievedTraces pages their
// spans, GetRetrievedTracesGraph their service graph, CancelTraceRetrieval
// stops it. X-Ray runs the retrieval asynchronously; here the traces are
// in the local store, so a retrieval is COMPLETE as soon as it starts and
// is read from the store when listed. Retrievals are kept in memory for
// retrievalTTL.

const retrievalTTL = 24 * time.Hour

// maxSpans is X-Ray's SpanList limit: the spans of one retrieved trace.
const maxSpans = 100

// retrievedPage is X-Ray's page size for ListRetrievedTraces (TraceSpanList
// holds at most 5 traces).
const retrievedPage = 5

type retrieval struct {
	ids      []xrayid.TraceID
	from, to time.Time
	started  time.Time
	status   string
}

type retrievals struct {
	mu sync.Mutex
	m  map[string]*retrieval
}

func (a *API) addRetrievalOps(h map[string]func(context.Context, []byte) (any, error)) {
	a.retr.m = map[string]*retrieval{}
	h["StartTraceRetrieval"] = a.startTraceRetrieval
	h["ListRetrievedTraces"] = a.listRetrievedTraces
	h["GetRetrievedTracesGraph"] = a.getRetrievedTracesGraph
	h["CancelTraceRetrieval"] = a.cancelTraceRetrieval
}

func (a *API) startTraceRetrieval(ctx context.Context, body []byte) (any, error) {
	var in struct {
		TraceIds           []string
		StartTime, EndTime Timestamp
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if !in.EndTime.After(in.StartTime.Time) {
		return nil, invalid("EndTime must be after StartTime")
	}
	if len(in.TraceIds) == 0 {
		return nil, invalid("TraceIds: name at least one trace")
	}
	r := &retrieval{from: in.StartTime.Time, to: in.EndTime.Time, started: a.opts.Now(), status: "COMPLETE"}
	for _, s := range in.TraceIds {
		id, err := xrayid.ParseTraceID(s)
		if err != nil {
			return nil, invalid("TraceIds: %q is not a trace ID: %v", s, err)
		}
		r.ids = append(r.ids, id)
	}
	token := strings.ReplaceAll(uuid.NewString(), "-", "")
	a.retr.mu.Lock()
	defer a.retr.mu.Unlock()
	for k, old := range a.retr.m {
		if a.opts.Now().Sub(old.started) > retrievalTTL {
			delete(a.retr.m, k)
		}
	}
	a.retr.m[token] = r
	return struct{ RetrievalToken string }{token}, nil
}

func (a *API) retrieval(token string) (retrieval, error) {
	a.retr.mu.Lock()
	defer a.retr.mu.Unlock()
	r, ok := a.retr.m[token]
	if !ok {
		return retrieval{}, &Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", ResourceName: token,
			Message: fmt.Sprintf("Retrieval %q not found (or expired)", token)}
	}
	return *r, nil
}

// inWindow keeps the IDs whose trace started in the retrieval's window
// (the epoch second in the ID, give or take the minute X-Ray allows).
func (r *retrieval) inWindow() []xrayid.TraceID {
	var out []xrayid.TraceID
	for _, id := range r.ids {
		sec := int64(id.Epoch())
		if sec >= r.from.Unix()-60 && sec <= r.to.Unix()+60 {
			out = append(out, id)
		}
	}
	return out
}

type span struct {
	ID       string `json:"Id"`
	Document string
}

type retrievedTrace struct {
	ID       string `json:"Id"`
	Duration float64
	Spans    []span
}

func (a *API) listRetrievedTraces(ctx context.Context, body []byte) (any, error) {
	var in struct {
		RetrievalToken string
		TraceFormat    *string
		NextToken      *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	r, err := a.retrieval(in.RetrievalToken)
	if err != nil {
		return nil, err
	}
	format := "XRAY"
	if in.TraceFormat != nil {
		format = *in.TraceFormat // XRAY or OTEL: the model's enum was checked
	}
	out := struct {
		RetrievalStatus string
		TraceFormat     string
		Traces          []retrievedTrace
		NextToken       string `json:",omitempty"`
	}{RetrievalStatus: r.status, TraceFormat: format, Traces: []retrievedTrace{}}
	if r.status != "COMPLETE" {
		return out, nil
	}
	ids := r.inWindow()
	offset := 0
	if in.NextToken != nil && *in.NextToken != "" {
		if offset, err = parseGraphToken(*in.NextToken); err != nil || offset > len(ids) {
			return nil, invalid("NextToken %q is not a token from ListRetrievedTraces", *in.NextToken)
		}
	}
	ids = ids[offset:]
	if len(ids) > retrievedPage {
		ids = ids[:retrievedPage]
		out.NextToken = graphToken(offset + retrievedPage)
	}
	for t, err := range a.store.Traces(ctx, ids) {
		if err != nil {
			return nil, err
		}
		c, err := assemble.Compile(t, assemble.CompileOptions{MaxTraceBytes: a.opts.MaxTraceBytes})
		if err != nil {
			a.log.Warn("cannot compile trace", "trace_id", t.ID.String(), "err", err)
			continue
		}
		rt := retrievedTrace{ID: c.ID.String(), Duration: roundMicros(c.Duration), Spans: []span{}}
		var otel []otelspan.Span
		for _, s := range c.Segments {
			if len(rt.Spans) == maxSpans {
				break
			}
			if format == "XRAY" {
				rt.Spans = append(rt.Spans, span{ID: s.ID.String(), Document: string(s.Document)})
				continue
			}
			// OTEL: a span per segment and subsegment.
			otel, err = otelspan.FromDocument(otel[:0], s.Document, maxSpans-len(rt.Spans))
			if err != nil {
				a.log.Warn("cannot convert a segment to OpenTelemetry spans", "trace_id", t.ID.String(), "err", err)
				continue
			}
			for _, o := range otel {
				rt.Spans = append(rt.Spans, span{ID: o.ID, Document: string(o.Document)})
			}
		}
		out.Traces = append(out.Traces, rt)
	}
	return out, nil
}

type retrievedService struct {
	Service serviceOutput
	Links   []struct{}
}

func (a *API) getRetrievedTracesGraph(ctx context.Context, body []byte) (any, error) {
	var in struct {
		RetrievalToken string
		NextToken      *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	r, err := a.retrieval(in.RetrievalToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		RetrievalStatus string
		Services        []retrievedService
	}{RetrievalStatus: r.status, Services: []retrievedService{}}
	if r.status != "COMPLETE" {
		return out, nil
	}
	var sums []*summary.Summary
	for row, err := range a.summaries.Summaries(ctx, r.inWindow()) {
		if err != nil {
			return nil, fmt.Errorf("read trace summaries: %w", err)
		}
		s := new(summary.Summary)
		if err := s.UnmarshalBinary(row.Summary); err != nil {
			continue
		}
		sums = append(sums, s)
	}
	svcs := graph.TraceGraph(sums)
	for i := range svcs {
		if len(out.Services) == 1000 { // RetrievedServicesList's limit
			break
		}
		out.Services = append(out.Services, retrievedService{Service: renderService(&svcs[i]), Links: []struct{}{}})
	}
	return out, nil
}

func (a *API) cancelTraceRetrieval(ctx context.Context, body []byte) (any, error) {
	var in struct{ RetrievalToken string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.retrieval(in.RetrievalToken); err != nil {
		return nil, err
	}
	a.retr.mu.Lock()
	a.retr.m[in.RetrievalToken].status = "CANCELLED"
	a.retr.mu.Unlock()
	return struct{}{}, nil
}
