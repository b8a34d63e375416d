package pool

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/extensions"
	"github.com/counterspy/counterspy/internal/lambda/instance"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/runtimeapi"
	"github.com/counterspy/counterspy/internal/lambda/telemetry"
)

// ExtensionsDir is where a function's external extensions live, relative
// to its code directory: Lambda runs every executable in /opt/extensions
// (a layer's extensions/ directory); locally the function's own
// extensions/ directory plays /opt.
const ExtensionsDir = "extensions"

// shutdownBudget is how long extensions get after SHUTDOWN (Lambda: 2,000
// ms with external extensions).
const shutdownBudget = 2 * time.Second

// extensionFiles lists the executables in dir/extensions, in name order
// (Lambda starts them in alphabetical order).
func extensionFiles(dir string) []string {
	ents, err := os.ReadDir(filepath.Join(dir, ExtensionsDir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, filepath.Join(dir, ExtensionsDir, e.Name()))
	}
	sort.Strings(out)
	return out
}

// emit sends a telemetry event when the instance has subscribers' hub.
func (sb *sandbox) emit(at time.Time, typ string, record any) {
	if sb.tel != nil {
		sb.tel.EmitAt(at, typ, record)
	}
}

// startExtensions sets up the Extensions and Telemetry APIs on the
// instance's Runtime API address, starts the extension processes and
// waits for each to register (the extension init phase, before the
// runtime starts). It returns the init error to report, if any.
func (p *Pool) startExtensions(sb *sandbox, api *runtimeapi.Server, files []string, initStart time.Time, deadline time.Time) *runtimeapi.Error {
	fn := p.fn
	sb.ext = extensions.New(extensions.Function{Name: fn.Name, Version: lambdalog.Version, Handler: fn.Handler, AccountID: fn.AccountID})
	sb.tel = telemetry.New(p.log)
	sb.tel.Authorize = sb.ext.ValidIdentifier
	sb.ext.OnRegister = func(name string, events []string) {
		sb.tel.Emit("platform.extension", map[string]any{"name": name, "state": "Ready", "events": events})
	}
	sb.ext.Register(api.Handle)
	sb.tel.Register(api.Handle)
	sb.emit(initStart, "platform.initStart", map[string]any{"initializationType": "on-demand", "phase": "init",
		"runtimeVersion": fn.Runtime, "runtimeVersionArn": runtimeARN(fn.Region), "functionName": fn.Name,
		"functionVersion": lambdalog.Version})
	sb.extExited = make(chan struct{})
	var names []string
	var once sync.Once
	var wg sync.WaitGroup
	for _, f := range files {
		name := filepath.Base(f)
		names = append(names, name)
		proc, err := instance.Start(instance.Spec{Command: []string{f}, Dir: fn.Dir, Env: p.env(sb), Output: p.extensionOutput(sb)})
		if err != nil {
			return runtimeapi.NewError("Extension.LaunchError", "extension "+name+": "+entrypointError(err))
		}
		sb.extProcs = append(sb.extProcs, proc)
		wg.Go(func() {
			<-proc.Exited()
			once.Do(func() { close(sb.extExited) }) // any exit aborts the init waits
		})
	}
	sb.extAllExited = make(chan struct{})
	go func() { wg.Wait(); close(sb.extAllExited) }()
	if err := sb.ext.WaitRegistered(names, deadline, sb.extExited); err != nil {
		if err == extensions.ErrAborted {
			return runtimeapi.NewError("Extension.Crash", "an extension exited before it registered")
		}
		return runtimeapi.NewError("Extension.Timeout", "extensions did not register before the init timeout")
	}
	return nil
}

// extensionOutput receives an extension's lines: the function's log
// stream (as on Lambda) and the Telemetry API's extension type.
func (p *Pool) extensionOutput(sb *sandbox) func(instance.Line) {
	return func(l instance.Line) {
		sb.emit(l.Time, telemetry.TypeExtension, l.Text)
		if p.opts.Logs != nil {
			p.opts.Logs.Add(p.record(sb, l.Time, l.Stream, "", "", l.Text))
		}
	}
}

// stopExtensions delivers pending telemetry, sends SHUTDOWN, waits for
// the extensions (up to the shutdown budget) and stops them.
func (sb *sandbox) stopExtensions(reason string, grace time.Duration) {
	if sb.ext == nil {
		return
	}
	if sb.tel != nil {
		sb.tel.Flush(500 * time.Millisecond)
	}
	if sb.extAllExited != nil {
		sb.ext.Shutdown(reason, time.Now().Add(shutdownBudget), sb.extAllExited)
	}
	for _, x := range sb.extProcs {
		x.Stop(grace)
	}
	sb.ext.Close()
	if sb.tel != nil {
		sb.tel.Close()
	}
}

// extensionsPeak is the extensions' peak memory (Lambda's Max Memory Used
// counts the whole environment).
func (sb *sandbox) extensionsPeak() int64 {
	var n int64
	for _, x := range sb.extProcs {
		n += x.PeakMemory()
	}
	return n
}

// status is a Telemetry API status record for an outcome.
func status(o Outcome, e *runtimeapi.Error) map[string]any {
	switch o {
	case Succeeded:
		return map[string]any{"status": "success"}
	case TimedOut:
		return map[string]any{"status": "timeout"}
	case FunctionError:
		return map[string]any{"status": "error", "errorType": e.Type}
	default:
		t := ""
		if e != nil {
			t = e.Type
		}
		return map[string]any{"status": "failure", "errorType": t}
	}
}

// millis is a duration in milliseconds with the REPORT line's two
// decimals, so platform.report and REPORT agree to the digit.
func millis(d time.Duration) float64 {
	v, _ := strconv.ParseFloat(lambdalog.Millis(d), 64)
	return v
}

func tracing(req *Request) map[string]any {
	if req.TraceHeader == "" {
		return nil
	}
	t := map[string]any{"type": "X-Amzn-Trace-Id", "value": req.TraceHeader}
	if req.SegmentID != "" {
		t["spanId"] = req.SegmentID
	}
	return t
}

func withTracing(rec map[string]any, req *Request) map[string]any {
	if t := tracing(req); t != nil {
		rec["tracing"] = t
	}
	return rec
}

// runtimeARN is the Runtime Version ARN of INIT_START lines.
func runtimeARN(region string) string {
	return "arn:aws:lambda:" + region + "::runtime:counterspy-local"
}

// initTelemetry emits the end of the init phase.
func (p *Pool) initTelemetry(sb *sandbox, ex *Execution, st, errorType string) {
	rec := map[string]any{"initializationType": "on-demand", "phase": "init", "status": st}
	if errorType != "" {
		rec["errorType"] = errorType
	}
	sb.emit(ex.InitEnd, "platform.initRuntimeDone", rec)
	sb.emit(ex.InitEnd, "platform.initReport", map[string]any{"initializationType": "on-demand", "phase": "init",
		"status": st, "metrics": map[string]any{"durationMs": millis(ex.InitEnd.Sub(ex.InitStart))}})
	if sb.tel != nil {
		sb.tel.InitDone()
	}
}
