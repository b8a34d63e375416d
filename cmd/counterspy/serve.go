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
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/server"
)

func init() {
	commands["serve"] = command{"run the server: X-Ray daemon protocol, X-Ray API, embedded store", runServe}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var cfg server.Config
	fs.StringVar(&cfg.Addr, "addr", server.DefaultAddr,
		"`host:port` for both segments (UDP, the X-Ray daemon protocol) and the HTTP API (TCP), like the X-Ray daemon's -b; point SDKs' AWS_XRAY_DAEMON_ADDRESS and the AWS CLI's --endpoint-url here")
	fs.StringVar(&cfg.UDPAddr, "udp-addr", "", "`host:port` for UDP segments, overriding -addr")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "`host:port` for the HTTP API, overriding -addr")
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "`directory` of the embedded store (created if missing)")
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
		"functions.json `file`: run the Lambda emulator in this server (Invoke API and S3/SNS event endpoints on the HTTP address; see counterspy lambda -h)")
	demo := fs.Bool("demo", false, "feed the demo traffic (the seed scenario: S3 → SNS → three Lambda functions → DynamoDB) so there is data to look at")
	// The Go runtime's own GOMEMLIMIT, when set, stays in charge unless
	// -memory-limit is given.
	memDefault := int64(defaultMemoryLimit)
	if os.Getenv("GOMEMLIMIT") != "" {
		memDefault = 0
	}
	memLimit := fs.Int64("memory-limit", memDefault,
		"soft limit on the server's Go memory in `bytes`: the garbage collector works harder near it, so a flood costs CPU rather than RSS (Pebble's cache and memtables come on top); 0 leaves it to GOMEMLIMIT")
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
	if *memLimit < 0 {
		return usageError{fmt.Errorf("memory limit %d: want bytes, or 0 for none", *memLimit)}
	}
	if *memLimit > 0 {
		debug.SetMemoryLimit(*memLimit)
	}
	if cfg.FlushInterval > time.Second {
		log.Warn("flush interval above 1s: UDP segments may wait that long before they are durable", "flush_interval", cfg.FlushInterval)
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "counterspy: X-Ray API on http://%s, segments on udp://%s, data in %s\n", srv.HTTPAddr(), srv.UDPAddr(), cfg.DataDir)
	if *demo {
		go runDemo(ctx, srv, log)
	}
	<-ctx.Done()
	log.Info("shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Close(closeCtx)
}

// defaultMemoryLimit is -memory-limit's default: with the ingest queue and the
// summarizer at their default bounds the Go heap holds about 300 MiB under a
// UDP flood, so this leaves the collector room without letting it double.
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
