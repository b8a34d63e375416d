package api

import (
	"context"
	"math"

	"github.com/counterspy/counterspy/internal/assemble"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// maxBatchGetTraces is X-Ray's limit on IDs per BatchGetTraces call; clients
// and paginators assume it.
const maxBatchGetTraces = 5

type batchGetTracesInput struct {
	TraceIds  *[]string
	NextToken *string
}

type traceOutput struct {
	ID            string  `json:"Id"`
	Duration      float64 `json:"Duration"`
	LimitExceeded bool    `json:"LimitExceeded"`
	Segments      []segmentOutput
}

type segmentOutput struct {
	ID       string `json:"Id"`
	Document string `json:"Document"`
}

type batchGetTracesOutput struct {
	Traces              []traceOutput
	UnprocessedTraceIds []string
}

func (a *API) batchGetTraces(ctx context.Context, body []byte) (any, error) {
	var in batchGetTracesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.TraceIds == nil {
		return nil, invalid("TraceIds is required")
	}
	if len(*in.TraceIds) > maxBatchGetTraces {
		return nil, invalid("Exceeding maximum query size: %d", maxBatchGetTraces)
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken is currently not supported")
	}
	out := batchGetTracesOutput{Traces: []traceOutput{}, UnprocessedTraceIds: []string{}}
	ids := make([]xrayid.TraceID, 0, len(*in.TraceIds))
	for _, s := range *in.TraceIds {
		id, err := xrayid.ParseTraceID(s)
		if err != nil {
			out.UnprocessedTraceIds = append(out.UnprocessedTraceIds, s)
			continue
		}
		ids = append(ids, id)
	}
	for t, err := range a.store.Traces(ctx, ids) {
		if err != nil {
			return nil, err
		}
		c, err := assemble.Compile(t, assemble.CompileOptions{MaxTraceBytes: a.opts.MaxTraceBytes})
		if err != nil {
			a.log.Warn("cannot compile trace", "trace_id", t.ID.String(), "err", err)
			out.UnprocessedTraceIds = append(out.UnprocessedTraceIds, t.ID.String())
			continue
		}
		to := traceOutput{ID: c.ID.String(), Duration: roundMicros(c.Duration), LimitExceeded: c.LimitExceeded, Segments: make([]segmentOutput, len(c.Segments))}
		for i, s := range c.Segments {
			to.Segments[i] = segmentOutput{ID: s.ID.String(), Document: string(s.Document)}
		}
		out.Traces = append(out.Traces, to)
	}
	return out, nil
}

// roundMicros drops float noise from differences of epoch seconds
// (0.17799997 → 0.178): documents carry microseconds at most.
func roundMicros(f float64) float64 { return math.Round(f*1e6) / 1e6 }
