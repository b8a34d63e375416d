package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
)

func init() {
	commands["loadgen"] = command{
		summary: "send generated X-Ray traffic to a server (load tests, demos)",
		run:     runLoadgen,
	}
}

func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen", stderr)
	setUsage(fs, "[flags]", `
Sends realistic traffic to a server: the seed scenario (the seed post's S3 → SNS →
three Lambda functions → DynamoDB) or the large one (a ~30-service shop), over the
daemon protocol (UDP), the X-Ray API or OTLP; with --server it reports what the
server spent (segments stored per server CPU-second, drops, memory).`,
		`counterspy loadgen --scenario seed --traces 1000`,
		`counterspy loadgen --scenario large --traces 100000 --server 127.0.0.1:2000`,
		`counterspy loadgen --protocol otlp-http --scenario tracegen --addr 127.0.0.1:4318 --duration 20s`)
	scenario := fs.String("scenario", "large", "what to send: "+strings.Join(loadgen.Names(), " or ")+", or with an OTLP protocol tracegen or large"+
		"\n(seed: the S3→SNS→three Lambda functions system, one upload = 3 traces;\n large: a ~30-service shop with ~1.3 KB documents;\n tracegen: Jaeger tracegen's shape, 10 spans per trace with ~11 attributes each)")
	addr := fs.String("addr", "127.0.0.1:2000", "where to send: the daemon UDP address, or the API's host:port or URL with --protocol api")
	protocol := fs.String("protocol", "udp", "udp (daemon protocol, one document per datagram), api (PutTraceSegments, batches of 50),\notlp-http (OTLP/HTTP protobuf, --addr 127.0.0.1:4318) or otlp-grpc (--addr 127.0.0.1:4317), 50 traces per request")
	rate := fs.Float64("rate", 0, "traces per second; 0 sends as fast as possible")
	traces := fs.Int("traces", 0, "stop after this many traces (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit); with neither limit, run until interrupted")
	senders := fs.Int("senders", 0, "sending goroutines, each with its own socket (0: one per CPU)")
	seed := fs.Uint64("seed", 1, "scenario seed: the same seed sends the same documents")
	realtime := fs.Bool("realtime", false, "send each document when the real system would (in-progress segments seconds before their completion); needs --rate")
	start := fs.String("start", "", "RFC 3339 time of the first trace: makes the documents repeatable (default: now, as they are sent)")
	dump := fs.Int("print", 0, "print the documents of the first N traces to stdout, one per line, instead of sending")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	serverURL := fs.String("server", "", "base `URL` (or host:port) of the Counterspy server receiving the traffic: read its /metrics before and after\nand report segments durably stored per server CPU-second, drops and memory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.HasPrefix(*protocol, "otlp") {
		return runOTLPLoadgen(ctx, stdout, stderr, otlpLoad{scenario: *scenario, addr: *addr, addrSet: flagSet(fs, "addr"),
			protocol: *protocol, rate: *rate, traces: *traces, duration: *duration, senders: *senders, seed: *seed,
			start: *start, quiet: *quiet, server: *serverURL})
	}
	sc, err := loadgen.New(*scenario, *seed)
	if err != nil {
		return usageError{err}
	}
	var startAt time.Time
	if *start != "" {
		if startAt, err = time.Parse(time.RFC3339Nano, *start); err != nil {
			return usageError{fmt.Errorf("--start: %w", err)}
		}
	}
	if *dump > 0 {
		return printTraces(stdout, sc, *dump, startAt)
	}

	cfg := loadgen.Config{Addr: *addr, Protocol: *protocol, Scenario: sc, Rate: *rate, Traces: *traces,
		Duration: *duration, Senders: *senders, Start: startAt, Realtime: *realtime}
	if !*quiet {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if *traces == 0 && *duration == 0 && !*quiet {
		fmt.Fprintln(stderr, "counterspy loadgen: no --traces or --duration: running until interrupted")
	}
	var probe *serverProbe
	var before serverMetrics
	host := sampleHost()
	if *serverURL != "" {
		probe = newServerProbe(*serverURL)
		if before, err = probe.scrape(ctx); err != nil {
			return err
		}
		probe.watchRSS(ctx)
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, loadgen.ErrInvalidConfig) {
			return usageError{err}
		}
		return err
	}
	fmt.Fprintf(stdout, "traces=%d segments=%d bytes=%d mean_doc_bytes=%.0f errors=%d elapsed=%s segments_per_s=%.0f\n",
		res.Traces, res.Segments, res.Bytes, res.MeanDocSize(), res.Errors,
		res.Elapsed.Round(time.Millisecond), res.SegmentsPerSecond())
	if probe != nil {
		after, err := probe.settle(ctx, before, res.Segments)
		if err != nil {
			return err
		}
		probe.report(stdout, before, after, res.Segments, res.MeanDocSize())
		fmt.Fprintln(stdout, conditions(host, sampleHost(), after.cpu-before.cpu))
	}
	if res.Segments == 0 && res.Errors > 0 {
		return errors.New("no document was delivered")
	}
	return nil
}

// printTraces writes documents for inspection: what a run would send.
func printTraces(w io.Writer, sc loadgen.Scenario, n int, start time.Time) error {
	if start.IsZero() {
		start = time.Now()
	}
	group := 1
	if g, ok := sc.(loadgen.Grouped); ok && g.GroupSize() > 1 {
		group = g.GroupSize()
	}
	for i := range n {
		// A group (one upload of the seed scenario) starts together.
		tr := sc.Trace(i, start.Add(time.Duration(i/group*group)*time.Millisecond))
		for _, d := range tr.Docs {
			if _, err := fmt.Fprintf(w, "%s\n", d.JSON); err != nil {
				return fmt.Errorf("print documents: %w", err)
			}
		}
	}
	return nil
}
