package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/auth"
	"github.com/counterspy/counterspy/internal/connlimit"
	"github.com/counterspy/counterspy/internal/httpguard"
	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
)

func init() {
	commands["lambda"] = command{"run Lambda functions locally: Runtime API, Invoke API, S3/SNS events, X-Ray segments and logs", runLambda}
}

// defaultLambdaAddr is where `counterspy lambda` serves the Invoke API
// (Lambda's Runtime API port inside a sandbox is 9001 too).
const defaultLambdaAddr = "127.0.0.1:9001"

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runLambda(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lambda", stderr)
	setUsage(fs, "[--config functions.json | --template template.yaml] [--function NAME=COMMAND ...] [flags]", `
Runs functions through the real Lambda Runtime API (any runtime client works:
aws-lambda-go's lambda.Start, the Python and Node runtime interface clients, a
bootstrap script) behind the Lambda Invoke API, and sends the X-Ray segments the
Lambda service would (AWS::Lambda and AWS::Lambda::Function, Initialization on cold
starts, Dwell Time and Attempt #N for asynchronous calls) to --xray, and the
function's logs with START/END/REPORT/XRAY lines to --server.`,
		`counterspy lambda --template template.yaml`,
		`counterspy lambda --function hello=./hello`,
		`aws lambda invoke --endpoint-url http://127.0.0.1:9001 --function-name NAME out.json`,
		`aws lambda list-functions --endpoint-url http://127.0.0.1:9001      # also get-function, create-function --zip-file, ...`,
		`curl -X PUT --data-binary @file http://127.0.0.1:9001/counterspy/v1/s3/BUCKET/KEY`)

	configPath := fs.String("config", "", "functions.json `file`: functions, buckets, topics and async settings (see internal/lambda.Load); a template is accepted too")
	templatePath := fs.String("template", "", "SAM template.yaml or synthesized CloudFormation template (cdk.out/STACK.template.json) `file`: its functions, S3 buckets, SNS topics and subscriptions")
	codeDir := fs.String("code-dir", "", "`directory` where zipped code (templates, CreateFunction) is unpacked (default: under the system's temporary directory)")
	var fnFlags, envFlags listFlag
	fs.Var(&fnFlags, "function", "define a function as `NAME=COMMAND` (repeatable; the command is split on spaces)")
	memory := fs.Int("memory", 128, "memory size in `MB` of --function functions")
	timeout := fs.Duration("timeout", 3*time.Second, "timeout of --function functions")
	tracing := fs.String("tracing", "Active", "X-Ray tracing mode of --function functions: Active or PassThrough")
	fs.Var(&envFlags, "env", "`KEY=VALUE` for the environment of --function functions (repeatable)")
	addr := fs.String("addr", defaultLambdaAddr, "`host:port` of the Invoke API and the S3/SNS event endpoints")
	xray := fs.String("xray", "127.0.0.1:2000", "X-Ray daemon `address` (counterspy serve's) for the Lambda segments and the functions' AWS_XRAY_DAEMON_ADDRESS; empty sends none")
	server := fs.String("server", "http://127.0.0.1:2000", "Counterspy server `URL` the function logs are posted to (POST /counterspy/v1/logs); empty keeps them local")
	authFile := fs.String("auth-file", "", "`file` of principals as for serve --auth-file: every Invoke API request must then be SigV4-signed with one of its keys (invoking is a write)")
	insecure := fs.Bool("insecure-no-auth", false, "serve the Invoke API on an address other machines can reach without --auth-file")
	quiet := fs.Bool("quiet", false, "do not print the functions' logs here")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	if err := envDefaults(fs, "COUNTERSPY_LAMBDA_"); err != nil {
		return usageError{err}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return usageError{err}
	}
	var cfg lambda.Config
	var warnings []string
	switch {
	case *configPath != "" && *templatePath != "":
		return usageError{errors.New("--config and --template: give one")}
	case *templatePath != "":
		cfg, warnings, err = lambda.LoadTemplate(*templatePath, *codeDir, "", "")
	case *configPath != "":
		cfg, warnings, err = lambda.LoadFile(*configPath, *codeDir)
	}
	if err != nil {
		return usageError{err}
	}
	for _, w := range warnings {
		log.Warn("lambda: template: " + w)
	}
	cfg.CodeRoot = *codeDir
	env := map[string]string{}
	for _, kv := range envFlags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("-env %q: want KEY=VALUE", kv)}
		}
		env[k] = v
	}
	for _, f := range fnFlags {
		name, command, ok := strings.Cut(f, "=")
		if !ok || name == "" || strings.TrimSpace(command) == "" {
			return usageError{fmt.Errorf("-function %q: want NAME=COMMAND", f)}
		}
		cfg.Functions = append(cfg.Functions, lambda.FunctionConfig{Name: name, Command: strings.Fields(command),
			MemoryMB: *memory, Timeout: lambda.Duration(*timeout), Tracing: *tracing, Environment: env})
	}
	if len(cfg.Functions) == 0 {
		return usageError{errors.New("no functions: use --config, --template or --function NAME=COMMAND")}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	cfg.XRayAddr, cfg.Logger = *xray, log
	var sinks lambdalog.Tee
	if *server != "" {
		sinks = append(sinks, lambdalog.NewHTTPSink(*server, auth.HTTPClient(10*time.Second)))
	}
	if !*quiet {
		p := lambdalog.NewPrinter(stdout)
		p.Prefix = len(cfg.Functions) > 1
		sinks = append(sinks, p)
	}
	if len(sinks) > 0 {
		cfg.Logs = sinks
	}
	protect, err := protectLambda(*addr, *authFile, *insecure, log)
	if err != nil {
		return err
	}
	e, err := lambda.Start(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		e.Close(context.Background())
		return err
	}
	// The same browser guard, connection limit and timeouts as serve's
	// (docs/security.md): no web page can invoke a function.
	ln = connlimit.Wrap(ln, connlimit.DefaultMax, "lambda", nil)
	srv := &http.Server{Handler: httpguard.Wrap(protect(e.Handler()), httpguard.Options{Addr: ln.Addr().String(), Logger: log}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "counterspy lambda: Invoke API on http://%s (segments to %s, logs to %s)\n%s",
		ln.Addr(), orNone(*xray), orNone(*server), e)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(closeCtx)
	return e.Close(closeCtx)
}

func orNone(s string) string {
	if s == "" {
		return "nowhere"
	}
	return s
}

// lambdaEnvHint is printed by the demo: how to call the emulator by hand.
func lambdaEnvHint(addr string) string {
	return "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 " +
		"aws lambda invoke --endpoint-url http://" + addr + " --function-name xraystarter-go --cli-binary-format raw-in-base64-out --payload '{}' /dev/stdout"
}
