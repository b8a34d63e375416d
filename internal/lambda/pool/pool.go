// Package pool runs the instances (execution environments) of one function
// the way the Lambda service does: a cold start when no instance is free,
// warm reuse, one instance per concurrent invocation up to the function's
// concurrency, idle instances shut down, timeouts enforced (the instance is
// killed), init errors reported. Each invocation produces the timings the
// X-Ray segments need and the platform log lines (START, END, REPORT,
// XRAY, INIT_START, INIT_REPORT, timeouts).
package pool

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/extensions"
	"github.com/counterspy/counterspy/internal/lambda/instance"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/runtimeapi"
	"github.com/counterspy/counterspy/internal/lambda/telemetry"
	"github.com/counterspy/counterspy/internal/logs"
)

// Function describes one function and how to run an instance of it.
type Function struct {
	Name, ARN, AccountID, Region string
	// Command runs the function's runtime: a Go binary built for
	// aws-lambda-go, a bootstrap script, "python3 -m awslambdaric app.handler", ...
	Command []string
	// Dir is the working directory and LAMBDA_TASK_ROOT.
	Dir string
	// RuntimeDir is LAMBDA_RUNTIME_DIR (default Dir); RuntimeEnv the
	// runtime's own variables (AWS_EXECUTION_ENV, PYTHONPATH, ...), set
	// before the function's Env.
	RuntimeDir string
	RuntimeEnv []string
	Handler    string
	// Runtime names the runtime in INIT_START (e.g. provided.al2023).
	Runtime string
	// Env is the function's own environment (Environment.Variables).
	Env      map[string]string
	MemoryMB int
	// Timeout bounds one invocation (Lambda default 3 s); InitTimeout the
	// init phase (Lambda: 10 s); IdleTimeout how long an idle instance is
	// kept before it is shut down.
	Timeout, InitTimeout, IdleTimeout time.Duration
	// Concurrency is the most instances running at once (reserved
	// concurrency).
	Concurrency int
	// XRayDaemonAddr is AWS_XRAY_DAEMON_ADDRESS for the function's SDK.
	XRayDaemonAddr string
	// ShutdownGrace is the time between SIGTERM and SIGKILL when an
	// instance is shut down.
	ShutdownGrace time.Duration
}

// Defaults applied by New for zero values.
const (
	DefaultMemoryMB      = 128
	DefaultTimeout       = 3 * time.Second
	DefaultInitTimeout   = 10 * time.Second
	DefaultIdleTimeout   = 5 * time.Minute
	DefaultConcurrency   = 10
	DefaultShutdownGrace = 500 * time.Millisecond
	DefaultRuntime       = "provided.al2023"
)

// Options are the pool's surroundings.
type Options struct {
	// Logs receives every log record (function output and platform lines).
	Logs *lambdalog.Writer
	// Env is the part of the host environment instances inherit (PATH,
	// HOME, ...), before the Lambda variables.
	Env    []string
	Logger *slog.Logger
}

// ErrTooManyRequests is returned when every instance is busy and the
// function is at its concurrency (the Invoke API's 429
// TooManyRequestsException).
var ErrTooManyRequests = errors.New("rate exceeded: the function is at its concurrency limit")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("the function's pool is shut down")

// Pool holds the instances of one function.
type Pool struct {
	fn   Function
	opts Options
	log  *slog.Logger

	slots chan struct{}

	mu   sync.Mutex
	idle []*sandbox
	all  map[*sandbox]struct{}
	// finishing counts instances that answered and are about to be idle
	// (Overhead, END and REPORT); released is closed at each release.
	finishing int
	released  chan struct{}
	closed    bool
	done      chan struct{}
	wg        sync.WaitGroup
}

// New returns an empty pool; instances start on demand.
func New(fn Function, opts Options) *Pool {
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = DefaultMemoryMB
	}
	if fn.Timeout <= 0 {
		fn.Timeout = DefaultTimeout
	}
	if fn.InitTimeout <= 0 {
		fn.InitTimeout = DefaultInitTimeout
	}
	if fn.IdleTimeout <= 0 {
		fn.IdleTimeout = DefaultIdleTimeout
	}
	if fn.Concurrency <= 0 {
		fn.Concurrency = DefaultConcurrency
	}
	if fn.ShutdownGrace <= 0 {
		fn.ShutdownGrace = DefaultShutdownGrace
	}
	if fn.Runtime == "" {
		fn.Runtime = DefaultRuntime
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Pool{fn: fn, opts: opts, log: opts.Logger.With("function", fn.Name),
		slots: make(chan struct{}, fn.Concurrency), all: map[*sandbox]struct{}{}, done: make(chan struct{}),
		released: make(chan struct{})}
}

// Function returns the function's description, defaults applied.
func (p *Pool) Function() Function { return p.fn }

// Instances returns how many instances are running (busy and idle).
func (p *Pool) Instances() (total, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all), len(p.idle)
}

// Drain lets in-flight invocations finish (up to timeout, with their END
// and REPORT lines), then shuts the instances down: how a function is
// replaced by new code or configuration (UpdateFunctionCode) or deleted
// without cutting a running invocation short. New invocations must go to
// another pool meanwhile; those that reach this one wait or are throttled.
func (p *Pool) Drain(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// Holding every concurrency slot means no invocation is running.
	for range cap(p.slots) {
		select {
		case p.slots <- struct{}{}:
		case <-p.done:
			return nil
		case <-timer.C:
			return p.Close(0)
		}
	}
	return p.Close(timeout)
}

// Close shuts every instance down (an in-flight invocation ends as if the
// runtime crashed) and waits for in-flight work, bounded by timeout.
func (p *Pool) Close(timeout time.Duration) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	// Copies: an instance being started may get its process meanwhile;
	// it is stopped when its invocation releases it into a closed pool.
	all := make([]sandbox, 0, len(p.all))
	for sb := range p.all {
		if sb.idleTimer != nil {
			sb.idleTimer.Stop()
		}
		all = append(all, sandbox{proc: sb.proc, api: sb.api, ext: sb.ext, tel: sb.tel, extProcs: sb.extProcs,
			extExited: sb.extExited, extAllExited: sb.extAllExited})
	}
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for i := range all {
		wg.Go(func() { all[i].stop("spindown", p.fn.ShutdownGrace) })
	}
	wg.Wait()
	finished := make(chan struct{})
	go func() { p.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-time.After(timeout):
		return errors.New("pool " + p.fn.Name + ": in-flight invocations did not finish")
	}
}

// sandbox is one instance: its process and its Runtime API endpoint.
type sandbox struct {
	id        string
	stream    string
	api       *runtimeapi.Server
	proc      *instance.Process
	idleTimer *time.Timer
	peak      atomic.Int64

	tailMu  sync.Mutex
	tailReq string
	tail    []string

	// External extensions (nil without any), the Telemetry API, the
	// extension processes; extExited is closed when any of them exits,
	// extAllExited when all did.
	// reason is the SHUTDOWN reason when a failed attempt ends the
	// instance (timeout, else failure).
	reason                  string
	ext                     *extensions.Registry
	tel                     *telemetry.Hub
	extProcs                []*instance.Process
	extExited, extAllExited chan struct{}
}

// stop shuts the instance down: the runtime gets SIGTERM (then SIGKILL
// after grace), extensions get SHUTDOWN with reason (spindown, timeout,
// failure).
func (sb *sandbox) stop(reason string, grace time.Duration) {
	if sb.proc != nil {
		sb.proc.Stop(grace)
	}
	sb.stopExtensions(reason, grace)
	if sb.api != nil {
		sb.api.Close()
	}
}

func (sb *sandbox) dead() bool {
	if sb.proc == nil {
		return true
	}
	select {
	case <-sb.proc.Exited():
		return true
	default:
		return false
	}
}

// acquire takes a concurrency slot: waiting for one when wait is set
// (asynchronous invocations queue), else failing at once.
func (p *Pool) acquire(stop <-chan struct{}, wait bool) error {
	select {
	case <-p.done:
		return ErrClosed
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	if !wait {
		return ErrTooManyRequests
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-stop:
		return ErrClosed
	case <-p.done:
		return ErrClosed
	}
}

func (p *Pool) releaseSlot() { <-p.slots }

// enter counts an invocation as in-flight work unless the pool is closed.
// The count is taken under mu, where Close sets closed before it waits:
// a WaitGroup must not go from zero to one while Wait is running, and an
// invocation's own background work (its END and REPORT lines) is added
// while this count keeps the group above zero.
func (p *Pool) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// FinishingWait is how long an invocation waits for an instance that has
// answered its previous call and is about to ask for the next event,
// rather than starting a new one: a caller that invokes again right after
// its answer reuses the instance, as on Lambda.
const FinishingWait = 20 * time.Millisecond

// takeInstance returns an idle instance, or one that becomes idle within
// FinishingWait, or nil (start a new one).
func (p *Pool) takeInstance() *sandbox {
	var timer *time.Timer
	for {
		p.mu.Lock()
		if sb := p.popIdleLocked(); sb != nil || p.finishing == 0 {
			p.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return sb
		}
		ch := p.released
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(FinishingWait)
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil
		}
	}
}

// finishing marks an instance that answered and will be released.
func (p *Pool) markFinishing() {
	p.mu.Lock()
	p.finishing++
	p.mu.Unlock()
}

// popIdleLocked takes the most recently used idle instance, discarding
// any whose process died while idle.
func (p *Pool) popIdleLocked() *sandbox {
	for n := len(p.idle); n > 0; n = len(p.idle) {
		sb := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if sb.idleTimer != nil {
			sb.idleTimer.Stop()
			sb.idleTimer = nil
		}
		if sb.dead() {
			delete(p.all, sb)
			p.wg.Go(func() { sb.stop("failure", 0) })
			continue
		}
		return sb
	}
	return nil
}

// release returns a healthy instance to the idle list, or shuts a broken
// one down.
func (p *Pool) release(sb *sandbox, healthy, finishing bool) {
	p.mu.Lock()
	if finishing {
		p.finishing--
	}
	close(p.released)
	p.released = make(chan struct{})
	if !healthy || p.closed || sb.dead() {
		delete(p.all, sb)
		p.mu.Unlock()
		reason := "failure"
		switch {
		case p.closed && healthy:
			reason = "spindown"
		case sb.reason != "":
			reason = sb.reason
		}
		sb.stop(reason, 0)
		return
	}
	p.idle = append(p.idle, sb)
	sb.idleTimer = time.AfterFunc(p.fn.IdleTimeout, func() { p.reap(sb) })
	p.mu.Unlock()
}

// reap shuts down an instance that stayed idle for IdleTimeout.
func (p *Pool) reap(sb *sandbox) {
	p.mu.Lock()
	found := false
	for i, s := range p.idle {
		if s == sb {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			found = true
			break
		}
	}
	if found {
		delete(p.all, sb)
		sb.idleTimer = nil
	}
	p.mu.Unlock()
	if found {
		p.log.Debug("lambda: idle instance shut down", "instance", sb.id)
		sb.stop("spindown", p.fn.ShutdownGrace)
	}
}

func newInstanceID() string {
	var b [16]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// record builds a log record of sb's stream.
func (p *Pool) record(sb *sandbox, at time.Time, stream logs.Stream, requestID, traceID, msg string) logs.Record {
	return logs.Record{Time: at, Function: p.fn.Name, LogGroup: LogGroup(p.fn.Name), LogStream: sb.stream,
		RequestID: requestID, TraceID: traceID, Stream: stream, Message: msg}
}

// platform writes platform lines.
func (p *Pool) platform(sb *sandbox, requestID, traceID string, lines ...string) {
	at := time.Now()
	recs := make([]logs.Record, len(lines))
	for i, l := range lines {
		recs[i] = p.record(sb, at, logs.Platform, requestID, traceID, l)
	}
	sb.addTail(requestID, lines...)
	if p.opts.Logs != nil {
		p.opts.Logs.Add(recs...)
	}
}

// output receives the function's own lines.
func (p *Pool) output(sb *sandbox) func(instance.Line) {
	return func(l instance.Line) {
		sb.emit(l.Time, telemetry.TypeFunction, l.Text)
		sb.addTail(l.Attr.RequestID, l.Text)
		if p.opts.Logs != nil {
			p.opts.Logs.Add(p.record(sb, l.Time, l.Stream, l.Attr.RequestID, l.Attr.TraceID, l.Text))
		}
	}
}

// LogGroup is a function's CloudWatch-style log group.
func LogGroup(function string) string { return "/aws/lambda/" + function }

// logStream is "2026/11/25/[$LATEST]<instance id>".
func logStream(at time.Time, id string) string {
	return at.UTC().Format("2006/01/02") + "/[" + lambdalog.Version + "]" + id
}

// Tail collection for X-Amz-Log-Type: Tail.
func (sb *sandbox) startTail(requestID string) {
	sb.tailMu.Lock()
	sb.tailReq, sb.tail = requestID, nil
	sb.tailMu.Unlock()
}

func (sb *sandbox) addTail(requestID string, lines ...string) {
	sb.tailMu.Lock()
	if sb.tailReq != "" && (requestID == sb.tailReq || requestID == "") {
		sb.tail = append(sb.tail, lines...)
	}
	sb.tailMu.Unlock()
}

// takeTail returns the last 4 KB of the collected lines.
func (sb *sandbox) takeTail() []byte {
	sb.tailMu.Lock()
	defer sb.tailMu.Unlock()
	var b []byte
	for _, l := range sb.tail {
		b = append(b, l...)
		b = append(b, '\n')
	}
	sb.tailReq, sb.tail = "", nil
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return b
}
