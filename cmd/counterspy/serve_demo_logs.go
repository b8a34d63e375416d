package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

// The demo's functions' log lines. The seed scenario describes each Lambda
// invocation in its segments (the AWS::Lambda segment's request ID, the
// AWS::Lambda::Function segment's Initialization and Invocation, the
// function's fault and cause); the lines the Lambda service and the
// function would write for that invocation are derived from them and
// stored beside the trace, so the console's Logs tab has something to show.

// withDemoLogs wraps sc so that every trace it generates (backfill and live)
// also stores its invocations' log lines in st.
func withDemoLogs(ctx context.Context, sc loadgen.Scenario, st store.Store, log *slog.Logger) loadgen.Scenario {
	w := &demoLogWriter{ch: make(chan []logs.Record, 1024), st: st, log: log}
	go w.run(ctx)
	return demoLogScenario{Scenario: sc, w: w, ctx: ctx}
}

type demoLogScenario struct {
	loadgen.Scenario
	w   *demoLogWriter
	ctx context.Context
}

// GroupSize keeps the wrapped scenario's grouping (three functions per
// upload).
func (d demoLogScenario) GroupSize() int {
	if g, ok := d.Scenario.(loadgen.Grouped); ok {
		return g.GroupSize()
	}
	return 1
}

func (d demoLogScenario) Trace(i int, start time.Time) loadgen.Trace {
	tr := d.Scenario.Trace(i, start)
	if recs := demoLogLines(tr); len(recs) > 0 {
		select {
		case d.w.ch <- recs:
		case <-d.ctx.Done():
		}
	}
	return tr
}

// demoLogWriter stores lines in batches: one store write (and fsync) per
// few thousand lines, not per trace.
type demoLogWriter struct {
	ch  chan []logs.Record
	st  store.Store
	log *slog.Logger
}

func (w *demoLogWriter) run(ctx context.Context) {
	const maxBatch = 4096
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var buf []logs.Record
	flush := func() {
		if len(buf) == 0 {
			return
		}
		// A write still in flight when the server stops is dropped with
		// the demo: the lines only illustrate the traces.
		if err := w.st.Write(context.WithoutCancel(ctx), &store.Batch{Logs: buf}); err != nil && ctx.Err() == nil {
			w.log.Warn("demo: storing function log lines failed", "lines", len(buf), "err", err)
		}
		buf = nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case recs := <-w.ch:
			buf = append(buf, recs...)
			if len(buf) >= maxBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// demoDoc is what the log lines need of a segment document.
type demoDoc struct {
	ID       string  `json:"id"`
	TraceID  string  `json:"trace_id"`
	ParentID string  `json:"parent_id"`
	Name     string  `json:"name"`
	Origin   string  `json:"origin"`
	Start    float64 `json:"start_time"`
	End      float64 `json:"end_time"`
	Fault    bool    `json:"fault"`
	AWS      struct {
		RequestID string `json:"request_id"`
	} `json:"aws"`
	Cause       json.RawMessage `json:"cause"`
	Subsegments []struct {
		Name  string  `json:"name"`
		Start float64 `json:"start_time"`
		End   float64 `json:"end_time"`
	} `json:"subsegments"`
}

type demoCause struct {
	Exceptions []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"exceptions"`
}

// demoRuntimes are the runtimes the seed post's functions use, by name
// suffix.
var demoRuntimes = map[string]struct{ runtime, version string }{
	"-go": {"provided.al2023", "provided:al2023.v80"},
	"-py": {"python3.12", "python:3.12.v58"},
	"-ts": {"nodejs20.x", "nodejs:20.v48"},
}

// demoLogLines returns the lines of every Lambda invocation in tr.
func demoLogLines(tr loadgen.Trace) []logs.Record {
	var docs []demoDoc
	for _, d := range tr.Docs {
		var doc demoDoc
		if json.Unmarshal(d.JSON, &doc) == nil {
			docs = append(docs, doc)
		}
	}
	var out []logs.Record
	for i := range docs {
		svc := &docs[i]
		if svc.Origin != "AWS::Lambda" || svc.AWS.RequestID == "" {
			continue
		}
		for j := range docs {
			if fn := &docs[j]; fn.Origin == "AWS::Lambda::Function" && fn.ParentID == svc.ID {
				out = append(out, invocationLines(svc, fn)...)
			}
		}
	}
	return out
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func invocationLines(svc, fn *demoDoc) []logs.Record {
	reqID := svc.AWS.RequestID
	h := fnv.New64a()
	h.Write([]byte(fn.Name))
	instance := fmt.Sprintf("%016x%016x", h.Sum64(), h.Sum64()^0x9e3779b97f4a7c15)
	var rt struct{ runtime, version string }
	for suffix, r := range demoRuntimes {
		if strings.HasSuffix(fn.Name, suffix) {
			rt = r
		}
	}
	var initStart, initEnd, invStart, invEnd float64
	for _, s := range fn.Subsegments {
		switch s.Name {
		case "Initialization":
			initStart, initEnd = s.Start, s.End
		case "Invocation":
			invStart, invEnd = s.Start, s.End
		}
	}
	if invStart == 0 {
		invStart, invEnd = fn.Start, fn.End
	}
	rec := func(at float64, stream logs.Stream, msg string) logs.Record {
		t := epoch(at)
		return logs.Record{Time: t, Function: fn.Name, LogGroup: "/aws/lambda/" + fn.Name,
			LogStream: t.Format("2006/01/02") + "/[" + lambdalog.Version + "]" + instance,
			RequestID: reqID, TraceID: fn.TraceID, Stream: stream, Message: msg}
	}
	var out []logs.Record
	if initStart > 0 && rt.runtime != "" {
		r := rec(initStart, logs.Platform, lambdalog.InitStartLine(rt.version, "arn:aws:lambda:us-east-1::runtime:"+instance))
		r.RequestID = "" // init lines belong to no invocation
		out = append(out, r)
	}
	out = append(out, rec(invStart-0.0001, logs.Platform, lambdalog.StartLine(reqID)))
	report := lambdalog.Report{RequestID: reqID, Duration: time.Duration((invEnd - invStart) * 1e9), MemoryMB: 128,
		MaxMemoryUsedMB: 40 + int(h.Sum64()%40)}
	if initStart > 0 {
		report.InitDuration = time.Duration((initEnd - initStart) * 1e9)
	}
	var cause demoCause
	if fn.Fault && json.Unmarshal(fn.Cause, &cause) == nil && len(cause.Exceptions) > 0 {
		ex := cause.Exceptions[0]
		// As the Python runtime reports a handler that cannot be imported.
		out = append(out, rec(invStart+0.00005, logs.Stderr, fmt.Sprintf("[ERROR] %s: %s\nTraceback (most recent call last):", ex.Type, ex.Message)))
		report.Status, report.ErrorType = "error", ex.Type
	} else {
		out = append(out, rec(invStart+(invEnd-invStart)/2, logs.Stdout, fmt.Sprintf("stored upload in DynamoDB table items (request %s)", reqID)))
	}
	out = append(out,
		rec(invEnd, logs.Platform, lambdalog.EndLine(reqID)),
		rec(invEnd+0.00001, logs.Platform, report.Line()),
		rec(invEnd+0.00002, logs.Platform, lambdalog.XRayLine(fn.TraceID, fn.ID, true)),
	)
	return out
}
