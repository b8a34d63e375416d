package invoke

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/lambda/xraysegments"
)

// InvokeAsync queues an Event invocation and returns its request ID at
// once (the Invoke API's 202). The event waits for a free instance (Dwell
// Time), runs (Attempt #1) and, when the function fails (error, timeout,
// crash, failed init), is retried after RetryDelays up to MaxRetries
// times, every attempt under the same request ID, as Lambda does.
func (s *Service) InvokeAsync(fn *Function, call Call) (string, error) {
	select {
	case <-s.stop:
		return "", &Error{Status: http.StatusServiceUnavailable, Type: "ServiceException", Message: "the emulator is shutting down"}
	default:
	}
	if fn.Stopped {
		// Reserved concurrency 0: Lambda throttles the function's events
		// too; here the caller hears it at once.
		return "", ErrThrottled
	}
	if s.queued.Add(1) > int64(s.opts.MaxQueued) {
		s.queued.Add(-1)
		return "", &Error{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException", Message: "Rate Exceeded.",
			Reason: "CallerRateLimitExceeded"}
	}
	if call.Received.IsZero() {
		call.Received = time.Now()
	}
	reqID := uuid.NewString()
	tc := s.decide(fn, call.TraceHeader, call.Received)
	call.Tail = false
	s.wg.Go(func() {
		defer s.queued.Add(-1)
		s.runAsync(fn, tc, reqID, call)
	})
	return reqID, nil
}

func (s *Service) runAsync(fn *Function, tc traceCtx, reqID string, call Call) {
	svc := s.service(fn, tc, reqID, call.Received)
	svc.Status = http.StatusAccepted
	emit := tc.sampled && s.opts.Emitter != nil
	for attempt := 0; ; attempt++ {
		fnSeg := s.opts.IDs.Segment()
		req := s.request(fn, tc, fnSeg, reqID, call)
		req.Wait = true
		done := make(chan *pool.Execution, 1)
		req.Finished = func(ex *pool.Execution) { done <- ex }
		resp, err := fn.Pool.Invoke(s.stop, req)
		if errors.Is(err, pool.ErrClosed) {
			// Replaced while the event waited: the attempt runs on the
			// new definition, as Lambda's queue would deliver it.
			if nf := s.replacement(fn); nf != nil {
				fn = nf
				attempt--
				continue
			}
		}
		if err != nil {
			if !errors.Is(err, pool.ErrClosed) {
				s.log.Error("lambda: asynchronous invocation failed", "function", fn.Name, "request_id", reqID, "err", err)
			}
			return
		}
		ex := <-done
		if o := s.opts.Observe; o != nil {
			o(fn.Name, ex)
		}
		if attempt == 0 {
			svc.Dwell = &xraysegments.Span{ID: s.opts.IDs.Segment(), Start: call.Received, End: ex.Begin}
		}
		svc.Attempts = append(svc.Attempts, xraysegments.Span{ID: s.opts.IDs.Segment(), Start: ex.Begin, End: ex.Last()})
		if emit {
			f := s.function(fn, tc, fnSeg, svc.ID, ex)
			s.sendFunction(&f)
		}
		last := resp.Outcome == pool.Succeeded || attempt >= s.opts.MaxRetries
		if resp.Outcome != pool.Succeeded {
			s.log.Info("lambda: asynchronous invocation failed", "function", fn.Name, "request_id", reqID,
				"attempt", attempt+1, "outcome", resp.Outcome.String(), "error_type", resp.Err.Type, "retry", !last)
		}
		svc.End, svc.InProgress = ex.Last(), !last
		if emit {
			s.send(&svc)
		}
		if last {
			return
		}
		var delay time.Duration
		if n := len(s.opts.RetryDelays); n > 0 {
			delay = s.opts.RetryDelays[min(attempt, n-1)]
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
	}
}
