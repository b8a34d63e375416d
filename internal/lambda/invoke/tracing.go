package invoke

import (
	"time"

	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/lambda/xraysegments"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// traceCtx is the tracing decision for one invocation.
type traceCtx struct {
	sampled bool
	// decided is false when nobody decided (PassThrough without an
	// upstream decision): the function gets only Root=.
	decided bool
	traceID xrayid.TraceID
	// parent is the caller's subsegment (0: Lambda starts the trace).
	parent xrayid.SegmentID
	svcID  xrayid.SegmentID
	rest   []string
}

// decide applies spec §6.1: an upstream Sampled=1/0 is followed in both
// modes; without one, Active samples and PassThrough does not. Lambda's
// own Active rate (1 request/s + 5%) is not reproduced: locally every
// request is worth a trace.
func (s *Service) decide(fn *Function, header string, at time.Time) traceCtx {
	h := xraysegments.ParseHeader(header)
	tc := traceCtx{rest: h.Rest, svcID: s.opts.IDs.Segment()}
	if id, err := xrayid.ParseTraceID(h.Root); err == nil {
		tc.traceID = id
		if p, err := xrayid.ParseSegmentID(h.Parent); err == nil {
			tc.parent = p
		}
	} else {
		tc.traceID = s.opts.IDs.Trace(at)
	}
	switch h.Sampled {
	case "1":
		tc.sampled, tc.decided = true, true
	case "0":
		tc.decided = true
	default:
		if fn.Tracing == Active {
			tc.sampled, tc.decided = true, true
		}
	}
	return tc
}

// runtimeHeader is the Lambda-Runtime-Trace-Id (and _X_AMZN_TRACE_ID) the
// function gets: Parent is the function segment, so the function's SDK
// subsegments attach to it.
func (tc traceCtx) runtimeHeader(fnSeg xrayid.SegmentID) string {
	h := xraysegments.Header{Root: tc.traceID.String(), Rest: tc.rest}
	if tc.decided {
		h.Parent = fnSeg.String()
		h.Sampled = "0"
		if tc.sampled {
			h.Sampled = "1"
		}
	}
	return h.String()
}

func (s *Service) service(fn *Function, tc traceCtx, requestID string, received time.Time) xraysegments.Service {
	return xraysegments.Service{TraceID: tc.traceID, ID: tc.svcID, Parent: tc.parent, Name: fn.Name, ARN: fn.ARN,
		RequestID: requestID, Start: received}
}

// function builds the AWS::Lambda::Function segment of one attempt.
func (s *Service) function(fn *Function, tc traceCtx, id, parent xrayid.SegmentID, ex *pool.Execution) xraysegments.Function {
	pf := fn.Pool.Function()
	f := xraysegments.Function{TraceID: tc.traceID, ID: id, Parent: parent, Name: fn.Name, ARN: fn.ARN,
		AccountID: pf.AccountID, LogGroup: pool.LogGroup(fn.Name)}
	ids := s.opts.IDs
	failed := ex.Outcome != pool.Succeeded && ex.Outcome != pool.FunctionError
	if ex.Cold {
		f.Init = &xraysegments.Span{ID: ids.Segment(), Start: ex.InitStart, End: ex.InitEnd, Fault: ex.Outcome == pool.InitFailed}
	}
	switch {
	case ex.Outcome == pool.InitFailed:
		f.Start, f.End = ex.InitStart, ex.InitEnd
	case ex.Cold:
		// Initialization precedes the function segment, as in real traces.
		f.Start, f.End = ex.InitEnd, ex.Last()
	default:
		f.Start, f.End = ex.Begin, ex.Last()
	}
	if ex.Delivered {
		f.Invocation = &xraysegments.Span{ID: ids.Segment(), Start: ex.Start, End: ex.End, Fault: failed}
		f.ResponseLatency = ex.End.Sub(ex.Start)
	}
	if !ex.OverheadEnd.IsZero() {
		f.Overhead = &xraysegments.Span{ID: ids.Segment(), Start: ex.End, End: ex.OverheadEnd}
		f.RuntimeOverhead = ex.OverheadEnd.Sub(ex.End)
	}
	if ex.Err != nil {
		// Lambda flags a function's unhandled error as error; timeouts,
		// crashes and failed inits as fault (the function never answered).
		if failed {
			f.Fault = true
		} else {
			f.Error = true
		}
		if len(ex.XRayCause) > 0 {
			f.Cause = xraysegments.FixCause(ids, ex.XRayCause)
		}
		if f.Cause == nil {
			f.Cause = xraysegments.Cause(ids, ex.Dir, ex.Err.Type, ex.Err.Message)
		}
	}
	return f
}

func (s *Service) send(svc *xraysegments.Service) {
	if err := s.opts.Emitter.SendService(svc); err != nil {
		s.sendFailed(svc.TraceID, err)
	}
}

func (s *Service) sendFunction(f *xraysegments.Function) {
	if err := s.opts.Emitter.SendFunction(f); err != nil {
		s.sendFailed(f.TraceID, err)
	}
}

// sendFailed warns at most once a minute (a daemon that is not running
// refuses every datagram).
func (s *Service) sendFailed(trace xrayid.TraceID, err error) {
	now := time.Now().UnixNano()
	last := s.lastSendWarn.Load()
	if now-last < int64(time.Minute) || !s.lastSendWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("lambda: sending segments to the X-Ray daemon address failed (repeats are not logged for a minute)",
		"daemon", s.opts.Emitter.Addr(), "trace_id", trace.String(), "err", err)
}
