// Package invoke is the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations) in front of the
// function pools: RequestResponse, Event (queued, with Lambda's
// asynchronous retries) and DryRun, so `aws lambda invoke --endpoint-url`
// and the AWS SDKs work against it. It decides tracing per call (spec
// §6.1) and sends the two Lambda segments of every traced attempt.
package invoke

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/httpbody"
	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/lambda/xraysegments"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Tracing modes (TracingConfig.Mode).
const (
	Active      = "Active"
	PassThrough = "PassThrough"
)

// Function is one invocable function.
type Function struct {
	Name, ARN string
	Tracing   string
	Pool      *pool.Pool
	// Stopped is set when the function's reserved concurrency is 0
	// (PutFunctionConcurrency): every invocation is throttled.
	Stopped bool
}

// Options configure the service.
type Options struct {
	// Emitter receives the Lambda segments; nil sends none.
	Emitter *xraysegments.Emitter
	IDs     *xraysegments.IDs
	// MaxRetries is how often a failed asynchronous invocation is retried
	// (Lambda: 0–2, default 2); RetryDelays the waits before retry 1, 2,
	// ... (Lambda waits about 1 and 2 minutes; the last delay repeats).
	MaxRetries  int
	RetryDelays []time.Duration
	// MaxQueued bounds the asynchronous events waiting or retrying.
	MaxQueued int
	// Observe, when set, sees every finished attempt (metrics, tests).
	Observe func(function string, ex *pool.Execution)
	Logger  *slog.Logger
}

// Limits of the Invoke API: 6 MB synchronous; 1 MB asynchronous since
// AWS raised it from 256 KB in October 2025
// (https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb/).
const (
	MaxSyncPayload  = 6 << 20
	MaxAsyncPayload = 1 << 20
)

// Service serves the Invoke API.
type Service struct {
	mu     sync.RWMutex
	fns    map[string]*Function
	opts   Options
	log    *slog.Logger
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	queued atomic.Int64
	// lastSendWarn is the time (Unix ns) of the last segment-send warning.
	lastSendWarn atomic.Int64
}

// New returns a service for fns.
func New(fns []*Function, opts Options) *Service {
	if opts.IDs == nil {
		opts.IDs = xraysegments.NewIDs()
	}
	if opts.RetryDelays == nil {
		opts.RetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 100000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{fns: map[string]*Function{}, opts: opts, log: opts.Logger, stop: make(chan struct{})}
	for _, f := range fns {
		s.fns[f.Name] = f
	}
	return s
}

// Put adds a function or replaces the one of the same name; invocations
// already running keep the function they started with.
func (s *Service) Put(f *Function) {
	s.mu.Lock()
	s.fns[f.Name] = f
	s.mu.Unlock()
}

// Remove forgets a function (DeleteFunction).
func (s *Service) Remove(name string) {
	s.mu.Lock()
	delete(s.fns, name)
	s.mu.Unlock()
}

// replacement is the function that replaced fn under its name, if any.
func (s *Service) replacement(fn *Function) *Function {
	select {
	case <-s.stop:
		return nil
	default:
	}
	s.mu.RLock()
	nf := s.fns[fn.Name]
	s.mu.RUnlock()
	if nf == nil || nf == fn || nf.Stopped {
		return nil
	}
	return nf
}

// Stop stops accepting work and abandons queued events and pending
// retries; running attempts go on.
func (s *Service) Stop() { s.once.Do(func() { close(s.stop) }) }

// Close stops (see Stop) and waits, up to timeout, for running
// asynchronous attempts; closing the pools first ends them at once.
func (s *Service) Close(timeout time.Duration) error {
	s.Stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return errors.New("asynchronous invocations still running")
	}
}

// Handler serves POST /2015-03-31/functions/{name}/invocations.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Register adds the Invoke API routes to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.serveInvoke)
}

// Lookup resolves a function name, ARN or partial ARN with an optional
// qualifier (only $LATEST exists here).
func (s *Service) Lookup(name, qualifier string) (*Function, error) {
	n := name
	if strings.HasPrefix(n, "arn:") {
		// arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
		parts := strings.Split(n, ":")
		if len(parts) < 7 || parts[5] != "function" {
			return nil, notFound(name)
		}
		n = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	} else if parts := strings.Split(n, ":"); len(parts) >= 3 && parts[1] == "function" {
		n = parts[2] // <account>:function:<name>[:<qualifier>]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	} else if len(parts) == 2 {
		n, qualifier = parts[0], parts[1]
	}
	s.mu.RLock()
	f, ok := s.fns[n]
	s.mu.RUnlock()
	if !ok || (qualifier != "" && qualifier != "$LATEST") {
		if ok {
			return nil, notFound(f.ARN + ":" + qualifier)
		}
		return nil, notFound(name)
	}
	return f, nil
}

// Error is an Invoke API error.
type Error struct {
	Status  int
	Type    string
	Message string
	Reason  string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// NotFound is ResourceNotFoundException for a function.
func NotFound(what string) *Error { return notFound(what) }

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Type: "ResourceNotFoundException", Message: "Function not found: " + what}
}

// ErrThrottled is the answer when the function is at its concurrency.
var ErrThrottled = &Error{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
	Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}

// WriteError answers with Lambda's error envelope: the X-Amzn-ErrorType
// header and {"Type", "message"}; an error that is not an *Error is a 500
// ServiceException.
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Type: "ServiceException", Message: err.Error()}
	}
	doc := map[string]string{"Type": "User", "message": e.Message}
	if e.Status >= 500 {
		doc["Type"] = "Service"
	}
	if e.Reason != "" {
		doc["Reason"] = e.Reason
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	w.Write(b)
}

// Call is one invocation request.
type Call struct {
	Payload []byte
	// TraceHeader is the caller's X-Amzn-Trace-Id, if any.
	TraceHeader   string
	ClientContext string // JSON
	Tail          bool
	Received      time.Time
}

func (s *Service) serveInvoke(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	fn, err := s.Lookup(r.PathValue("name"), r.URL.Query().Get("Qualifier"))
	if err != nil {
		writeError(w, err)
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	limit := int64(MaxSyncPayload)
	if typ == "Event" {
		limit = MaxAsyncPayload
	}
	payload, err := httpbody.Read(w, r, limit) // the auth middleware may have read it already
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		writeError(w, &Error{Status: http.StatusRequestEntityTooLarge, Type: "RequestTooLargeException",
			Message: "Request must be smaller than " + itoa(limit) + " bytes for the InvokeFunction operation"})
		return
	}
	if err != nil {
		writeError(w, &Error{Status: http.StatusBadRequest, Type: "InvalidRequestContentException", Message: "reading the payload: " + err.Error()})
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		// Lambda checks the payload is JSON before anything runs.
		writeError(w, &Error{Status: http.StatusBadRequest, Type: "InvalidRequestContentException",
			Message: "Could not parse request body into json: Could not parse payload into json: " + jsonError(payload)})
		return
	}
	call := Call{Payload: payload, TraceHeader: r.Header.Get("X-Amzn-Trace-Id"), Received: received,
		Tail: r.Header.Get("X-Amz-Log-Type") == "Tail"}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			writeError(w, &Error{Status: http.StatusBadRequest, Type: "InvalidRequestContentException", Message: "Client context must be a valid Base64-encoded JSON object."})
			return
		}
		call.ClientContext = string(b)
	}
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		id, err := s.InvokeAsync(fn, call)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("X-Amzn-Requestid", id)
		w.WriteHeader(http.StatusAccepted)
	case "RequestResponse":
		res, err := s.Invoke(fn, call)
		if err != nil {
			writeError(w, err)
			return
		}
		h := w.Header()
		h.Set("X-Amzn-Requestid", res.RequestID)
		h.Set("X-Amz-Executed-Version", "$LATEST")
		h.Set("Content-Type", "application/json")
		if res.Response.Err != nil {
			h.Set("X-Amz-Function-Error", "Unhandled")
		}
		if call.Tail {
			h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.Response.LogTail))
		}
		w.WriteHeader(http.StatusOK)
		w.Write(res.Response.Payload)
		res.Responded()
	default:
		writeError(w, &Error{Status: http.StatusBadRequest, Type: "InvalidParameterValueException",
			Message: "1 validation error detected: Value '" + typ + "' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"})
	}
}

// Result of a synchronous invocation.
type Result struct {
	RequestID string
	Response  *pool.Response
	// Responded must be called once the answer went out (it ends the
	// service segment); it is safe to call more than once.
	Responded func()
}

// Invoke runs a synchronous (RequestResponse) invocation.
func (s *Service) Invoke(fn *Function, call Call) (*Result, error) {
	if call.Received.IsZero() {
		call.Received = time.Now()
	}
	reqID := uuid.NewString()
	tc := s.decide(fn, call.TraceHeader, call.Received)
	fnSeg := s.opts.IDs.Segment()
	if fn.Stopped {
		st := &syncTrace{s: s, fn: fn, tc: tc, fnSeg: fnSeg, requestID: reqID, received: call.Received}
		st.throttled()
		return nil, ErrThrottled
	}
	st := &syncTrace{s: s, fn: fn, tc: tc, fnSeg: fnSeg, requestID: reqID, received: call.Received}
	req := s.request(fn, tc, fnSeg, reqID, call)
	req.Finished = st.finished
	resp, err := fn.Pool.Invoke(s.stop, req)
	if err != nil && (errors.Is(err, pool.ErrTooManyRequests) || errors.Is(err, pool.ErrClosed)) {
		// The function was replaced (new code or configuration) between
		// the lookup and the call: its old instances are draining.
		if nf := s.replacement(fn); nf != nil {
			st.fn = nf
			resp, err = nf.Pool.Invoke(s.stop, req)
		}
	}
	if err != nil {
		if errors.Is(err, pool.ErrTooManyRequests) {
			st.throttled()
			return nil, ErrThrottled
		}
		if errors.Is(err, pool.ErrClosed) {
			return nil, &Error{Status: http.StatusServiceUnavailable, Type: "ServiceException", Message: "the emulator is shutting down"}
		}
		return nil, err
	}
	var once sync.Once
	return &Result{RequestID: reqID, Response: resp, Responded: func() { once.Do(st.responded) }}, nil
}

func (s *Service) request(fn *Function, tc traceCtx, fnSeg xrayid.SegmentID, reqID string, call Call) *pool.Request {
	req := &pool.Request{RequestID: reqID, Payload: call.Payload, TraceHeader: tc.runtimeHeader(fnSeg),
		ClientContext: call.ClientContext, Tail: call.Tail}
	if tc.sampled {
		req.Sampled = true
		req.TraceID = tc.traceID.String()
		req.SegmentID = fnSeg.String()
	}
	return req
}

// syncTrace joins the two ends of a synchronous call: the answer sent to
// the caller and the attempt's end (Overhead), then sends both segments.
type syncTrace struct {
	s         *Service
	fn        *Function
	tc        traceCtx
	fnSeg     xrayid.SegmentID
	requestID string
	received  time.Time

	mu        sync.Mutex
	n         int
	ex        *pool.Execution
	respondAt time.Time
}

func (st *syncTrace) finished(ex *pool.Execution) {
	if o := st.s.opts.Observe; o != nil {
		o(st.fn.Name, ex)
	}
	st.mu.Lock()
	st.ex = ex
	st.n++
	last := st.n == 2
	st.mu.Unlock()
	if last {
		st.emit()
	}
}

func (st *syncTrace) responded() {
	st.mu.Lock()
	st.respondAt = time.Now()
	st.n++
	last := st.n == 2
	st.mu.Unlock()
	if last {
		st.emit()
	}
}

func (st *syncTrace) emit() {
	if !st.tc.sampled || st.s.opts.Emitter == nil {
		return
	}
	svc := st.s.service(st.fn, st.tc, st.requestID, st.received)
	svc.Status = http.StatusOK
	svc.End = st.respondAt
	if l := st.ex.Last(); l.After(svc.End) {
		svc.End = l
	}
	st.s.send(&svc)
	fs := st.s.function(st.fn, st.tc, st.fnSeg, svc.ID, st.ex)
	st.s.sendFunction(&fs)
}

// throttled records a 429: the service segment alone, flagged.
func (st *syncTrace) throttled() {
	if !st.tc.sampled || st.s.opts.Emitter == nil {
		return
	}
	svc := st.s.service(st.fn, st.tc, st.requestID, st.received)
	svc.Status, svc.Error, svc.Throttle = http.StatusTooManyRequests, true, true
	svc.End = time.Now()
	st.s.send(&svc)
}

// jsonError says where a payload stops being JSON.
func jsonError(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return "invalid JSON"
	}
	return err.Error()
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
