// Package server wires receivers, the ingest pipeline, the store and the API
// into the process that `counterspy serve` runs.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/assemble/summarize"
	"github.com/counterspy/counterspy/internal/console"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/receiver/udp"
	"github.com/counterspy/counterspy/internal/store"
)

// Config is everything `counterspy serve` can be told.
type Config struct {
	// Addr is where segments (UDP) and the HTTP API (TCP) listen, like the
	// X-Ray daemon's -b. Port 0 picks a free port (the same for both when
	// possible).
	Addr string
	// UDPAddr and HTTPAddr override Addr for one protocol.
	UDPAddr, HTTPAddr string
	// DataDir holds the embedded store.
	DataDir string
	// Store is the backend: "" or "pebble" (the embedded store in DataDir)
	// or clickhouse://HOST:PORT/DATABASE (see internal/server/store.go).
	Store string
	// FlushInterval bounds how long a UDP segment may wait before it is
	// durable.
	FlushInterval time.Duration
	// NoSync skips fsync on writes (faster; a machine crash, not a process
	// crash, can then lose acknowledged data).
	NoSync bool
	// Retention is how long traces are kept.
	Retention time.Duration
	// MaxDocumentSize caps one segment document.
	MaxDocumentSize int
	// SamplingRate is the Default sampling rule's fixed rate given to SDKs.
	SamplingRate float64
	// UDPReaders is the number of UDP sockets/readers (0 = one per CPU).
	UDPReaders int
	// LambdaConfig, if set, is a functions.json file (see internal/lambda):
	// the Lambda emulator then runs in this process, its Invoke API and
	// event endpoints on the HTTP address, its segments through the UDP
	// receiver and its logs into the store.
	LambdaConfig string
	Logger       *slog.Logger
}

// DefaultAddr is the X-Ray daemon's address.
const DefaultAddr = "127.0.0.1:2000"

// The region and account that ARNs the server makes up (groups, sampling
// rules) name, as X-Ray's would.
const (
	region    = "us-east-1"
	accountID = "000000000000"
	// lambdaAccountID is the account of emulated functions' ARNs, the one
	// the Lambda examples and the seed scenario use.
	lambdaAccountID = "123456789012"
)

// Server is a running Counterspy.
type Server struct {
	cfg      Config
	log      *slog.Logger
	metrics  *metrics.Set
	store    store.Store
	pipeline *ingest.Pipeline
	udp      *udp.Receiver
	http     *http.Server
	httpLn   net.Listener
	lambda   *lambda.Emulator
	lock     *dataDirLock

	logsStored *metrics.Counter

	stop     context.CancelFunc
	bg       sync.WaitGroup
	closeErr error
	once     sync.Once
}

// Start opens the store and starts listening.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.DataDir == "" {
		return nil, errors.New("server: no data directory")
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: metrics.NewSet(), lock: lock}
	started := false
	defer func() {
		if !started {
			lock.release()
		}
	}()
	s.logsStored = s.metrics.NewCounter(`counterspy_function_log_lines_stored_total`)
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	s.metrics.NewGauge(`counterspy_store_disk_bytes`, func() float64 {
		stats, err := st.Stats(context.Background())
		if err != nil {
			return 0
		}
		return float64(stats.DiskBytes)
	})
	reg, err := groups.Open(context.Background(), st, groups.Options{Region: region, AccountID: accountID, Logger: cfg.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	sum := summarize.New(st, summarize.Options{Groups: reg}, s.metrics, cfg.Logger)
	s.pipeline = ingest.New(st, ingest.Options{FlushInterval: cfg.FlushInterval, Observer: sum}, s.metrics, cfg.Logger)

	httpAddr, udpAddr := cfg.Addr, cfg.Addr
	if cfg.HTTPAddr != "" {
		httpAddr = cfg.HTTPAddr
	}
	if cfg.UDPAddr != "" {
		udpAddr = cfg.UDPAddr
	}
	if err := s.listen(httpAddr, udpAddr); err != nil {
		s.pipeline.Close(context.Background())
		st.Close()
		return nil, err
	}

	if cfg.LambdaConfig != "" {
		if err := s.startLambda(); err != nil {
			s.udp.Close()
			s.httpLn.Close()
			s.pipeline.Close(context.Background())
			st.Close()
			return nil, err
		}
	}

	a := api.New(s.pipeline, st, api.Options{MaxDocumentSize: cfg.MaxDocumentSize, SamplingRate: cfg.SamplingRate,
		Registry: reg, Region: region, AccountID: accountID}, s.metrics, cfg.Logger)
	s.http = &http.Server{Handler: s.routes(a), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.bg.Add(1)
	go s.retentionLoop(ctx)
	s.log.Debug("counterspy serving", "http", s.HTTPAddr(), "udp", s.UDPAddr(), "data_dir", cfg.DataDir)
	started = true
	return s, nil
}

// listen binds the TCP and UDP ports. With port 0 in both it looks for one
// port free for both protocols, so SDKs can use a single daemon address.
func (s *Server) listen(httpAddr, udpAddr string) error {
	ropts := udp.Options{Readers: s.cfg.UDPReaders, MaxDocumentSize: s.cfg.MaxDocumentSize}
	samePort := httpAddr == udpAddr
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			return listenError("tcp", httpAddr, s.addrFlag("--http-addr"), err)
		}
		uaddr := udpAddr
		if samePort {
			uaddr = ln.Addr().String()
		}
		r, err := udp.Listen(uaddr, s.pipeline, ropts, s.metrics, s.log)
		if err != nil {
			ln.Close()
			_, port, _ := net.SplitHostPort(httpAddr)
			if samePort && port == "0" && attempt < 20 {
				continue // the free TCP port is taken for UDP; try another
			}
			return listenError("udp", uaddr, s.addrFlag("--udp-addr"), err)
		}
		s.httpLn, s.udp = ln, r
		return nil
	}
}

func (s *Server) routes(a *api.API) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.metrics.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	})
	mux.HandleFunc("POST "+logsPath, s.postLogs)
	mux.HandleFunc("GET "+logsPath, s.getLogs)
	mux.HandleFunc("GET "+api.TraceStatsPath, a.ServeTraceStats)
	if s.lambda != nil {
		s.lambda.Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.store.Stats(r.Context()); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	// The X-Ray API takes POSTs to its capitalized operation paths; the
	// web console answers GET and HEAD for every other path.
	ui := console.Handler()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !a.Handles(r.URL.Path) {
			ui.ServeHTTP(w, r)
			return
		}
		a.ServeHTTP(w, r)
	}))
	return mux
}

// addrFlag names the flag that moves a listener: --addr, unless the
// per-protocol override was the one given.
func (s *Server) addrFlag(override string) string {
	if (override == "--http-addr" && s.cfg.HTTPAddr != "") || (override == "--udp-addr" && s.cfg.UDPAddr != "") {
		return override
	}
	return "--addr"
}

// HTTPAddr is the bound API address (host:port).
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// UDPAddr is the bound segment address (host:port).
func (s *Server) UDPAddr() string { return s.udp.Addr().String() }

// Metrics exposes the server's metric set (for tests and embedding).
func (s *Server) Metrics() *metrics.Set { return s.metrics }

// Store exposes the backend (for tests and embedding).
func (s *Server) Store() store.Store { return s.store }

// Pipeline exposes the ingest pipeline (for in-process traffic such as the demo).
func (s *Server) Pipeline() *ingest.Pipeline { return s.pipeline }

// Close stops receiving, writes everything queued, and closes the store.
func (s *Server) Close(ctx context.Context) error {
	s.once.Do(func() {
		s.stop()
		var errs []error
		if s.lambda != nil {
			// Functions still send segments and logs while they stop.
			errs = append(errs, s.lambda.Close(ctx))
		}
		errs = append(errs, s.udp.Close())
		errs = append(errs, s.http.Shutdown(ctx))
		errs = append(errs, s.pipeline.Close(ctx))
		s.bg.Wait()
		errs = append(errs, s.store.Close())
		errs = append(errs, s.lock.release())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// startLambda runs the Lambda emulator in this process: segments go to our
// own UDP receiver, the same path as any SDK's, and logs straight to the
// store.
func (s *Server) startLambda() error {
	cfg, err := lambda.Load(s.cfg.LambdaConfig)
	if err != nil {
		return fmt.Errorf("lambda config %s: %w", s.cfg.LambdaConfig, err)
	}
	cfg.XRayAddr = s.UDPAddr()
	cfg.Logs = storeLogSink{s}
	cfg.Logger = s.log
	if cfg.AccountID == "" {
		cfg.AccountID = lambdaAccountID
	}
	e, err := lambda.Start(context.Background(), cfg)
	if err != nil {
		return fmt.Errorf("start the lambda emulator: %w", err)
	}
	s.lambda = e
	return nil
}

// storeLogSink writes the emulator's log lines to the store.
type storeLogSink struct{ s *Server }

func (k storeLogSink) Write(ctx context.Context, recs []logs.Record) error {
	if err := k.s.store.Write(ctx, &store.Batch{Logs: recs}); err != nil {
		return err
	}
	k.s.logsStored.Add(len(recs))
	return nil
}

// retentionLoop drops expired partitions at start-up and then hourly.
func (s *Server) retentionLoop(ctx context.Context) {
	defer s.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-s.cfg.Retention)
		if err := s.store.DropBefore(ctx, cutoff); err != nil && ctx.Err() == nil {
			s.log.Error("retention: dropping old traces failed", "cutoff", cutoff, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
