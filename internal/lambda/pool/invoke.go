package pool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/extensions"
	"github.com/counterspy/counterspy/internal/lambda/instance"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/runtimeapi"
)

// Request is one invocation attempt.
type Request struct {
	RequestID string
	Payload   []byte
	// TraceHeader is passed to the runtime as Lambda-Runtime-Trace-Id
	// (Root=...;Parent=<function segment>;Sampled=...).
	TraceHeader string
	// TraceID and SegmentID go into the log records and the XRAY line when
	// Sampled; TraceID may be set for unsampled calls too (records only).
	TraceID, SegmentID string
	Sampled            bool
	ClientContext      string // JSON, for Lambda-Runtime-Client-Context
	// Wait makes Invoke queue for a free instance instead of failing with
	// ErrTooManyRequests (asynchronous invocations).
	Wait bool
	// Tail collects the invocation's log lines (X-Amz-Log-Type: Tail); the
	// invocation then returns only after its REPORT line.
	Tail bool
	// Finished, when set, is called once the attempt is over: the runtime
	// asked for its next event (end of Overhead) or the instance is gone,
	// and the END and REPORT lines are written. It runs after Invoke
	// returned (before, with Tail).
	Finished func(*Execution)
}

// Outcome is how an attempt ended.
type Outcome int

const (
	Succeeded     Outcome = iota
	FunctionError         // the runtime posted /error
	TimedOut              // the function ran past its timeout; instance killed
	Crashed               // the runtime exited during the invocation
	InitFailed            // the instance failed to initialize
)

func (o Outcome) String() string {
	return [...]string{"succeeded", "function error", "timed out", "runtime exited", "init failed"}[o]
}

// Response is what the caller of the function gets.
type Response struct {
	Outcome Outcome
	// Payload is the function's response, or the error document when Err
	// is set.
	Payload     []byte
	ContentType string
	Err         *runtimeapi.Error
	// LogTail is the last 4 KB of the invocation's log (Tail only).
	LogTail []byte
}

// Execution is the timeline of one attempt, for the X-Ray segments.
type Execution struct {
	RequestID string
	// Begin is when the attempt got its instance slot (the end of any
	// queueing).
	Begin time.Time
	Cold  bool
	// InitStart and InitEnd bound the init phase (cold starts only):
	// process start to the runtime's first request for an event.
	InitStart, InitEnd time.Time
	// Start and End bound Invocation: event handed to the runtime to its
	// answer (or the timeout, or its exit). Delivered is false when the
	// handler never got the event (init failure, a runtime that died
	// first); Start is then End.
	Start, End time.Time
	Delivered  bool
	// OverheadEnd is when the runtime asked for the next event after
	// answering; zero when the instance did not survive the attempt.
	OverheadEnd time.Time
	Outcome     Outcome
	Err         *runtimeapi.Error
	// XRayCause is the cause the runtime attached to its error.
	XRayCause   []byte
	MaxMemoryMB int
	// Dir is the function's working directory (for error causes).
	Dir string
}

// Last returns the end of the attempt's last phase.
func (e *Execution) Last() time.Time {
	switch {
	case !e.OverheadEnd.IsZero():
		return e.OverheadEnd
	case !e.End.IsZero():
		return e.End
	default:
		return e.InitEnd
	}
}

// Invoke runs one attempt on a warm instance, or a new one. It returns when
// the function answered (its response, its error, a timeout, a crash, a
// failed init); the instance's Overhead, the END and REPORT lines and the
// Finished callback follow in the background. stop aborts waiting for a
// free instance (Wait).
func (p *Pool) Invoke(stop <-chan struct{}, req *Request) (*Response, error) {
	if !p.enter() {
		return nil, ErrClosed
	}
	defer p.wg.Done()
	if err := p.acquire(stop, req.Wait); err != nil {
		return nil, err
	}
	ex := &Execution{RequestID: req.RequestID, Begin: time.Now(), Dir: p.fn.Dir}
	sb := p.takeInstance()
	if sb == nil {
		ex.Cold = true
		var ok bool
		if sb, ok = p.coldStart(ex, req); !ok {
			return p.initFailed(sb, ex, req), nil
		}
	} else if req.Tail {
		sb.startTail(req.RequestID)
	}
	return p.run(sb, ex, req), nil
}

// coldStart starts an instance and waits for its init phase to end. On
// failure the instance is stopped, ex says why and ok is false.
func (p *Pool) coldStart(ex *Execution, req *Request) (sb *sandbox, ok bool) {
	ex.InitStart = time.Now()
	sb = &sandbox{id: newInstanceID()}
	sb.stream = logStream(ex.InitStart, sb.id)
	if req.Tail {
		sb.startTail(req.RequestID)
	}
	api, err := runtimeapi.Listen("127.0.0.1:0")
	if err != nil {
		ex.InitEnd = time.Now()
		ex.Outcome, ex.Err = InitFailed, runtimeapi.NewError("Runtime.Unavailable", "runtime api: "+err.Error())
		return sb, false
	}
	sb.api = api
	p.mu.Lock()
	p.all[sb] = struct{}{}
	p.mu.Unlock()
	p.platform(sb, "", "", lambdalog.InitStartLine(p.fn.Runtime, runtimeARN(p.fn.Region)))
	// Initialization is the function's own start: process start (its
	// extensions' first) to its first request for an event.
	ex.InitStart = time.Now()
	if files := extensionFiles(p.fn.Dir); len(files) > 0 {
		if e := p.startExtensions(sb, api, files, ex.InitStart, ex.InitStart.Add(p.fn.InitTimeout)); e != nil {
			ex.InitEnd = time.Now()
			ex.Outcome, ex.Err = InitFailed, e
			return sb, false
		}
	}
	proc, err := instance.Start(instance.Spec{Command: p.fn.Command, Dir: p.fn.Dir, Env: p.env(sb), Output: p.output(sb)})
	if err != nil {
		ex.InitEnd = time.Now()
		ex.Outcome = InitFailed
		ex.Err = runtimeapi.NewError("Runtime.InvalidEntrypoint",
			"RequestId: "+req.RequestID+" Error: "+entrypointError(err))
		return sb, false
	}
	p.mu.Lock() // Close reads it
	sb.proc = proc
	p.mu.Unlock()

	initErrC, _ := api.InitError()
	timer := time.NewTimer(max(time.Until(ex.InitStart.Add(p.fn.InitTimeout)), 0))
	defer timer.Stop()
	for {
		n, at, changed := api.NextState()
		// Init is over when the runtime and every extension asked for
		// their next event.
		extReady, extChanged, extExited := true, (<-chan struct{})(nil), (<-chan struct{})(nil)
		if sb.ext != nil {
			var extErr *extensions.Error
			extReady, extErr, extChanged = sb.ext.InitState()
			extExited = sb.extExited
			if extErr != nil {
				ex.InitEnd = time.Now()
				ex.Outcome, ex.Err = InitFailed, runtimeapi.NewError(extErr.Type, "extension "+extErr.Extension+": "+extErr.Message)
				return sb, false
			}
		}
		if n > 0 && extReady {
			ex.InitEnd = at
			if sb.ext != nil {
				ex.InitEnd = time.Now()
				sb.ext.InitDone()
				p.initTelemetry(sb, ex, "success", "")
			}
			// The function's init output is in the pipes before its first
			// request for an event; let it be read before START.
			wait(proc.Attribute(instance.Attribution{RequestID: req.RequestID, TraceID: req.logTraceID()}), 100*time.Millisecond)
			sb.notePeak(proc.PeakMemory())
			return sb, true
		}
		select {
		case <-changed:
			continue
		case <-extChanged:
			continue
		case <-extExited:
			ex.InitEnd = time.Now()
			ex.Outcome, ex.Err = InitFailed, runtimeapi.NewError("Extension.Crash", "an extension exited during init")
			// An extension that reported its init error and exited failed
			// with that error.
			if _, extErr, _ := sb.ext.InitState(); extErr != nil {
				ex.Err = runtimeapi.NewError(extErr.Type, "extension "+extErr.Extension+": "+extErr.Message)
			}
		case <-initErrC:
			ex.InitEnd = time.Now()
			_, e := api.InitError()
			ex.Outcome, ex.Err = InitFailed, e
		case <-proc.Exited():
			ex.InitEnd = time.Now()
			ex.Outcome = InitFailed
			// A runtime that reported its init error and exited failed
			// with that error.
			if _, e := api.InitError(); e != nil {
				ex.Err = e
			} else {
				ex.Err = runtimeapi.NewError("Runtime.ExitError", "RequestId: "+req.RequestID+" Error: Runtime exited "+exitText(proc.ExitErr()))
			}
		case <-timer.C:
			ex.InitEnd = time.Now()
			ex.Outcome = InitFailed
			ex.Err = runtimeapi.NewError("Sandbox.Timedout", "RequestId: "+req.RequestID+" Error: Task timed out after "+
				strconv.FormatFloat(p.fn.InitTimeout.Seconds(), 'f', 2, 64)+" seconds")
		}
		return sb, false
	}
}

// initFailed reports a failed init as the invocation's result: INIT_REPORT,
// START, the error, END, REPORT with the error status.
func (p *Pool) initFailed(sb *sandbox, ex *Execution, req *Request) *Response {
	if sb.proc != nil {
		sb.proc.Kill()
		wait(sb.proc.OutputDone(), time.Second)
		ex.MaxMemoryMB = toMB(sb.proc.PeakMemory())
	}
	status := "error"
	if ex.Err.Type == "Sandbox.Timedout" {
		status = "timeout"
	}
	p.platform(sb, "", "", lambdalog.InitReportLine(ex.InitEnd.Sub(ex.InitStart), status, ex.Err.Type))
	p.initTelemetry(sb, ex, status, ex.Err.Type) // delivered before the extensions get SHUTDOWN
	lines := []string{lambdalog.StartLine(req.RequestID)}
	if ex.Err.Type == "Runtime.ExitError" || ex.Err.Type == "Runtime.InvalidEntrypoint" {
		lines = append(lines, ex.Err.Message, ex.Err.Type)
	}
	lines = append(lines, lambdalog.EndLine(req.RequestID), lambdalog.Report{
		RequestID: req.RequestID, Duration: ex.InitEnd.Sub(ex.InitStart), MemoryMB: p.fn.MemoryMB,
		MaxMemoryUsedMB: ex.MaxMemoryMB, Status: status, ErrorType: ex.Err.Type,
	}.Line())
	if req.Sampled {
		lines = append(lines, lambdalog.XRayLine(req.TraceID, req.SegmentID, true))
	}
	p.platform(sb, req.RequestID, req.logTraceID(), lines...)
	resp := &Response{Outcome: InitFailed, Payload: ex.Err.Body, ContentType: "application/json", Err: ex.Err}
	if req.Tail {
		resp.LogTail = sb.takeTail()
	}
	p.release(sb, false, false)
	p.releaseSlot()
	if req.Finished != nil {
		req.Finished(ex)
	}
	return resp
}

// run delivers the event to a ready instance and waits for the answer.
func (p *Pool) run(sb *sandbox, ex *Execution, req *Request) *Response {
	p.platform(sb, req.RequestID, req.logTraceID(), lambdalog.StartLine(req.RequestID))
	sb.emit(time.Now(), "platform.start", withTracing(map[string]any{"requestId": req.RequestID, "version": lambdalog.Version}, req))
	if !ex.Cold {
		// Cold starts set it with the init barrier.
		sb.proc.Switch(instance.Attribution{RequestID: req.RequestID, TraceID: req.logTraceID()})
	}
	inv := runtimeapi.NewInvocation()
	inv.RequestID = req.RequestID
	inv.FunctionARN = p.fn.ARN
	inv.TraceHeader = req.TraceHeader
	inv.ClientContext = req.ClientContext
	inv.Payload = req.Payload
	inv.Deadline = time.Now().Add(p.fn.Timeout)
	timer := time.NewTimer(p.fn.Timeout)
	defer timer.Stop()

	var seq int
	var begun time.Time // when the runtime started sending its answer
	resp := &Response{}
	timedOut := func() {
		ex.End = time.Now()
		ex.Outcome = TimedOut
		p.platform(sb, req.RequestID, req.logTraceID(), lambdalog.TimeoutMessage(ex.End, req.RequestID, p.fn.Timeout))
		ex.Err = runtimeapi.NewError("Sandbox.Timedout", "RequestId: "+req.RequestID+" Error: Task timed out after "+
			strconv.FormatFloat(p.fn.Timeout.Seconds(), 'f', 2, 64)+" seconds")
		sb.proc.Kill()
	}
	crashed := func() {
		ex.End = time.Now()
		ex.Outcome = Crashed
		ex.Err = runtimeapi.NewError("Runtime.ExitError", "RequestId: "+req.RequestID+" Error: Runtime exited "+exitText(sb.proc.ExitErr()))
	}
	if sb.ext != nil {
		sb.ext.Invoke(extensions.InvokeEvent{RequestID: req.RequestID, FunctionARN: p.fn.ARN, TraceHeader: req.TraceHeader, Deadline: inv.Deadline})
	}
	if sb.api.Deliver(inv, sb.proc.Exited(), timer.C) {
		ex.Start, seq = sb.api.Delivered(inv)
		ex.Delivered = true
		select {
		case <-inv.Done():
			r := inv.Result()
			if r.At.After(inv.Deadline) {
				// The answer came after the deadline (both channels were
				// ready and select chose this one): Lambda would have
				// stopped the function first, so it is a timeout.
				timedOut()
				break
			}
			ex.End, begun = r.At, r.Begun
			resp.Payload, resp.ContentType, resp.Err = r.Payload, r.ContentType, r.Err
			if r.Err != nil {
				ex.Outcome, ex.Err, ex.XRayCause = FunctionError, r.Err, r.XRayCause
				resp.ContentType = "application/json"
			}
		case <-sb.proc.Exited():
			crashed()
		case <-timer.C:
			timedOut()
		}
	} else if sb.dead() {
		crashed()
	} else {
		timedOut()
	}
	if ex.Start.IsZero() {
		ex.Start = ex.End
	}
	resp.Outcome = ex.Outcome
	if sb.tel != nil {
		rec := status(ex.Outcome, ex.Err)
		rec["requestId"] = req.RequestID
		rec["metrics"] = map[string]any{"durationMs": millis(ex.End.Sub(ex.Start)), "producedBytes": len(resp.Payload)}
		// responseLatency: event delivered to the runtime starting its
		// answer; responseDuration: sending it.
		if begun.IsZero() || begun.Before(ex.Start) {
			begun = ex.End
		}
		rec["spans"] = []map[string]any{
			{"name": "responseLatency", "start": lambdalog.FormatTime(ex.Start), "durationMs": millis(begun.Sub(ex.Start))},
			{"name": "responseDuration", "start": lambdalog.FormatTime(begun), "durationMs": millis(ex.End.Sub(begun))},
		}
		sb.emit(ex.End, "platform.runtimeDone", withTracing(rec, req))
	}
	if ex.Outcome == Succeeded || ex.Outcome == FunctionError {
		p.markFinishing()
	}
	if ex.Outcome != Succeeded {
		resp.Payload, resp.ContentType, resp.Err = ex.Err.Body, "application/json", ex.Err
	}
	if req.Tail {
		p.finish(sb, ex, req, seq, resp)
		return resp
	}
	p.wg.Go(func() { p.finish(sb, ex, req, seq, nil) })
	return resp
}

// finish waits for the end of Overhead, writes END and REPORT, gives the
// instance back and calls Finished. With Tail it fills resp.LogTail.
func (p *Pool) finish(sb *sandbox, ex *Execution, req *Request, seq int, resp *Response) {
	healthy := ex.Outcome == Succeeded || ex.Outcome == FunctionError
	finishing := healthy
	var extEnd time.Time // when the last extension finished its post-runtime work
	if healthy {
		if at, ok := p.waitNext(sb, seq, ex.Start.Add(p.fn.Timeout)); ok {
			ex.OverheadEnd = at
		} else {
			healthy = false
		}
		if healthy && sb.ext != nil {
			// The invocation ends when the extensions that got INVOKE are
			// done too: their post-runtime time is part of Overhead, and
			// of the REPORT's (billed) Duration — "you are charged for the
			// execution time that the extension consumes"
			// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html).
			last, err := sb.ext.WaitInvokeDone(ex.Start.Add(p.fn.Timeout), sb.extExited)
			if err != nil {
				healthy = false
			} else {
				extEnd = last
				if last.After(ex.OverheadEnd) {
					ex.OverheadEnd = last
				}
			}
		}
	}
	if healthy {
		// Everything the function wrote for this invocation is in the
		// pipes: it asked for the next event. Lines after the barrier
		// belong to no invocation until the next START.
		wait(sb.proc.Attribute(instance.Attribution{}), time.Second)
	} else {
		sb.proc.Kill()
		wait(sb.proc.OutputDone(), time.Second)
	}
	ex.MaxMemoryMB = toMB(sb.notePeak(sb.proc.PeakMemory() + sb.extensionsPeak()))

	rep := lambdalog.Report{RequestID: req.RequestID, Duration: ex.End.Sub(ex.Start), MemoryMB: p.fn.MemoryMB,
		MaxMemoryUsedMB: ex.MaxMemoryMB}
	if extEnd.After(ex.End) {
		rep.Duration = extEnd.Sub(ex.Start) // the runtime's part is in platform.runtimeDone
	}
	if ex.Cold {
		rep.InitDuration = ex.InitEnd.Sub(ex.InitStart)
	}
	var lines []string
	switch ex.Outcome {
	case TimedOut:
		rep.Status = "timeout"
		sb.reason = "timeout"
	case Crashed:
		rep.Status, rep.ErrorType = "error", ex.Err.Type
		lines = append(lines, ex.Err.Message, ex.Err.Type)
	}
	lines = append(lines, lambdalog.EndLine(req.RequestID), rep.Line())
	if req.Sampled {
		lines = append(lines, lambdalog.XRayLine(req.TraceID, req.SegmentID, true))
	}
	p.platform(sb, req.RequestID, req.logTraceID(), lines...)
	if sb.tel != nil {
		metrics := map[string]any{"durationMs": millis(rep.Duration), "billedDurationMs": lambdalog.BilledMillis(rep.Duration + rep.InitDuration),
			"memorySizeMB": rep.MemoryMB, "maxMemoryUsedMB": rep.MaxMemoryUsedMB}
		if rep.InitDuration > 0 {
			metrics["initDurationMs"] = millis(rep.InitDuration)
		}
		rec := status(ex.Outcome, ex.Err)
		rec["requestId"], rec["metrics"] = req.RequestID, metrics
		sb.emit(time.Now(), "platform.report", withTracing(rec, req))
	}
	if resp != nil {
		resp.LogTail = sb.takeTail()
	}
	p.release(sb, healthy, finishing)
	p.releaseSlot()
	if req.Finished != nil {
		req.Finished(ex)
	}
}

// waitNext waits for a GET /next after the one numbered seq; false when
// the process exits or the deadline passes first.
func (p *Pool) waitNext(sb *sandbox, seq int, deadline time.Time) (time.Time, bool) {
	timer := time.NewTimer(max(time.Until(deadline), 10*time.Millisecond))
	defer timer.Stop()
	for {
		n, at, changed := sb.api.NextState()
		if n > seq {
			return at, true
		}
		select {
		case <-changed:
		case <-sb.proc.Exited():
			return time.Time{}, false
		case <-timer.C:
			return time.Time{}, false
		}
	}
}

// env is the instance's environment: inherited basics, the Lambda
// variables, then the function's own.
func (p *Pool) env(sb *sandbox) []string {
	fn := p.fn
	runtimeDir := fn.RuntimeDir
	if runtimeDir == "" {
		runtimeDir = fn.Dir
	}
	env := append([]string(nil), p.opts.Env...)
	env = append(env,
		"AWS_LAMBDA_FUNCTION_NAME="+fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION="+lambdalog.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME="+LogGroup(fn.Name),
		"AWS_LAMBDA_LOG_STREAM_NAME="+sb.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_RUNTIME_API="+sb.api.Addr(),
		"AWS_REGION="+fn.Region,
		"AWS_DEFAULT_REGION="+fn.Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=test",
		"LAMBDA_TASK_ROOT="+fn.Dir,
		"LAMBDA_RUNTIME_DIR="+runtimeDir,
		"_HANDLER="+fn.Handler,
		"AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		// Not set by Lambda, whose Python runtime writes logs unbuffered
		// by other means; without it print() output arrives at exit.
		"PYTHONUNBUFFERED=1",
	)
	if fn.XRayDaemonAddr != "" {
		env = append(env, "AWS_XRAY_DAEMON_ADDRESS="+fn.XRayDaemonAddr)
	}
	env = append(env, fn.RuntimeEnv...)
	for k, v := range fn.Env {
		env = append(env, k+"="+v)
	}
	return env
}

func (r *Request) logTraceID() string { return r.TraceID }

func wait(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// notePeak records a peak memory reading and returns the highest so far.
func (sb *sandbox) notePeak(b int64) int64 {
	for {
		old := sb.peak.Load()
		if b <= old {
			return old
		}
		if sb.peak.CompareAndSwap(old, b) {
			return b
		}
	}
}

func toMB(b int64) int { return int((b + 1<<20 - 1) >> 20) }

// exitText is "with error: exit status 1" or "without providing a reason"
// as Lambda words it.
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "with error: " + ee.Error()
	}
	if err != nil {
		return "with error: " + err.Error()
	}
	return "without providing a reason"
}

func entrypointError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	return err.Error()
}
