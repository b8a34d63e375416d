// Package runtimeapi serves the Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) to one
// function instance, so any runtime client works unchanged: aws-lambda-go's
// lambda.Start, the Python and Node runtime interface clients, a custom
// bootstrap. The instance finds it through AWS_LAMBDA_RUNTIME_API.
//
//	GET  /2018-06-01/runtime/invocation/next            long-poll for the next event
//	POST /2018-06-01/runtime/invocation/{id}/response   the handler's result
//	POST /2018-06-01/runtime/invocation/{id}/error      the handler's error
//	POST /2018-06-01/runtime/init/error                 init failed
//
// The server only moves events and results; the caller (the pool) decides
// timeouts, logs and segments. Each GET /next is counted and time-stamped:
// the first one ends the init phase, the one after a result ends the
// invocation's Overhead.
package runtimeapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/httpguard"
)

// MaxResponseSize is Lambda's limit on a synchronous response payload.
const MaxResponseSize = 6 << 20

// Header names of the Runtime API.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN        = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderClientContext      = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity    = "Lambda-Runtime-Cognito-Identity"
	HeaderErrorType          = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody          = "Lambda-Runtime-Function-Error-Body"
	HeaderXRayErrorCause     = "Lambda-Runtime-Function-Xray-Error-Cause"
	prefix                   = "/2018-06-01/runtime/"
	errorTypeInvalidID       = "InvalidRequestID"
	errorTypeInvalidState    = "InvalidStateTransition"
	errorTypeResponseTooLong = "Function.ResponseSizeTooLarge"
)

// Invocation is one event for the runtime. The caller fills the request
// fields; the server fills the rest and closes Done when the runtime
// answered.
type Invocation struct {
	RequestID       string
	FunctionARN     string
	Deadline        time.Time
	TraceHeader     string // Lambda-Runtime-Trace-Id
	ClientContext   string // JSON
	CognitoIdentity string // JSON
	Payload         []byte

	done chan struct{}
	// Set by the /next handler that took the event, before taken is
	// closed and before the runtime sees the event.
	taken       chan struct{}
	deliveredAt time.Time
	seq         int
	// Set before done is closed.
	result Result
}

// NewInvocation prepares an invocation for Deliver.
func NewInvocation() *Invocation {
	return &Invocation{done: make(chan struct{}), taken: make(chan struct{})}
}

// Done is closed when the runtime posted a response or an error.
func (inv *Invocation) Done() <-chan struct{} { return inv.done }

// Result is valid after Done is closed.
func (inv *Invocation) Result() *Result { return &inv.result }

// Result is the runtime's answer to one invocation.
type Result struct {
	// At is when the answer arrived; Begun when the runtime started
	// sending it (the request's headers), for the Telemetry API's
	// responseLatency and responseDuration.
	At, Begun   time.Time
	Payload     []byte
	ContentType string
	// Err is set when the runtime called /error (or its response stream
	// failed, or was too large).
	Err *Error
	// XRayCause is the Lambda-Runtime-Function-Xray-Error-Cause header.
	XRayCause []byte
}

// Error is a function error as the runtime reported it.
type Error struct {
	Type    string
	Message string
	// Body is the error document as the runtime sent it (usually
	// {"errorMessage","errorType","stackTrace"}); it is what a synchronous
	// caller receives.
	Body []byte
}

// Server is one instance's Runtime API endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
	mux *http.ServeMux

	deliver chan *Invocation
	closed  chan struct{}
	once    sync.Once

	mu       sync.Mutex
	nextN    int
	nextAt   time.Time
	nextCh   chan struct{}
	current  *Invocation
	initErr  *Error
	initErrC chan struct{}
}

// Listen starts a server on addr (use "127.0.0.1:0").
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, deliver: make(chan *Invocation), closed: make(chan struct{}),
		nextCh: make(chan struct{}), initErrC: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"invocation/next", s.next)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/response", s.response)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST "+prefix+"init/error", s.initError)
	s.mux = mux
	// Only the function's own runtime calls this API; the guard keeps a web
	// page from posting forged results to it (docs/security.md).
	s.srv = &http.Server{Handler: httpguard.Wrap(mux, httpguard.Options{Addr: ln.Addr().String()}), ReadHeaderTimeout: 30 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Handle serves more APIs on the same address, as Lambda does: the
// Extensions API (/2020-01-01/extension/...) and the Telemetry API
// (/2022-07-01/telemetry).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server; a pending /next returns.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.srv.Close()
}

// NextState returns how many times the runtime asked for the next event,
// when it last did, and a channel closed at the next ask.
func (s *Server) NextState() (n int, at time.Time, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextN, s.nextAt, s.nextCh
}

// InitError returns a channel closed when the runtime called /init/error,
// and the error (nil before).
func (s *Server) InitError() (<-chan struct{}, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErrC, s.initErr
}

// Deliver hands inv to the runtime's pending (or next) GET /next. It
// returns false if abort is closed, timeout fires or the server closes
// first.
func (s *Server) Deliver(inv *Invocation, abort <-chan struct{}, timeout <-chan time.Time) bool {
	select {
	case s.deliver <- inv:
		return true
	case <-abort:
	case <-timeout:
	case <-s.closed:
	}
	return false
}

// Delivered returns when inv was handed to the runtime, and the count of
// /next calls at that time (the one that took it). Call it after Deliver
// returned true.
func (s *Server) Delivered(inv *Invocation) (time.Time, int) {
	<-inv.taken
	return inv.deliveredAt, inv.seq
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nextN++
	s.nextAt = time.Now()
	close(s.nextCh)
	s.nextCh = make(chan struct{})
	s.mu.Unlock()

	var inv *Invocation
	select {
	case inv = <-s.deliver:
	case <-r.Context().Done():
		return
	case <-s.closed:
		http.Error(w, "shutting down", http.StatusGone)
		return
	}
	s.mu.Lock()
	inv.deliveredAt = time.Now()
	inv.seq = s.nextN
	s.current = inv
	s.mu.Unlock()
	close(inv.taken)

	h := w.Header()
	h["Lambda-Runtime-Aws-Request-Id"] = []string{inv.RequestID}
	h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(inv.Deadline.UnixMilli(), 10)}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{inv.FunctionARN}
	if inv.TraceHeader != "" {
		h["Lambda-Runtime-Trace-Id"] = []string{inv.TraceHeader}
	}
	if inv.ClientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{inv.ClientContext}
	}
	if inv.CognitoIdentity != "" {
		h["Lambda-Runtime-Cognito-Identity"] = []string{inv.CognitoIdentity}
	}
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.Payload))}
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Payload)
}

// claim takes the in-flight invocation id, or answers 400 and returns nil.
func (s *Server) claim(w http.ResponseWriter, id string) *Invocation {
	s.mu.Lock()
	inv := s.current
	if inv != nil && inv.RequestID == id {
		s.current = nil
	}
	s.mu.Unlock()
	if inv == nil || inv.RequestID != id {
		typ, msg := errorTypeInvalidID, "Invalid request ID"
		if inv == nil {
			typ, msg = errorTypeInvalidState, "no invocation in progress for request ID "+id
		}
		writeError(w, http.StatusBadRequest, typ, msg)
		return nil
	}
	return inv
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	begun := time.Now()
	inv := s.claim(w, r.PathValue("id"))
	if inv == nil {
		io.Copy(io.Discard, io.LimitReader(r.Body, MaxResponseSize))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	res := Result{ContentType: r.Header.Get("Content-Type"), Payload: body}
	status := http.StatusAccepted
	switch {
	case len(body) > MaxResponseSize:
		msg := "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(MaxResponseSize) + " bytes)."
		res.Payload = nil
		res.Err = newError(errorTypeResponseTooLong, msg)
		status = http.StatusRequestEntityTooLarge
	case err != nil:
		res.Err = newError("Runtime.ResponseStreamError", "reading the response: "+err.Error())
	case r.Trailer.Get(HeaderErrorType) != "":
		// aws-lambda-go reports a failed response stream in trailers.
		res.Payload = nil
		typ := r.Trailer.Get(HeaderErrorType)
		body, derr := base64.StdEncoding.DecodeString(r.Trailer.Get(HeaderErrorBody))
		if derr != nil || len(body) == 0 {
			res.Err = newError(typ, "response stream failed")
		} else {
			res.Err = parseError(typ, body)
		}
	}
	res.At, res.Begun = time.Now(), begun
	inv.result = res
	close(inv.done)
	if status == http.StatusAccepted {
		writeJSON(w, status, `{"status":"OK"}`)
	} else {
		writeError(w, status, res.Err.Type, res.Err.Message)
	}
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := s.claim(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize))
	res := Result{Err: parseError(r.Header.Get(HeaderErrorType), body)}
	if c := r.Header.Get(HeaderXRayErrorCause); c != "" {
		res.XRayCause = []byte(c)
	}
	res.At = time.Now()
	res.Begun = res.At
	inv.result = res
	close(inv.done)
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize))
	e := parseError(r.Header.Get(HeaderErrorType), body)
	s.mu.Lock()
	if s.initErr == nil {
		s.initErr = e
		close(s.initErrC)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
}

// parseError reads {"errorMessage","errorType",...}; the header type wins
// when the body has none. A body that is not such a document is kept as
// the message.
func parseError(headerType string, body []byte) *Error {
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	e := &Error{Type: headerType}
	if json.Unmarshal(body, &doc) == nil {
		if doc.Type != "" {
			e.Type = doc.Type
		}
		e.Message = doc.Message
		e.Body = body
	} else if len(bytes.TrimSpace(body)) > 0 {
		e.Message = string(body)
	}
	if e.Type == "" {
		e.Type = "Unhandled"
	}
	if e.Body == nil {
		e.Body = errorBody(e.Type, e.Message)
	}
	return e
}

func newError(typ, msg string) *Error {
	return &Error{Type: typ, Message: msg, Body: errorBody(typ, msg)}
}

// NewError builds a platform error (Runtime.ExitError, timeouts) with the
// body a caller receives.
func NewError(typ, msg string) *Error { return newError(typ, msg) }

// errorBody is the error document Lambda returns for platform errors.
func errorBody(typ, msg string) []byte {
	doc := map[string]string{"errorMessage": msg}
	if typ != "" {
		doc["errorType"] = typ
	}
	b, _ := json.Marshal(doc)
	return b
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	writeJSON(w, status, string(b))
}
