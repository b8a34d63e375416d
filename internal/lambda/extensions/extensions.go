// Package extensions is the Lambda Extensions API of one execution
// environment (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html),
// served next to the Runtime API on AWS_LAMBDA_RUNTIME_API:
//
//	POST /2020-01-01/extension/register     Lambda-Extension-Name, {"events":["INVOKE","SHUTDOWN"]}
//	GET  /2020-01-01/extension/event/next   long-poll: INVOKE or SHUTDOWN
//	POST /2020-01-01/extension/init/error   the extension failed to start
//	POST /2020-01-01/extension/exit/error   the extension failed while exiting
//
// The Registry holds the registered extensions and the state the
// lifecycle needs: init ends when the runtime and every extension have
// asked for their next event; an invocation ends when the runtime answered
// and every extension registered for INVOKE asked again (the time in
// between is the function's post-runtime extension time, part of Overhead);
// SHUTDOWN goes to those registered for it.
package extensions

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Header names of the Extensions API.
const (
	HeaderName       = "Lambda-Extension-Name"
	HeaderIdentifier = "Lambda-Extension-Identifier"
	HeaderEventID    = "Lambda-Extension-Event-Identifier"
	HeaderErrorType  = "Lambda-Extension-Function-Error-Type"
	prefix           = "/2020-01-01/extension/"
	// MaxExtensions is Lambda's limit per function.
	MaxExtensions = 10
)

// Event types.
const (
	Invoke   = "INVOKE"
	Shutdown = "SHUTDOWN"
)

// Function is what the register response tells an extension.
type Function struct {
	Name, Version, Handler, AccountID string
}

// Extension is one registered extension.
type Extension struct {
	ID, Name string
	Events   []string

	queue chan []byte
	// waiting: blocked in /event/next; pending: got an INVOKE and has not
	// asked for the next event since; gone: got SHUTDOWN and asked again,
	// or its process exited.
	waiting, pending bool
	lastNext         time.Time
}

func (x *Extension) wants(ev string) bool { return slices.Contains(x.Events, ev) }

// Error is an extension's init or exit error.
type Error struct {
	Extension, Type, Message string
}

// Registry is one environment's Extensions API.
type Registry struct {
	fn Function
	// OnRegister, when set, sees every registration (the Telemetry API's
	// platform.extension event).
	OnRegister func(name string, events []string)

	mu       sync.Mutex
	exts     map[string]*Extension // by identifier
	order    []*Extension
	initDone bool
	initErr  *Error
	exitErrs []Error
	changed  chan struct{}
	closed   chan struct{}
	once     sync.Once
}

// New returns an empty registry for the function fn.
func New(fn Function) *Registry {
	return &Registry{fn: fn, exts: map[string]*Extension{}, changed: make(chan struct{}), closed: make(chan struct{})}
}

// Register mounts the API on h (the environment's Runtime API server).
func (r *Registry) Register(handle func(pattern string, h http.Handler)) {
	handle("POST "+prefix+"register", http.HandlerFunc(r.register))
	handle("GET "+prefix+"event/next", http.HandlerFunc(r.next))
	handle("POST "+prefix+"init/error", http.HandlerFunc(r.initError))
	handle("POST "+prefix+"exit/error", http.HandlerFunc(r.exitError))
}

// Close ends every pending /event/next.
func (r *Registry) Close() { r.once.Do(func() { close(r.closed) }) }

// notifyLocked wakes everyone waiting for a state change.
func (r *Registry) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]string{"errorType": typ, "errorMessage": msg})
}

func (r *Registry) register(w http.ResponseWriter, req *http.Request) {
	name := req.Header.Get(HeaderName)
	var body struct {
		Events []string `json:"events"`
	}
	b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if name == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "the "+HeaderName+" header is required")
		return
	}
	if err := json.Unmarshal(b, &body); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "the body must be {\"events\": [...]}: "+err.Error())
		return
	}
	for _, ev := range body.Events {
		if ev != Invoke && ev != Shutdown {
			writeError(w, http.StatusBadRequest, "Extension.InvalidEventType", "unknown event type "+ev+" (INVOKE or SHUTDOWN)")
			return
		}
	}
	r.mu.Lock()
	switch {
	case r.initDone:
		r.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.InvalidRegistrationPhase", "extensions register during the init phase only")
		return
	case len(r.order) >= MaxExtensions:
		r.mu.Unlock()
		writeError(w, http.StatusBadRequest, "Extension.TooManyExtensions", "a function has at most 10 extensions")
		return
	case slices.ContainsFunc(r.order, func(x *Extension) bool { return x.Name == name }):
		r.mu.Unlock()
		writeError(w, http.StatusConflict, "Extension.AlreadyRegistered", "extension "+name+" is already registered")
		return
	}
	var id [16]byte
	rand.Read(id[:])
	x := &Extension{ID: uuidString(id), Name: name, Events: body.Events, queue: make(chan []byte, 4)}
	r.exts[x.ID] = x
	r.order = append(r.order, x)
	r.notifyLocked()
	r.mu.Unlock()
	if r.OnRegister != nil {
		r.OnRegister(name, body.Events)
	}
	w.Header().Set(HeaderIdentifier, x.ID)
	writeJSON(w, http.StatusOK, map[string]string{"functionName": r.fn.Name, "functionVersion": r.fn.Version,
		"handler": r.fn.Handler, "accountId": r.fn.AccountID})
}

func uuidString(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lookup finds the caller by its identifier header, or answers 403.
func (r *Registry) lookup(w http.ResponseWriter, req *http.Request) *Extension {
	id := req.Header.Get(HeaderIdentifier)
	r.mu.Lock()
	x := r.exts[id]
	r.mu.Unlock()
	if x == nil {
		writeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown "+HeaderIdentifier+" "+id)
	}
	return x
}

// ValidIdentifier reports whether id names a registered extension, and its
// name (the Telemetry API accepts subscriptions from extensions only).
func (r *Registry) ValidIdentifier(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if x := r.exts[id]; x != nil {
		return x.Name, true
	}
	return "", false
}

func (r *Registry) next(w http.ResponseWriter, req *http.Request) {
	x := r.lookup(w, req)
	if x == nil {
		return
	}
	r.mu.Lock()
	x.waiting, x.pending, x.lastNext = true, false, time.Now()
	r.notifyLocked()
	r.mu.Unlock()
	var ev []byte
	select {
	case ev = <-x.queue:
	case <-req.Context().Done():
	case <-r.closed:
	}
	r.mu.Lock()
	x.waiting = false
	r.mu.Unlock()
	if ev == nil {
		return
	}
	var id [16]byte
	rand.Read(id[:])
	w.Header().Set(HeaderEventID, uuidString(id))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(ev)
}

func (r *Registry) readError(w http.ResponseWriter, req *http.Request) (*Extension, Error, bool) {
	x := r.lookup(w, req)
	if x == nil {
		return nil, Error{}, false
	}
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	json.Unmarshal(b, &doc)
	e := Error{Extension: x.Name, Type: req.Header.Get(HeaderErrorType), Message: doc.Message}
	if e.Type == "" {
		e.Type = doc.Type
	}
	if e.Type == "" {
		e.Type = "Extension.Unknown"
	}
	return x, e, true
}

func (r *Registry) initError(w http.ResponseWriter, req *http.Request) {
	_, e, ok := r.readError(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	if r.initErr == nil {
		r.initErr = &e
	}
	r.notifyLocked()
	r.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (r *Registry) exitError(w http.ResponseWriter, req *http.Request) {
	_, e, ok := r.readError(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	r.exitErrs = append(r.exitErrs, e)
	r.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// Names returns the registered extensions' names.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.order {
		out = append(out, x.Name)
	}
	return out
}

// ErrAborted is returned when a wait is cut short by abort.
var ErrAborted = errors.New("aborted")

// wait blocks until cond (called with mu held) is true, abort is closed
// or the deadline passes.
func (r *Registry) wait(deadline time.Time, abort <-chan struct{}, cond func() bool) error {
	timer := time.NewTimer(max(time.Until(deadline), 0))
	defer timer.Stop()
	for {
		r.mu.Lock()
		ok, ch := cond(), r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-abort:
			return ErrAborted
		case <-timer.C:
			return errors.New("timed out")
		}
	}
}

// WaitRegistered waits until every name in names registered; abort ends
// the wait early (an extension process exited).
func (r *Registry) WaitRegistered(names []string, deadline time.Time, abort <-chan struct{}) error {
	return r.wait(deadline, abort, func() bool {
		for _, n := range names {
			if !slices.ContainsFunc(r.order, func(x *Extension) bool { return x.Name == n }) {
				return false
			}
		}
		return true
	})
}

// InitState reports whether every registered extension is waiting for
// its next event (its init is done), and an init error one reported; the
// channel is closed at the next change.
func (r *Registry) InitState() (ready bool, initErr *Error, changed <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready = true
	for _, x := range r.order {
		if !x.waiting {
			ready = false
		}
	}
	return ready, r.initErr, r.changed
}

// InitDone closes registration.
func (r *Registry) InitDone() {
	r.mu.Lock()
	r.initDone = true
	r.mu.Unlock()
}

// InvokeEvent is the INVOKE event
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#runtimes-extensions-invoke).
type InvokeEvent struct {
	RequestID, FunctionARN, TraceHeader string
	Deadline                            time.Time
}

// Invoke hands the INVOKE event to every extension registered for it.
func (r *Registry) Invoke(ev InvokeEvent) {
	doc := map[string]any{"eventType": Invoke, "deadlineMs": ev.Deadline.UnixMilli(), "requestId": ev.RequestID,
		"invokedFunctionArn": ev.FunctionARN}
	if ev.TraceHeader != "" {
		doc["tracing"] = map[string]string{"type": "X-Amzn-Trace-Id", "value": ev.TraceHeader}
	}
	b, _ := json.Marshal(doc)
	r.mu.Lock()
	var targets []*Extension
	for _, x := range r.order {
		if x.wants(Invoke) {
			x.pending = true
			targets = append(targets, x)
		}
	}
	r.mu.Unlock()
	for _, x := range targets {
		select {
		case x.queue <- b:
		default: // an extension that never reads its events: drop rather than block the invocation
		}
	}
}

// WaitInvokeDone waits until every extension that got the INVOKE asked
// for its next event, and returns when the last one did (zero when none
// got it).
func (r *Registry) WaitInvokeDone(deadline time.Time, abort <-chan struct{}) (time.Time, error) {
	var last time.Time
	err := r.wait(deadline, abort, func() bool {
		last = time.Time{}
		for _, x := range r.order {
			if x.wants(Invoke) {
				if x.pending {
					return false
				}
				if x.lastNext.After(last) {
					last = x.lastNext
				}
			}
		}
		return true
	})
	return last, err
}

// Shutdown sends SHUTDOWN (reason spindown, timeout or failure) to the
// extensions registered for it and waits, up to deadline, until each asked
// for another event or abort is closed (its processes exited).
func (r *Registry) Shutdown(reason string, deadline time.Time, abort <-chan struct{}) {
	b, _ := json.Marshal(map[string]any{"eventType": Shutdown, "shutdownReason": reason, "deadlineMs": deadline.UnixMilli()})
	r.mu.Lock()
	var targets []*Extension
	for _, x := range r.order {
		if x.wants(Shutdown) {
			x.pending = true
			targets = append(targets, x)
		}
	}
	r.initDone = true
	r.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	for _, x := range targets {
		select {
		case x.queue <- b:
		default:
		}
	}
	r.wait(deadline, abort, func() bool {
		for _, x := range targets {
			if x.pending {
				return false
			}
		}
		return true
	})
}

// ExitErrors returns the errors extensions reported through /exit/error.
func (r *Registry) ExitErrors() []Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.exitErrs)
}
