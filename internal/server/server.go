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
	"path/filepath"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/cluster"
	"github.com/counterspy/counterspy/internal/connlimit"
	"github.com/counterspy/counterspy/internal/console"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/httpguard"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/logsapi"
	"github.com/counterspy/counterspy/internal/receiver/udp"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
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
	// Cluster makes the server one node of several over one store.
	Cluster ClusterConfig
	// OTLPHTTPAddr and OTLPGRPCAddr are the OTLP listeners' addresses; ""
	// or "off" turns one off. OTLPAnnotations names span attributes
	// indexed as annotations (docs/otlp.md).
	OTLPHTTPAddr, OTLPGRPCAddr string
	OTLPAnnotations            []string
	Logger                     *slog.Logger

	// Who gets in (security.go, docs/security-auth.md). AuthFile lists the
	// key pairs and tokens the HTTP API accepts; without one, only
	// loopback addresses may be bound unless InsecureNoAuth. UDPAllow
	// lists the networks UDP segments may come from. TLSCert and TLSKey
	// serve HTTPS, reloaded when the files change. LoginToken is the
	// console's (default: random at every start).
	AuthFile        string
	InsecureNoAuth  bool
	UDPAllow        Networks
	TLSCert, TLSKey string
	LoginToken      string
	authNow         func() time.Time // X-Amz-Date's clock, for tests

	// AllowedHosts are names, besides the bound address, that the HTTP
	// Host header may carry (see internal/httpguard).
	AllowedHosts []string
	// MaxConnections caps open HTTP connections; past it new ones are
	// closed at once (0 = DefaultMaxConnections, <0 = no limit).
	MaxConnections int
	// Now is the clock retention measures age by (default time.Now).
	Now func() time.Time
	// RetentionInterval is how often retention runs (default hourly).
	RetentionInterval time.Duration
	// Pebble tunes the embedded store (NoSync and Logger come from above).
	Pebble pebblestore.Options
}

// DefaultAddr is the X-Ray daemon's address.
const DefaultAddr = "127.0.0.1:2000"

// DefaultMaxConnections is Config.MaxConnections' default.
const DefaultMaxConnections = connlimit.DefaultMax

// HTTP timeouts (docs/security.md): a client gets this long to send its
// headers, its whole request, and an idle keep-alive connection is closed
// after IdleTimeout. Nothing bounds a handler's answer: sync Lambda
// invocations and large queries take what they take.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	idleTimeout       = 2 * time.Minute
)

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
	sink     sink            // the pipeline, or router in front of it (cluster.go)
	router   *cluster.Router // nil unless the server is a cluster node
	udp      *udp.Receiver
	http     *http.Server
	httpLn   net.Listener
	lambda   *lambda.Emulator
	api      *api.API
	lock     *dataDirLock
	otlp     otlpServers

	logsStored *metrics.Counter
	sec        security // who gets in (security.go)

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
	sec, err := prepareSecurity(cfg)
	if err != nil {
		return nil, err
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
	s.sec = sec
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	s.store = st
	s.storeHealthMetrics(st)
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
	if err := s.startRouter(httpAddr); err != nil {
		s.pipeline.Close(context.Background())
		st.Close()
		return nil, err
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

	a := api.New(s.sink, st, api.Options{MaxDocumentSize: cfg.MaxDocumentSize, SamplingRate: cfg.SamplingRate,
		Registry: reg, Region: region, AccountID: accountID, Retention: cfg.Retention, Meta: st,
		EvaluatesInsights: s.evaluatesInsights()}, s.metrics, cfg.Logger)
	s.api = a
	// The browser guard is outermost: a forged cross-site request is
	// refused before anything else looks at it.
	handler := httpguard.Wrap(s.clusterHandler(s.secure(s.routes(a), a)), httpguard.Options{Addr: s.HTTPAddr(), AllowedHosts: cfg.AllowedHosts, Metrics: s.metrics, Logger: s.log})
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
	go func() {
		if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.bg.Add(1)
	go s.retentionLoop(ctx)
	s.reloadShared(ctx, reg)
	s.bg.Add(1)
	go func() { defer s.bg.Done(); a.RunInsights(ctx) }()
	if err := s.startOTLP(); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	s.log.Debug("counterspy serving", "http", s.HTTPAddr(), "udp", s.UDPAddr(), "data_dir", cfg.DataDir)
	started = true
	return s, nil
}

// listen binds the TCP and UDP ports. With port 0 in both it looks for one
// port free for both protocols, so SDKs can use a single daemon address.
func (s *Server) listen(httpAddr, udpAddr string) error {
	ropts := udp.Options{Readers: s.cfg.UDPReaders, MaxDocumentSize: s.cfg.MaxDocumentSize, Allow: s.sec.udpAllow, Retention: s.cfg.Retention}
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
		r, err := udp.Listen(uaddr, s.sink, ropts, s.metrics, s.log)
		if err != nil {
			ln.Close()
			_, port, _ := net.SplitHostPort(httpAddr)
			if samePort && port == "0" && attempt < 20 {
				continue // the free TCP port is taken for UDP; try another
			}
			return listenError("udp", uaddr, s.addrFlag("--udp-addr"), err)
		}
		s.httpLn, s.udp = connlimit.Wrap(ln, s.maxConnections(), "http", s.metrics), r
		return nil
	}
}

func (s *Server) routes(a *api.API) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.metrics.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	})
	(&logsapi.Handler{Store: s.store, Log: s.log, Stored: func(n int) { s.logsStored.Add(n) }}).Register(mux)
	mux.HandleFunc("GET "+api.TraceStatsPath, a.ServeTraceStats)
	mux.HandleFunc("GET "+api.ProfilePath, a.ServeProfile)
	mux.HandleFunc("GET "+api.ProfileExamplesPath, a.ServeProfileExamples)
	if s.lambda != nil {
		s.lambda.Register(mux)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
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

// maxConnections is the per-listener connection limit (<0: none).
func (s *Server) maxConnections() int {
	if s.cfg.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return s.cfg.MaxConnections
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
		errs = append(errs, s.closeOTLP(ctx))
		errs = append(errs, s.http.Shutdown(ctx))
		if s.router != nil {
			s.router.Close()
		}
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
	codeRoot := "" // uploaded and zipped code: the data directory when there is one
	if s.cfg.DataDir != "" {
		codeRoot = filepath.Join(s.cfg.DataDir, "lambda-code")
	}
	cfg, warnings, err := lambda.LoadFile(s.cfg.LambdaConfig, codeRoot) // functions.json or a SAM/CDK template
	if err != nil {
		return fmt.Errorf("lambda config %s: %w", s.cfg.LambdaConfig, err)
	}
	for _, w := range warnings {
		s.log.Warn("lambda: template: " + w)
	}
	cfg.CodeRoot = codeRoot
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
	every := s.cfg.RetentionInterval
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		cutoff := s.now().Add(-s.cfg.Retention)
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
