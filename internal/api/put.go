package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

type putTraceSegmentsInput struct {
	TraceSegmentDocuments *[]string
}

type unprocessedTraceSegment struct {
	ID        string `json:"Id,omitempty"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

type putTraceSegmentsOutput struct {
	UnprocessedTraceSegments []unprocessedTraceSegment
}

// putTraceSegments validates every document, reports the rejected ones, and
// answers once the accepted ones are durable.
func (a *API) putTraceSegments(ctx context.Context, body []byte) (any, error) {
	var in putTraceSegmentsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.TraceSegmentDocuments == nil {
		return nil, invalid("TraceSegmentDocuments is required")
	}
	docs := *in.TraceSegmentDocuments
	out := putTraceSegmentsOutput{UnprocessedTraceSegments: []unprocessedTraceSegment{}}
	dec := a.decoders.Get().(*segment.Decoder)
	defer a.decoders.Put(dec)
	segs := make([]segment.Segment, 0, len(docs))
	var err error
	for i, doc := range docs {
		segs, err = dec.Decode(segs, []byte(doc))
		if err == nil {
			continue
		}
		u := unprocessedTraceSegment{ErrorCode: segment.CodeInvalidSegment, Message: err.Error()}
		var se *segment.Error
		if errors.As(err, &se) {
			u = unprocessedTraceSegment{ID: se.ID, ErrorCode: se.Code, Message: fmt.Sprintf("document %d: %s", i, se.Message)}
		}
		out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, u)
		a.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_rejected_total{protocol="api",reason=%q}`, u.ErrorCode)).Inc()
	}
	a.ms.GetOrCreateCounter(`counterspy_segments_received_total{protocol="api"}`).Add(len(segs))
	if err := a.ingest.SubmitWait(ctx, segs); err != nil {
		if errors.Is(err, ingest.ErrClosed) {
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailableException", Message: "the server is shutting down"}
		}
		if errors.Is(err, store.ErrNoSpace) {
			// Nothing of the call is stored; the same call succeeds once
			// space returns. The SDKs retry ThrottlingException with backoff.
			return nil, &Error{Status: http.StatusServiceUnavailable, Code: "ThrottlingException", Message: err.Error()}
		}
		return nil, fmt.Errorf("storing %d segments: %w", len(segs), err)
	}
	return out, nil
}
