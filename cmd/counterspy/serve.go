package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/server"
)

func init() {
	commands["serve"] = command{"run the server: X-Ray daemon protocol, X-Ray API, embedded store", runServe}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	setUsage(fs, "[flags]", `
Runs the server: the X-Ray daemon protocol (UDP) and the X-Ray API, the web console,
OTLP/HTTP and OTLP/gRPC, and the embedded store (or ClickHouse with --store). Every
flag can also be set as COUNTERSPY_ + its name in upper case with _ for -.`,
		`counterspy serve --demo`,
		`counterspy serve --addr 127.0.0.1:3000 --data-dir ./data --retention 72h`,
		`counterspy serve --lambda-config template.yaml`,
		`counterspy serve --addr 0.0.0.0:2000 --auth-file keys.txt --tls-cert cert.pem --tls-key key.pem`)
	var cfg server.Config
	fs.StringVar(&cfg.Addr, "addr", server.DefaultAddr,
		"`host:port` for both segments (UDP, the X-Ray daemon protocol) and the HTTP API (TCP), like the X-Ray daemon's -b; point SDKs' AWS_XRAY_DAEMON_ADDRESS and the AWS CLI's --endpoint-url here")
	fs.StringVar(&cfg.UDPAddr, "udp-addr", "", "`host:port` for UDP segments, overriding -addr")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "`host:port` for the HTTP API, overriding -addr")
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "`directory` of the embedded store (created if missing)")
	fs.StringVar(&cfg.Store, "store", "pebble",
		"trace store: pebble (embedded, in -data-dir), memory (the in-memory reference backend: nothing is kept after the process ends) or clickhouse://HOST:PORT/DATABASE (ClickHouse's native port; see docs/clickhouse.md)")
	fs.DurationVar(&cfg.FlushInterval, "flush-interval", 200*time.Millisecond,
		"longest time a segment received over UDP waits before it is durable on disk; PutTraceSegments calls are acknowledged only once durable, whatever this is")
	fs.BoolVar(&cfg.NoSync, "no-sync", false,
		"do not fsync writes: a killed process still loses nothing acknowledged, but a machine crash may")
	fs.DurationVar(&cfg.Retention, "retention", 30*24*time.Hour, "how long traces are kept (X-Ray keeps 30 days)")
	fs.IntVar(&cfg.MaxDocumentSize, "max-document-size", 64<<10, "largest accepted segment document in `bytes` (X-Ray's limit is 64 KiB)")
	fs.Float64Var(&cfg.SamplingRate, "sampling-rate", 1.0,
		"fixed rate of the Default sampling rule handed to X-Ray SDKs (X-Ray's own default is 0.05; locally you usually want every request)")
	fs.IntVar(&cfg.UDPReaders, "udp-readers", 0, "UDP sockets and reading goroutines (0 = one per CPU)")
	fs.StringVar(&cfg.LambdaConfig, "lambda-config", "",
		"functions.json or SAM/CDK template `file`: run the Lambda emulator in this server (Invoke API and S3/SNS event endpoints on the HTTP address; see counterspy lambda -h)")
	addSecurityFlags(fs, &cfg)
	addClusterFlags(fs, &cfg)
	fs.StringVar(&cfg.OTLPHTTPAddr, "otlp-http-addr", "127.0.0.1:4318", "`host:port` for OTLP/HTTP traces (POST /v1/traces); empty or off turns it off (docs/otlp.md)")
	fs.StringVar(&cfg.OTLPGRPCAddr, "otlp-grpc-addr", "127.0.0.1:4317", "`host:port` for OTLP/gRPC traces; empty or off turns it off")
	otlpAnnotations := fs.String("otlp-annotations", "", "comma-separated span attribute `names` indexed as annotations on every OTLP span, besides those listed in aws.xray.annotations")
	fs.Func("allowed-hosts", "comma-separated `names` (name or name:port) the HTTP Host header may carry besides the bound address, e.g. behind a reverse proxy; \"*\" turns the check, which closes DNS rebinding, off",
		func(v string) error {
			cfg.AllowedHosts = append(cfg.AllowedHosts, strings.Split(v, ",")...)
			return nil
		})
	fs.IntVar(&cfg.MaxConnections, "max-connections", server.DefaultMaxConnections,
		"most HTTP connections open at once; past it new ones are closed at once (-1: no limit)")
	demo := fs.Bool("demo", false, "feed the demo traffic (the seed scenario: S3 → SNS → three Lambda functions → DynamoDB) so there is data to look at")
	// The Go runtime's own GOMEMLIMIT, when set, stays in charge unless
	// -memory-limit is given.
	memLimit := byteSize(defaultMemoryLimit)
	if os.Getenv("GOMEMLIMIT") != "" {
		memLimit = 0
	}
	fs.Var(&memLimit, "memory-limit",
		"soft limit on the server's Go memory (`size`: bytes, or with KiB, MiB, GiB): the garbage collector works harder near it, so a flood costs CPU rather than RSS (Pebble's cache and memtables come on top); 0 leaves it to GOMEMLIMIT. While little is live the heap may grow to half of it between collections, for less GC CPU (the GOGC environment variable turns that off)")
	fs.Var((*byteSize)(&cfg.Pebble.MinFreeBytes), "min-free-space",
		"free disk space (`size`) below which writes are refused (503 ThrottlingException, UDP drops counted) until space returns; 0 = the default, two memtables + 32 MiB (96 MiB); see docs/durability.md")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	if err := envDefaults(fs, "COUNTERSPY_"); err != nil {
		return usageError{err}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return usageError{err}
	}
	cfg.Logger = log
	cfg.OTLPAnnotations = splitList(*otlpAnnotations)
	if memLimit > 0 {
		debug.SetMemoryLimit(int64(memLimit))
	}
	defer tuneGC(log)()
	dataDirGiven := false
	fs.Visit(func(f *flag.Flag) { dataDirGiven = dataDirGiven || f.Name == "data-dir" })
	if _, ok := os.LookupEnv("COUNTERSPY_DATA_DIR"); ok {
		dataDirGiven = true
	}
	if *demo && !dataDirGiven {
		// Demo traffic is not the user's: keep it out of their store, so
		// trying the demo never mixes made-up traces into real ones.
		cfg.DataDir = demoDataDir(cfg.DataDir)
	}
	if cfg.FlushInterval > time.Second {
		log.Warn("flush interval above 1s: UDP segments may wait that long before they are durable", "flush_interval", cfg.FlushInterval)
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return err
	}
	printBanner(stdout, srv, *demo)
	if *demo {
		go runDemo(ctx, srv, log)
	}
	printSignIn(stdout, srv)
	<-ctx.Done()
	log.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Close(closeCtx)
}

// defaultMemoryLimit is -memory-limit's default: with the ingest queue and the
// summarizer at their default bounds the Go heap holds about 300 MiB under a
// UDP flood (2026-11-25, scripts/bench-ingest 50000: max RSS ~0.52 GiB), so
// this leaves the collector room without letting it double.
const defaultMemoryLimit = 512 << 20

// envDefaults lets every flag be set from the environment: -data-dir from
// COUNTERSPY_DATA_DIR, and so on. Command-line flags still win.
func envDefaults(fs *flag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("environment %s=%q: %v", name, v, serr)
			}
		}
	})
	return err
}

// defaultDataDir is per user: $XDG_DATA_HOME/counterspy or
// ~/.local/share/counterspy on Linux, the user config directory elsewhere.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "counterspy")
	}
	if runtime.GOOS == "linux" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", "counterspy")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "counterspy")
	}
	return "counterspy-data"
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %v", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// byteSize is a flag value in bytes, written as GOMEMLIMIT is: a number with
// an optional unit B, KiB, MiB, GiB or TiB.
type byteSize int64

func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if v != 0 && v%(1<<u.shift) == 0 {
			return strconv.FormatInt(v>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Set(s string) error {
	num, unit := strings.TrimSpace(s), ""
	if i := strings.IndexFunc(num, func(r rune) bool { return (r < '0' || r > '9') && r != '-' }); i >= 0 {
		num, unit = strings.TrimSpace(num[:i]), strings.TrimSpace(num[i:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q: want a size such as 512MiB, 1GiB or 536870912 (bytes), or 0 for none", s)
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	sh, ok := shift[unit]
	if !ok {
		return fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB, GiB or TiB)", s, unit)
	}
	if n > (1<<62)>>sh {
		return fmt.Errorf("%q: too large", s)
	}
	*b = byteSize(n << sh)
	return nil
}
