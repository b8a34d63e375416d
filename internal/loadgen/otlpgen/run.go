package otlpgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Protocols.
const (
	HTTP = "otlp-http"
	GRPC = "otlp-grpc"
)

// Config says what Run sends, where and how fast.
type Config struct {
	// Addr is the receiver's host:port (or http:// URL for otlp-http).
	Addr     string
	Protocol string // HTTP or GRPC
	Scenario Scenario
	// Rate is traces per second; 0 sends as fast as the server answers.
	Rate float64
	// Traces and Duration stop the run (whichever comes first); with
	// neither it runs until ctx is done.
	Traces   int
	Duration time.Duration
	// Senders is the number of concurrent exporters; default GOMAXPROCS.
	Senders int
	// BatchTraces is the traces per export request; default 50 (500
	// tracegen spans, about what an SDK's batch span processor sends).
	BatchTraces int
	// Start makes trace times repeatable; zero means the wall clock.
	Start  time.Time
	Logger *slog.Logger
}

// Result counts what Run did.
type Result struct {
	Traces, Spans, Requests, Bytes int64
	// Rejected are spans the server reported in partial success; Errors
	// spans of requests that failed (after retries).
	Rejected, Errors, Retries int64
	Elapsed                   time.Duration
}

// SpansPerSecond is the acknowledged span rate over the run.
func (r Result) SpansPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Spans) / r.Elapsed.Seconds()
}

// ErrInvalidConfig wraps errors about a bad Config.
var ErrInvalidConfig = errors.New("invalid OTLP loadgen config")

// maxAttempts bounds the tries of one request the server asked to retry.
const maxAttempts = 30

type exporter interface {
	// export sends one request body and returns the spans the server
	// rejected, whether to retry (and after how long), or an error.
	export(ctx context.Context, req ptraceotlp.ExportRequest, body []byte) (rejected int64, retry time.Duration, err error)
	close()
}

// Run sends the scenario's traces until a limit is reached or ctx is done.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Scenario == nil {
		return Result{}, fmt.Errorf("%w: no scenario", ErrInvalidConfig)
	}
	if cfg.Senders <= 0 {
		cfg.Senders = runtime.GOMAXPROCS(0)
	}
	if cfg.BatchTraces <= 0 {
		cfg.BatchTraces = 50
	}
	if cfg.Rate < 0 || cfg.Traces < 0 || cfg.Duration < 0 {
		return Result{}, fmt.Errorf("%w: rate, traces and duration must not be negative", ErrInvalidConfig)
	}
	var newExporter func() (exporter, error)
	switch cfg.Protocol {
	case HTTP:
		url := cfg.Addr
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			url = "http://" + url
		}
		url = strings.TrimSuffix(url, "/") + "/v1/traces"
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Senders}}
		defer client.CloseIdleConnections()
		newExporter = func() (exporter, error) { return &httpExporter{client: client, url: url}, nil }
	case GRPC:
		newExporter = func() (exporter, error) {
			cc, err := grpc.NewClient(cfg.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
			if err != nil {
				return nil, fmt.Errorf("OTLP/gRPC client for %s: %w", cfg.Addr, err)
			}
			return &grpcExporter{cc: cc, c: ptraceotlp.NewGRPCClient(cc)}, nil
		}
	default:
		return Result{}, fmt.Errorf("%w: protocol %q: want %s or %s", ErrInvalidConfig, cfg.Protocol, HTTP, GRPC)
	}

	r := &runner{cfg: cfg, begin: time.Now()}
	if cfg.Duration > 0 {
		r.deadline = r.begin.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for range cfg.Senders {
		ex, err := newExporter()
		if err != nil {
			return Result{}, err
		}
		wg.Go(func() {
			defer ex.close()
			r.sender(ctx, ex)
		})
	}
	wg.Wait()
	res := r.result()
	if cfg.Logger != nil {
		cfg.Logger.Info("OTLP loadgen done", "traces", res.Traces, "spans", res.Spans, "rejected", res.Rejected,
			"errors", res.Errors, "retries", res.Retries, "elapsed", res.Elapsed.Round(time.Millisecond))
	}
	return res, nil
}

type runner struct {
	cfg      Config
	begin    time.Time
	deadline time.Time
	next     atomic.Int64 // next trace index to claim

	traces, spans, requests, bytes, rejected, errors, retries atomic.Int64
}

func (r *runner) result() Result {
	return Result{Traces: r.traces.Load(), Spans: r.spans.Load(), Requests: r.requests.Load(), Bytes: r.bytes.Load(),
		Rejected: r.rejected.Load(), Errors: r.errors.Load(), Retries: r.retries.Load(), Elapsed: time.Since(r.begin)}
}

// claim reserves the next batch of trace indexes: [first, first+n).
func (r *runner) claim() (first, n int) {
	size := int64(r.cfg.BatchTraces)
	end := r.next.Add(size)
	first = int(end - size)
	n = int(size)
	if r.cfg.Traces > 0 && int(end) > r.cfg.Traces {
		n = r.cfg.Traces - first
	}
	return first, n
}

func (r *runner) sender(ctx context.Context, ex exporter) {
	b := NewBatch()
	for ctx.Err() == nil {
		first, n := r.claim()
		if n <= 0 {
			return
		}
		if r.cfg.Rate > 0 {
			at := r.begin.Add(time.Duration(float64(first) / r.cfg.Rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
		}
		if !r.deadline.IsZero() && time.Now().After(r.deadline) {
			return
		}
		b.Reset()
		spans := 0
		for i := first; i < first+n; i++ {
			start := time.Now()
			if !r.cfg.Start.IsZero() {
				start = r.cfg.Start.Add(time.Duration(i) * time.Millisecond)
			}
			spans += r.cfg.Scenario.Trace(b, i, start)
		}
		req := ptraceotlp.NewExportRequestFromTraces(b.Traces())
		body, err := req.MarshalProto()
		if err != nil {
			r.errors.Add(int64(spans))
			continue
		}
		r.send(ctx, ex, req, body, n, spans)
	}
}

func (r *runner) send(ctx context.Context, ex exporter, req ptraceotlp.ExportRequest, body []byte, traces, spans int) {
	for attempt := 1; ; attempt++ {
		r.requests.Add(1)
		rejected, retry, err := ex.export(ctx, req, body)
		if err == nil && retry == 0 {
			r.traces.Add(int64(traces))
			r.spans.Add(int64(spans) - rejected)
			r.rejected.Add(rejected)
			r.bytes.Add(int64(len(body)))
			return
		}
		if err != nil || attempt == maxAttempts || ctx.Err() != nil {
			r.errors.Add(int64(spans))
			if err != nil && r.cfg.Logger != nil && r.errors.Load() == int64(spans) {
				r.cfg.Logger.Error("OTLP export failed", "err", err)
			}
			return
		}
		r.retries.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

type httpExporter struct {
	client *http.Client
	url    string
}

func (h *httpExporter) export(ctx context.Context, _ ptraceotlp.ExportRequest, body []byte) (int64, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		ans := ptraceotlp.NewExportResponse()
		if err := ans.UnmarshalProto(out); err != nil {
			return 0, 0, fmt.Errorf("OTLP answer: %w", err)
		}
		return ans.PartialSuccess().RejectedSpans(), 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		retry := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			retry = time.Duration(s) * time.Second
		}
		return 0, max(retry, 10*time.Millisecond), nil
	}
	return 0, 0, fmt.Errorf("OTLP/HTTP %s: %s", resp.Status, bytes.TrimSpace(out))
}

func (h *httpExporter) close() {}

type grpcExporter struct {
	cc *grpc.ClientConn
	c  ptraceotlp.GRPCClient
}

func (g *grpcExporter) export(ctx context.Context, req ptraceotlp.ExportRequest, _ []byte) (int64, time.Duration, error) {
	resp, err := g.c.Export(ctx, req)
	if err != nil {
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted:
			return 0, time.Second, nil
		}
		return 0, 0, err
	}
	return resp.PartialSuccess().RejectedSpans(), 0, nil
}

func (g *grpcExporter) close() { g.cc.Close() }
