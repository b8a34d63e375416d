package lambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/logs"
)

type discard struct{}

func (discard) Write(context.Context, []logs.Record) error { return nil }

// benchRuntimes are the trivial echo function in each runtime family.
func benchRuntimes(b *testing.B) map[string]lambda.FunctionConfig {
	py, _ := filepath.Abs("testdata/pyruntime")
	node, _ := filepath.Abs("testdata/noderuntime")
	return map[string]lambda.FunctionConfig{
		"provided": {Runtime: "provided.al2023", Command: []string{buildFunction(b, "echofn")}},
		"python":   {Runtime: "python3.12", Handler: "echo.handler", Dir: py},
		"nodejs":   {Runtime: "nodejs20.x", Handler: "echo.handler", Dir: node},
	}
}

// forEachRuntime runs bench once per runtime family.
func forEachRuntime(b *testing.B, bench func(b *testing.B, fc lambda.FunctionConfig)) {
	rts := benchRuntimes(b)
	for _, name := range []string{"provided", "python", "nodejs"} {
		b.Run(name, func(b *testing.B) { bench(b, rts[name]) })
	}
}

// benchEmulator runs the trivial echo function behind an Invoke API whose
// handler records, per request ID, the time from request in to response
// out.
type benchEmulator struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	inOut  map[string]time.Duration
	execs  map[string]*pool.Execution
	e      *lambda.Emulator
}

func newBenchEmulator(b *testing.B, fc lambda.FunctionConfig, idle time.Duration) *benchEmulator {
	fc.Name, fc.IdleTimeout = "echo", lambda.Duration(idle)
	d := newDaemon(b)
	be := &benchEmulator{inOut: map[string]time.Duration{}, execs: map[string]*pool.Execution{}}
	e, err := lambda.Start(context.Background(), lambda.Config{
		XRayAddr: d.addr(), Logs: discard{},
		Functions: []lambda.FunctionConfig{fc},
		Observe: func(_ string, ex *pool.Execution) {
			be.mu.Lock()
			be.execs[ex.RequestID] = ex
			be.mu.Unlock()
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	be.e = e
	h := e.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := time.Now()
		h.ServeHTTP(w, r)
		w.(http.Flusher).Flush()
		out := time.Since(in)
		be.mu.Lock()
		be.inOut[w.Header().Get("X-Amzn-Requestid")] = out
		be.mu.Unlock()
	}))
	be.url = srv.URL + "/2015-03-31/functions/echo/invocations"
	be.client = srv.Client()
	b.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e.Close(ctx)
	})
	return be
}

// invoke returns the emulator's overhead: Invoke API in → response out
// minus the handler's own time (reported by the function), and the
// request ID.
func (be *benchEmulator) invoke(b *testing.B) (time.Duration, string) {
	resp, err := be.client.Post(be.url, "application/json", strings.NewReader(`{"k":"v"}`))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		HandlerNs int64 `json:"handler_ns"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		b.Fatalf("invoke: %d %s", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	be.mu.Lock()
	inOut := be.inOut[id]
	be.mu.Unlock()
	return inOut - time.Duration(out.HandlerNs), id
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkWarmInvoke measures the emulator's own overhead per warm
// invocation: Invoke API request in → response out, minus the handler's
// time, with a trivial handler in each runtime (the time of the runtime
// client — aws-lambda-go's, or the Python or Node client the emulator
// ships — counts as overhead). Goal: ≤ 1 ms at p50.
func BenchmarkWarmInvoke(b *testing.B) { forEachRuntime(b, benchWarm) }

func benchWarm(b *testing.B, fc lambda.FunctionConfig) {
	be := newBenchEmulator(b, fc, time.Hour)
	be.invoke(b) // cold start
	var samples []time.Duration
	for b.Loop() {
		d, _ := be.invoke(b)
		samples = append(samples, d)
	}
	b.ReportMetric(float64(percentile(samples, 0.50).Microseconds()), "p50-overhead-µs")
	b.ReportMetric(float64(percentile(samples, 0.99).Microseconds()), "p99-overhead-µs")
	be.mu.Lock()
	cold := 0
	for _, ex := range be.execs {
		if ex.Cold {
			cold++
		}
	}
	be.mu.Unlock()
	b.ReportMetric(float64(cold), "cold-starts")
}

// BenchmarkColdInvoke measures a cold start's overhead beyond the
// function's own start (process start to its first request for an event):
// Invoke API in → response out, minus Initialization, minus the handler.
// Goal: ≤ 5 ms at p50.
func BenchmarkColdInvoke(b *testing.B) { forEachRuntime(b, benchCold) }

func benchCold(b *testing.B, fc lambda.FunctionConfig) {
	be := newBenchEmulator(b, fc, time.Millisecond)
	var samples, inits []time.Duration
	for b.Loop() {
		b.StopTimer()
		deadline := time.Now().Add(10 * time.Second)
		for total, _ := be.e.Pool("echo").Instances(); total > 0; total, _ = be.e.Pool("echo").Instances() {
			if time.Now().After(deadline) {
				b.Fatal("the idle instance was not shut down")
			}
			time.Sleep(time.Millisecond)
		}
		b.StartTimer()
		d, id := be.invoke(b)
		b.StopTimer()
		var ex *pool.Execution
		for ex == nil && time.Now().Before(deadline) {
			be.mu.Lock()
			ex = be.execs[id]
			be.mu.Unlock()
			time.Sleep(100 * time.Microsecond)
		}
		if ex == nil || !ex.Cold {
			b.Fatalf("call %s was not a cold start", id)
		}
		init := ex.InitEnd.Sub(ex.InitStart)
		samples = append(samples, d-init)
		inits = append(inits, init)
		b.StartTimer()
	}
	b.ReportMetric(float64(percentile(samples, 0.50).Microseconds()), "p50-overhead-µs")
	b.ReportMetric(float64(percentile(samples, 0.99).Microseconds()), "p99-overhead-µs")
	b.ReportMetric(float64(percentile(inits, 0.50).Microseconds()), "p50-init-µs")
}
