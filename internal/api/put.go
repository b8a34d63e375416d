package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/counterspy/counterspy/internal/cluster"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// maxPutDocuments caps the documents of one PutTraceSegments call, so that
// a body of millions of empty strings cannot make an answer of millions of
// rejections. X-Ray documents no limit; its daemon and the OTel exporter
// send at most 50. See docs/security.md.
const maxPutDocuments = 10000

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

// xrayErrorCode is the UnprocessedTraceSegments ErrorCode X-Ray gives for
// a rejection: InvalidTraceId for a malformed trace ID, InvalidSegment for
// everything else (X-Ray's answers: "Invalid segment. ErrorCode:
// InvalidTraceId"). Counterspy's finer reason stays in the message and in
// the rejected-segments metric.
func xrayErrorCode(code string) string {
	if code == segment.CodeInvalidTraceID {
		return segment.CodeInvalidTraceID
	}
	return segment.CodeInvalidSegment
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
	if len(docs) > maxPutDocuments {
		return nil, invalid("TraceSegmentDocuments holds %d documents; the limit is %d per call", len(docs), maxPutDocuments)
	}
	out := putTraceSegmentsOutput{UnprocessedTraceSegments: []unprocessedTraceSegment{}}
	// Segments another node forwarded were counted by the protocol they
	// arrived on there; here they are counted apart, so that the sum over
	// protocols across the nodes counts each segment once.
	proto := "api"
	if cluster.Forwarded(ctx) {
		proto = "forwarded"
	}
	dec := a.decoders.Get().(*segment.Decoder)
	defer a.decoders.Put(dec)
	segs := make([]segment.Segment, 0, len(docs))
	var err error
	window, now := segment.Window{Retention: a.opts.Retention}, a.opts.Now()
	for i, doc := range docs {
		before := len(segs)
		segs, err = dec.Decode(segs, []byte(doc))
		if err == nil {
			// An array document is all or nothing, as in Decode.
			for j := before; j < len(segs) && err == nil; j++ {
				if e := window.Check(&segs[j], now); e != nil {
					err = e
				}
			}
			if err == nil {
				for _, s := range segs[before:] {
					for _, rp := range s.Repairs {
						a.ms.GetOrCreateCounter(rp.Metric(proto)).Inc()
					}
				}
				continue
			}
			clear(segs[before:])
			segs = segs[:before]
		}
		reason, u := segment.CodeInvalidSegment, unprocessedTraceSegment{ErrorCode: xrayErrorCode(segment.CodeInvalidSegment),
			Message: fmt.Sprintf("Invalid segment. ErrorCode: %s. document %d: %v", segment.CodeInvalidSegment, i, err)}
		var se *segment.Error
		if errors.As(err, &se) {
			reason = se.Code
			u = unprocessedTraceSegment{ID: se.ID, ErrorCode: xrayErrorCode(se.Code),
				Message: fmt.Sprintf("Invalid segment. ErrorCode: %s. document %d (%s): %s", xrayErrorCode(se.Code), i, se.Code, se.Message)}
		}
		out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, u)
		a.ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_rejected_total{protocol=%q,reason=%q}`, proto, reason)).Inc()
	}
	a.ms.GetOrCreateCounter(`counterspy_segments_received_total{protocol="` + proto + `"}`).Add(len(segs))
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
