package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what Run sends, where and how fast.
type Config struct {
	// Addr is the daemon address for "udp" (host:port, default
	// 127.0.0.1:2000), or the API's host:port or base URL for "api".
	Addr string
	// Protocol is "udp" (default: the daemon protocol, one document per
	// datagram, framed as the Go SDK does) or "api" (PutTraceSegments over
	// HTTP in batches of at most 50, as the daemon uploads).
	Protocol string
	Scenario Scenario
	// Rate is traces per second; 0 sends as fast as possible. Scenarios
	// whose traces come in groups (Grouped) send a group at a time, so the
	// seed scenario at Rate 30 sends 10 uploads per second.
	Rate float64
	// Run stops after Traces traces or after Duration, whichever comes
	// first, or when its context is done; with neither set it runs until
	// then. After Duration no trace is started and queued documents are
	// sent at once.
	Traces   int
	Duration time.Duration
	// Senders is the number of sending goroutines, each with its own
	// socket or HTTP batch; default GOMAXPROCS.
	Senders int
	// Start, when set, makes trace times virtual and repeatable: group g
	// starts at Start + g×size/Rate (every millisecond per trace when Rate
	// is 0), so a run sends exactly the bytes Scenario.Trace gives for
	// those times. When zero, traces start at the wall-clock time they are
	// sent.
	Start time.Time
	// Realtime sends each document at its Doc.At relative to its trace's
	// start, as the real system would (in-progress segments seconds before
	// their completion); otherwise a trace's documents are sent back to back.
	// It needs a Rate.
	Realtime bool
	// Logger receives progress every ProgressInterval (default 5 s) and
	// the first send error of each sender; nil logs nothing.
	Logger           *slog.Logger
	ProgressInterval time.Duration
	// HTTPClient is used by the "api" protocol; nil means a private client
	// with a 10 s timeout.
	HTTPClient *http.Client
}

// Result counts what Run did. Segments and Bytes count documents delivered
// (written to the socket, or accepted by PutTraceSegments); Bytes excludes
// the UDP header line. Errors counts documents that failed.
type Result struct {
	Traces, Segments, Bytes, Errors int64
	Elapsed                         time.Duration
}

// MeanDocSize is the mean delivered document size in bytes.
func (r Result) MeanDocSize() float64 {
	if r.Segments == 0 {
		return 0
	}
	return float64(r.Bytes) / float64(r.Segments)
}

// SegmentsPerSecond is the delivery rate over the whole run.
func (r Result) SegmentsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Segments) / r.Elapsed.Seconds()
}

// ErrInvalidConfig wraps every error Run returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid loadgen config")

// virtualSpacing is the time between virtual trace starts when Rate is 0.
const virtualSpacing = time.Millisecond

// Run sends the scenario's traces until a limit is reached. A done context
// is a normal way to stop: Run then returns what it did and a nil error.
// It fails only on a bad Config or an address it cannot use.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return Result{}, err
	}
	var client *http.Client
	if cfg.Protocol == "api" {
		client = cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second,
				Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Senders}}
			// Idle keep-alive connections would outlive Run.
			defer client.CloseIdleConnections()
		}
	}
	transports := make([]transport, 0, cfg.Senders)
	defer func() {
		for _, t := range transports {
			t.close()
		}
	}()
	for range cfg.Senders {
		if cfg.Protocol == "api" {
			transports = append(transports, &apiTransport{client: client, url: apiURL(cfg.Addr)})
			continue
		}
		t, err := dialUDP(cfg.Addr)
		if err != nil {
			return Result{}, err
		}
		transports = append(transports, t)
	}

	r := &runner{cfg: cfg, group: 1, begin: time.Now()}
	if g, ok := cfg.Scenario.(Grouped); ok && g.GroupSize() > 1 {
		r.group = g.GroupSize()
	}
	if cfg.Duration > 0 {
		r.deadline = r.begin.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for k, t := range transports {
		wg.Go(func() { r.sender(ctx, k, t) })
	}
	stopProgress := r.progress()
	wg.Wait()
	stopProgress()
	res := r.result()
	if cfg.Logger != nil {
		cfg.Logger.Info("loadgen done", "traces", res.Traces, "segments", res.Segments, "errors", res.Errors,
			"elapsed", res.Elapsed.Round(time.Millisecond), "segments_per_s", int64(res.SegmentsPerSecond()))
	}
	return res, nil
}

func (c *Config) setDefaults() error {
	if c.Scenario == nil {
		return fmt.Errorf("%w: no scenario", ErrInvalidConfig)
	}
	switch c.Protocol {
	case "":
		c.Protocol = "udp"
	case "udp", "api":
	default:
		return fmt.Errorf("%w: protocol %q: want udp or api", ErrInvalidConfig, c.Protocol)
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:2000"
	}
	if c.Rate < 0 || c.Traces < 0 || c.Duration < 0 || c.Senders < 0 || c.ProgressInterval < 0 {
		return fmt.Errorf("%w: rate, traces, duration, senders and progress interval must not be negative", ErrInvalidConfig)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return fmt.Errorf("%w: rate %v", ErrInvalidConfig, c.Rate)
	}
	if c.Realtime && c.Rate == 0 {
		return fmt.Errorf("%w: realtime sending needs a rate", ErrInvalidConfig)
	}
	if c.Senders == 0 {
		c.Senders = runtime.GOMAXPROCS(0)
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 5 * time.Second
	}
	return nil
}

// runner is the state shared by the senders of one Run.
type runner struct {
	cfg      Config
	group    int
	begin    time.Time
	deadline time.Time // zero: none

	traces, segments, bytes, errors atomic.Int64
}

func (r *runner) result() Result {
	return Result{Traces: r.traces.Load(), Segments: r.segments.Load(), Bytes: r.bytes.Load(),
		Errors: r.errors.Load(), Elapsed: time.Since(r.begin)}
}

func (r *runner) count(t tally, traces int64) {
	r.traces.Add(traces)
	r.segments.Add(t.segments)
	r.bytes.Add(t.bytes)
	r.errors.Add(t.errors)
}

// progress logs counts and rates until the returned function is called.
func (r *runner) progress() (stop func()) {
	if r.cfg.Logger == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(r.cfg.ProgressInterval)
		defer tick.Stop()
		last, lastAt := int64(0), r.begin
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				res := r.result()
				rate := float64(res.Segments-last) / now.Sub(lastAt).Seconds()
				last, lastAt = res.Segments, now
				r.cfg.Logger.Info("loadgen progress", "traces", res.Traces, "segments", res.Segments,
					"errors", res.Errors, "segments_per_s", int64(rate), "mean_doc_bytes", int64(res.MeanDocSize()))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
