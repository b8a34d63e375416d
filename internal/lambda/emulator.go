// Package lambda is the local Lambda service: it runs real functions
// through the Lambda Runtime API and produces what AWS would — the two X-Ray
// segments of every traced call (with Initialization on cold starts, Dwell
// Time and Attempt #N on asynchronous calls), the platform log lines with
// measured durations and memory, cold starts, warm reuse, timeouts, init
// errors — behind the Invoke API and an S3 → SNS event source.
//
// The parts, one job each:
//
//	invoke       Invoke API, tracing decision, async queue and retries, segments
//	eventsource  S3 upload → SNS notification → subscribed functions
//	pool         a function's instances: cold/warm, concurrency, idle, timeouts
//	instance     one instance's process: env, output lines, memory, kill
//	runtimes     python3.x / nodejsNN.x / provided: how a runtime starts, the shipped clients
//	runtimeapi   the Runtime API one instance talks to
//	xraysegments the AWS::Lambda and AWS::Lambda::Function segments, UDP emitter
//	lambdalog    START/END/REPORT/XRAY lines and log sinks
//	controlplane GetFunction, ListFunctions, CreateFunction, UpdateFunctionCode, ...
//	extensions   the Extensions API of one instance (external extensions)
//	telemetry    the Telemetry API of one instance (subscriptions, delivery)
//	template     functions, buckets and topics from SAM and cdk synth templates
//	code         deployment packages unpacked into managed directories
//
// Start wires them; Handler serves the Invoke API and the event endpoints,
// so `counterspy lambda` runs it on its own address and `counterspy serve`
// can mount it.
package lambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/eventsource"
	"github.com/counterspy/counterspy/internal/lambda/invoke"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/lambda/runtimes"
	"github.com/counterspy/counterspy/internal/lambda/xraysegments"
)

// Defaults of the Lambda service.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "123456789012"
)

// Emulator is a running local Lambda service.
type Emulator struct {
	cfg Config
	log *slog.Logger
	// mu guards the function tables, which the control plane API changes
	// (CreateFunction, UpdateFunctionCode, DeleteFunction, ...).
	mu      sync.RWMutex
	defs    map[string]*definition
	pools   map[string]*pool.Pool
	fns     map[string]*invoke.Function
	svc     *invoke.Service
	src     *eventsource.Source
	emitter *xraysegments.Emitter
	// closed is set by Close; replaced holds pools of replaced or deleted
	// functions still finishing their invocations.
	closed   bool
	replaced map[*pool.Pool]struct{}
	retiring sync.WaitGroup
	writer   *lambdalog.Writer
	rt       *runtimes.Set
	handler  http.Handler
}

// Start validates cfg and prepares the functions; instances start on the
// first invocation, as on Lambda. ctx is not retained.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Env == nil {
		cfg.Env = inheritedEnv()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, log: cfg.Logger, pools: map[string]*pool.Pool{}, fns: map[string]*invoke.Function{},
		rt: runtimes.New(runtimes.Options{}), defs: map[string]*definition{}, replaced: map[*pool.Pool]struct{}{}}
	if cfg.XRayAddr != "" {
		em, err := xraysegments.NewEmitter(cfg.XRayAddr)
		if err != nil {
			return nil, err
		}
		e.emitter = em
	}
	if cfg.Logs != nil {
		e.writer = lambdalog.NewWriter(cfg.Logs, lambdalog.WriterOptions{Logger: cfg.Logger})
	}
	retries := 2
	if cfg.Async.MaxRetries != nil {
		retries = *cfg.Async.MaxRetries
	}
	var delays []time.Duration
	for _, d := range cfg.Async.RetryDelays {
		delays = append(delays, time.Duration(d))
	}
	e.svc = invoke.New(nil, invoke.Options{Emitter: e.emitter, MaxRetries: retries, RetryDelays: delays,
		Observe: cfg.Observe, Logger: cfg.Logger})
	for _, fc := range cfg.Functions {
		if err := e.put(&definition{FunctionConfig: fc, reservedSet: fc.Concurrency > 0}); err != nil {
			e.Close(ctx)
			return nil, err
		}
	}
	src, err := eventsource.New(eventsource.Config{Region: cfg.Region, AccountID: cfg.AccountID, Buckets: cfg.Buckets, Topics: cfg.Topics},
		asyncInvoker{e})
	if err != nil {
		e.Close(ctx)
		return nil, err
	}
	e.src = src

	mux := http.NewServeMux()
	e.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	e.handler = mux
	return e, nil
}

func (e *Emulator) poolFunction(fc FunctionConfig) (pool.Function, error) {
	if len(fc.Command) == 0 {
		return e.managedFunction(fc)
	}
	cmd := append([]string(nil), fc.Command...)
	dir := fc.Dir
	if dir == "" {
		if filepath.IsAbs(cmd[0]) {
			dir = filepath.Dir(cmd[0])
		} else {
			wd, err := os.Getwd()
			if err != nil {
				return pool.Function{}, err
			}
			dir = wd
		}
	}
	if !strings.Contains(cmd[0], string(filepath.Separator)) {
		// "bootstrap" means the function's own file, as in a Lambda task
		// root, when there is one; else a program on PATH (python3, node).
		if st, err := os.Stat(filepath.Join(dir, cmd[0])); err == nil && !st.IsDir() {
			cmd[0] = filepath.Join(dir, cmd[0])
		}
	} else if !filepath.IsAbs(cmd[0]) {
		// Relative to the emulator's directory, not the function's.
		abs, err := filepath.Abs(cmd[0])
		if err != nil {
			return pool.Function{}, err
		}
		cmd[0] = abs
	}
	handler := fc.Handler
	if handler == "" {
		handler = filepath.Base(cmd[0])
	}
	xray := e.cfg.XRayAddr
	return pool.Function{
		Name: fc.Name, ARN: e.ARN(fc.Name), AccountID: e.cfg.AccountID, Region: e.cfg.Region,
		Command: cmd, Dir: dir, Handler: handler, Runtime: fc.Runtime, Env: fc.Environment,
		MemoryMB: fc.MemoryMB, Timeout: time.Duration(fc.Timeout), InitTimeout: time.Duration(fc.InitTimeout),
		IdleTimeout: time.Duration(fc.IdleTimeout), Concurrency: fc.Concurrency, XRayDaemonAddr: xray,
	}, nil
}

// managedFunction is a function defined by its runtime, handler and code
// directory, started the way Lambda starts that runtime.
func (e *Emulator) managedFunction(fc FunctionConfig) (pool.Function, error) {
	dir := fc.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return pool.Function{}, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return pool.Function{}, fmt.Errorf("function %q: code directory %s: not a directory", fc.Name, dir)
	}
	l, err := e.rt.Launch(fc.Runtime, fc.Handler, dir)
	if err != nil {
		return pool.Function{}, fmt.Errorf("function %q: %w", fc.Name, err)
	}
	handler := fc.Handler
	if handler == "" {
		handler = "bootstrap"
	}
	return pool.Function{
		Name: fc.Name, ARN: e.ARN(fc.Name), AccountID: e.cfg.AccountID, Region: e.cfg.Region,
		Command: l.Command, Dir: dir, RuntimeDir: l.RuntimeDir, RuntimeEnv: l.Env, Handler: handler, Runtime: fc.Runtime,
		Env: fc.Environment, MemoryMB: fc.MemoryMB, Timeout: time.Duration(fc.Timeout), InitTimeout: time.Duration(fc.InitTimeout),
		IdleTimeout: time.Duration(fc.IdleTimeout), Concurrency: fc.Concurrency, XRayDaemonAddr: e.cfg.XRayAddr,
	}, nil
}

// ARN is a function's ARN.
func (e *Emulator) ARN(function string) string {
	return "arn:aws:lambda:" + e.cfg.Region + ":" + e.cfg.AccountID + ":function:" + function
}

// Handler serves the Invoke API (POST /2015-03-31/functions/{name}/invocations),
// the event endpoints (/counterspy/v1/s3/..., /counterspy/v1/sns/...) and
// GET /healthz.
func (e *Emulator) Handler() http.Handler { return e.handler }

// Register mounts the Invoke API and event endpoints on mux (for `counterspy
// serve`, whose mux already has /healthz).
func (e *Emulator) Register(mux *http.ServeMux) {
	e.svc.Register(mux)
	e.src.Register(mux)
	e.controlPlane().Register(mux)
}

// Invoke runs a synchronous invocation in-process (no HTTP).
func (e *Emulator) Invoke(function string, payload []byte) (*pool.Response, error) {
	f, err := e.svc.Lookup(function, "")
	if err != nil {
		return nil, err
	}
	res, err := e.svc.Invoke(f, invoke.Call{Payload: payload})
	if err != nil {
		return nil, err
	}
	res.Responded()
	return res.Response, nil
}

// Upload emits an object upload to bucket (S3 → SNS → functions).
func (e *Emulator) Upload(bucket, key string, body []byte) (*eventsource.UploadResult, error) {
	return e.src.Upload(bucket, key, body, "127.0.0.1")
}

// Pool returns a function's instance pool (for tests and metrics).
func (e *Emulator) Pool(function string) *pool.Pool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.pools[function]
}

// FlushLogs waits until the log records written so far reached the sink.
func (e *Emulator) FlushLogs(ctx context.Context) error {
	if e.writer == nil {
		return nil
	}
	return e.writer.Flush(ctx)
}

// Close stops the event queue, shuts every instance down and flushes the
// logs, bounded by ctx.
func (e *Emulator) Close(ctx context.Context) error {
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), 100*time.Millisecond)
	}
	var errs []error
	if e.svc != nil {
		// No new work and no more retries; running attempts end when
		// their instances are shut down.
		e.svc.Stop()
	}
	e.mu.Lock()
	e.closed = true
	pools := make([]*pool.Pool, 0, len(e.pools))
	for _, p := range e.pools {
		pools = append(pools, p)
	}
	for p := range e.replaced {
		pools = append(pools, p)
	}
	e.mu.Unlock()
	for _, p := range pools {
		errs = append(errs, p.Close(timeout))
	}
	e.retiring.Wait()
	if e.svc != nil {
		errs = append(errs, e.svc.Close(timeout))
	}
	if e.writer != nil {
		errs = append(errs, e.writer.Close(ctx))
	}
	if e.emitter != nil {
		errs = append(errs, e.emitter.Close())
	}
	errs = append(errs, e.rt.Close())
	return errors.Join(errs...)
}

type asyncInvoker struct{ e *Emulator }

func (a asyncInvoker) InvokeAsync(function string, payload []byte) (string, error) {
	f, err := a.e.svc.Lookup(function, "")
	if err != nil {
		return "", err
	}
	return a.e.svc.InvokeAsync(f, invoke.Call{Payload: payload})
}

// inheritedEnv is what functions inherit from the host: enough to find
// programs and write caches, nothing else (Lambda's environment is clean).
func inheritedEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCACHE", "GOPATH", "GOMODCACHE", "NODE_PATH", "PYTHONPATH", "SSL_CERT_FILE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// String describes the emulator's functions for a start-up message.
func (e *Emulator) String() string {
	var b strings.Builder
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, name := range slices.Sorted(maps.Keys(e.pools)) {
		pf := e.pools[name].Function()
		fmt.Fprintf(&b, "  %s  %s  (%d MB, timeout %v, tracing %s)\n", name, strings.Join(pf.Command, " "), pf.MemoryMB, pf.Timeout, e.fns[name].Tracing)
	}
	return b.String()
}
