package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
)

// otlpLoad is what `counterspy loadgen --protocol otlp-http|otlp-grpc` was told.
type otlpLoad struct {
	scenario, addr, protocol, start, server string
	addrSet, quiet                          bool
	rate                                    float64
	traces, senders                         int
	duration                                time.Duration
	seed                                    uint64
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runOTLPLoadgen sends an OTLP scenario and, with --server, reports spans
// durably stored per server CPU-second (an acknowledged OTLP export is
// durable), peak RSS and disk bytes per span.
func runOTLPLoadgen(ctx context.Context, stdout, stderr io.Writer, o otlpLoad) error {
	sc, err := otlpgen.New(o.scenario, o.seed)
	if err != nil {
		return usageError{err}
	}
	if !o.addrSet {
		o.addr = "127.0.0.1:4318"
		if o.protocol == otlpgen.GRPC {
			o.addr = "127.0.0.1:4317"
		}
	}
	cfg := otlpgen.Config{Addr: o.addr, Protocol: o.protocol, Scenario: sc, Rate: o.rate, Traces: o.traces,
		Duration: o.duration, Senders: o.senders}
	if o.start != "" {
		if cfg.Start, err = time.Parse(time.RFC3339Nano, o.start); err != nil {
			return usageError{fmt.Errorf("--start: %w", err)}
		}
	}
	if !o.quiet {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	var probe *serverProbe
	var before serverMetrics
	if o.server != "" {
		probe = newServerProbe(o.server)
		if before, err = probe.scrape(ctx); err != nil {
			return err
		}
		probe.watchRSS(ctx)
	}
	res, err := otlpgen.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, otlpgen.ErrInvalidConfig) {
			return usageError{err}
		}
		return err
	}
	fmt.Fprintf(stdout, "traces=%d spans=%d requests=%d bytes=%d rejected=%d errors=%d retries=%d elapsed=%s spans_per_s=%.0f\n",
		res.Traces, res.Spans, res.Requests, res.Bytes, res.Rejected, res.Errors, res.Retries,
		res.Elapsed.Round(time.Millisecond), res.SpansPerSecond())
	if probe != nil {
		// Acknowledged spans are already durable: no need to wait.
		after, err := probe.scrape(ctx)
		if err != nil {
			return err
		}
		close(probe.stop)
		<-probe.done
		spans := after.otlpSpans - before.otlpSpans
		cpu := after.cpu - before.cpu
		fmt.Fprintf(stdout, "server: spans_stored=%.0f documents_stored=%.0f cpu_seconds=%.2f", spans, after.stored-before.stored, cpu)
		if cpu > 0 {
			fmt.Fprintf(stdout, " spans_per_cpu_second=%.0f", spans/cpu)
		}
		probe.mu.Lock()
		fmt.Fprintf(stdout, " max_rss_mib=%.0f", max(probe.maxRSS, after.rss)/(1<<20))
		probe.mu.Unlock()
		if after.diskBytes > 0 && spans > 0 {
			fmt.Fprintf(stdout, " disk_bytes=%.0f disk_bytes_per_span=%.0f (before compaction)", after.diskBytes, after.diskBytes/after.otlpSpans)
		}
		fmt.Fprintln(stdout)
	}
	if res.Spans == 0 && res.Errors > 0 {
		return errors.New("no span was delivered")
	}
	return nil
}
