package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/counterspy/counterspy/internal/dynamodblocal"
	"github.com/counterspy/counterspy/internal/httpguard"
	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/eventsource"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/server"
)

func init() {
	commands["demo"] = command{"run the seed's sample app for real: the Go function under the Lambda emulator, fed by S3 uploads (needs Go)", runDemoApp}
}

// The sample app of the seed post: uploads to a bucket notify a topic, the
// topic invokes the Go function, which stores each object key in a table.
const (
	demoFunction = "xraystarter-go"
	demoBucket   = "xraystarter-uploads"
	demoTopic    = "xraystarter-uploads-topic"
	demoTable    = "items"
	demoPackage  = "./examples/xraystarter-go"
	// examples/ is its own module (its dependencies stay out of the
	// binary's), so the function is built from there.
	examplesModule = "examples"
	modulePath     = "github.com/counterspy/counterspy"
)

func runDemoApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	setUsage(fs, "[flags]", `
Builds the seed post's Go function (examples/xraystarter-go; needs the Go toolchain
and this repository as the working directory), runs it and the post's Python and
TypeScript functions (examples/xraystarter-py, examples/xraystarter-ts: python3.12 and
nodejs20.x, when python3 with aws_xray_sdk and node with the example's node_modules
are installed) under the Lambda emulator with an in-memory DynamoDB stand-in, and
uploads an object every --interval, like the post's traffic.sh: S3 → SNS → Lambda
(async: Dwell Time, Attempt #1) → DynamoDB. Segments go to --xray and logs to
--server, so start 'counterspy serve' first, or pass --serve to run one in this process.`,
		`counterspy demo --serve`,
		`counterspy demo --count 3`,
		`counterspy demo --serve --python-without-xray-sdk   # the post's Runtime.ImportModuleError`)

	addr := fs.String("addr", defaultLambdaAddr, "`host:port` of the emulator's Invoke API and upload endpoint")
	xray := fs.String("xray", server.DefaultAddr, "X-Ray daemon `address` (counterspy serve's)")
	srvURL := fs.String("server", "", "Counterspy server `URL` for the logs (default http://<xray address>)")
	serve := fs.Bool("serve", false, "also run the Counterspy server in this process, on the --xray address")
	dataDir := fs.String("data-dir", defaultDataDir(), "`directory` of the store with --serve")
	interval := fs.Duration("interval", 5*time.Second, "time between uploads")
	count := fs.Int("count", 0, "uploads to make, then exit (0: until interrupted)")
	ddbURL := fs.String("dynamodb-endpoint", "", "`URL` of a DynamoDB-compatible server (dynalite, DynamoDB Local) instead of the in-memory stand-in; it needs the table "+demoTable)
	repo := fs.String("repo", "", "`directory` of the Counterspy repository (default: found from the working directory)")
	quiet := fs.Bool("quiet", false, "do not print the function's logs")
	noXRaySDK := fs.Bool("python-without-xray-sdk", false, "deploy the Python function without aws_xray_sdk, as in the seed post: every invocation fails with Runtime.ImportModuleError")
	if err := envDefaults(fs, "COUNTERSPY_DEMO_"); err != nil {
		return usageError{err}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "info", "text")
	if *srvURL == "" {
		*srvURL = "http://" + *xray
	}
	if *serve {
		srv, err := server.Start(server.Config{Addr: *xray, DataDir: *dataDir, Logger: log})
		if err != nil {
			return err
		}
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			srv.Close(c)
		}()
		*xray, *srvURL = srv.UDPAddr(), "http://"+srv.HTTPAddr()
		fmt.Fprintf(stdout, "counterspy demo: server on %s (data in %s)\n", *srvURL, *dataDir)
	} else if err := probe(*srvURL); err != nil {
		fmt.Fprintf(stderr, "counterspy demo: no Counterspy server answers at %s (%v); segments and logs will be lost. Run 'counterspy serve' or pass --serve.\n", *srvURL, err)
	}

	fmt.Fprintf(stdout, "counterspy demo: building %s ...\n", demoPackage)
	bin, cleanup, err := buildExample(ctx, *repo)
	if err != nil {
		return err
	}
	defer cleanup()

	sinks := lambdalog.Tee{lambdalog.NewHTTPSink(*srvURL, nil)}
	if !*quiet {
		sinks = append(sinks, lambdalog.NewPrinter(stdout))
	}
	pyDir, nodeDir := prepareSeedFunctions(ctx, *repo, filepath.Dir(bin), *noXRaySDK, stdout)
	app, err := startDemoApp(ctx, demoOptions{FunctionBin: bin, PythonDir: pyDir, NodeDir: nodeDir, Addr: *addr, XRayAddr: *xray, Logs: sinks,
		DynamoDBEndpoint: *ddbURL, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		app.Close(c)
	}()
	fmt.Fprintf(stdout, `counterspy demo: %s subscribed to s3://%s (via SNS topic %s), DynamoDB at %s
  upload by hand: curl -X PUT --data-binary @FILE http://%s%s%s/KEY
  invoke by hand: %s
  traces:         aws xray get-trace-summaries --endpoint-url %s --start-time $(($(date +%%s)-300)) --end-time $(date +%%s)
  logs:           counterspy logs --endpoint %s --function %s --follow
`, demoFunction, demoBucket, demoTopic, app.ddbURL, app.Addr(), eventsource.S3Prefix, demoBucket,
		lambdaEnvHint(app.Addr()), *srvURL, *srvURL, demoFunction)

	t := time.NewTicker(*interval)
	defer t.Stop()
	for n := 1; *count == 0 || n <= *count; n++ {
		key := "upload-" + randomHex(8) + ".txt"
		res, err := app.Upload(key, []byte("uploaded at "+time.Now().UTC().Format(time.RFC3339Nano)+"\n"))
		if err != nil {
			return err
		}
		for _, d := range res.Invocations {
			fmt.Fprintf(stdout, "counterspy demo: uploaded s3://%s/%s → %s request %s%s\n", demoBucket, key, d.Function, d.RequestID, d.Error)
		}
		if *count != 0 && n == *count {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	// Let the last invocation finish before shutting down.
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	app.Drain(c)
	return nil
}

func probe(base string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(base, "/") + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// buildExample compiles the example function into a temporary directory.
func buildExample(ctx context.Context, repo string) (string, func(), error) {
	repo, err := findRepo(ctx, repo)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "counterspy-demo-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	// Named bootstrap, as for Lambda's provided.al2023 runtime.
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "."+strings.TrimPrefix(demoPackage, "./"+examplesModule))
	cmd.Dir = filepath.Join(repo, examplesModule)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build %s: %v\n%s", demoPackage, err, out)
	}
	return bin, cleanup, nil
}

// findRepo returns the Counterspy repository's directory: repo, or the
// module of the working directory.
func findRepo(ctx context.Context, repo string) (string, error) {
	if repo == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("counterspy demo builds the example function and needs the Go toolchain: %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", errors.New("run counterspy demo from the Counterspy repository (or pass --repo DIR): it builds " + demoPackage)
		}
		repo = filepath.Dir(gomod)
	}
	if b, err := os.ReadFile(filepath.Join(repo, "go.mod")); err != nil || !strings.Contains(string(b), "module "+modulePath+"\n") {
		return "", fmt.Errorf("%s is not the Counterspy repository (module %s)", repo, modulePath)
	}
	return repo, nil
}

type demoOptions struct {
	FunctionBin string
	// PythonDir and NodeDir are the code directories of the seed's
	// Python and TypeScript functions (empty: not run).
	PythonDir, NodeDir string
	Addr               string
	XRayAddr           string
	Logs               lambdalog.Sink
	DynamoDBEndpoint   string
	Logger             *slog.Logger
	// RetryDelays shortens the asynchronous retries (tests).
	RetryDelays []lambda.Duration
}

// demoApp is the running sample app: DynamoDB stand-in, emulator, HTTP.
type demoApp struct {
	// issued counts invocations the uploads caused; attempts counts
	// finished attempts (for Drain).
	issued, attempts atomic.Int64
	e                *lambda.Emulator
	ddb              *dynamodblocal.Server
	ddbURL           string
	ln               net.Listener
	srv              *http.Server
}

func startDemoApp(ctx context.Context, o demoOptions) (*demoApp, error) {
	a := &demoApp{ddbURL: o.DynamoDBEndpoint}
	if a.ddbURL == "" {
		ddb, err := dynamodblocal.Start("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ddb.CreateTable(demoTable, "id")
		a.ddb, a.ddbURL = ddb, ddb.URL()
	}
	env := map[string]string{"TABLE_NAME": demoTable, "AWS_ENDPOINT_URL_DYNAMODB": a.ddbURL}
	fns := append([]lambda.FunctionConfig{{
		Name: demoFunction, Command: []string{o.FunctionBin}, Handler: "bootstrap", MemoryMB: 128,
		Timeout: lambda.Duration(10 * time.Second), Tracing: "Active", Environment: env,
	}}, seedFunctions(o.PythonDir, o.NodeDir, env)...)
	var subscribers []string
	for _, f := range fns {
		subscribers = append(subscribers, f.Name)
	}
	e, err := lambda.Start(ctx, lambda.Config{
		XRayAddr: o.XRayAddr, Logs: o.Logs, Logger: o.Logger,
		Observe:   func(string, *pool.Execution) { a.attempts.Add(1) },
		Functions: fns,
		Buckets:   []eventsource.Bucket{{Name: demoBucket, Topic: demoTopic}},
		Topics:    []eventsource.Topic{{Name: demoTopic, Subscribers: subscribers}},
		Async:     lambda.AsyncConfig{RetryDelays: o.RetryDelays},
	})
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	a.e = e
	if a.ln, err = net.Listen("tcp", o.Addr); err != nil {
		a.Close(ctx)
		return nil, err
	}
	a.srv = &http.Server{Handler: httpguard.Wrap(e.Handler(), httpguard.Options{Addr: a.ln.Addr().String()}), // docs/security.md
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go a.srv.Serve(a.ln)
	return a, nil
}

// Addr is the emulator's address.
func (a *demoApp) Addr() string { return a.ln.Addr().String() }

// Upload uploads an object to the demo bucket.
func (a *demoApp) Upload(key string, body []byte) (*eventsource.UploadResult, error) {
	res, err := a.e.Upload(demoBucket, key, body)
	if err == nil {
		for _, d := range res.Invocations {
			if d.Error == "" {
				a.issued.Add(1)
			}
		}
	}
	return res, err
}

// Drain waits until every upload's invocation ran once and the logs are
// flushed.
func (a *demoApp) Drain(ctx context.Context) {
	for ctx.Err() == nil && a.attempts.Load() < a.issued.Load() {
		time.Sleep(20 * time.Millisecond)
	}
	a.e.FlushLogs(ctx)
}

func (a *demoApp) Close(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		errs = append(errs, a.srv.Close())
	}
	if a.e != nil {
		errs = append(errs, a.e.Close(ctx))
	}
	if a.ddb != nil {
		errs = append(errs, a.ddb.Close())
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}
