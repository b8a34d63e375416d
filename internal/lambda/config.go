package lambda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/eventsource"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/pool"
	"github.com/counterspy/counterspy/internal/lambda/runtimes"
)

// Config is the emulator's configuration: the functions, the event
// sources and the Lambda service's knobs (what a functions.json file
// holds, see Load), and where segments and logs go.
type Config struct {
	Region    string // default us-east-1
	AccountID string // default 123456789012

	Functions []FunctionConfig
	Buckets   []eventsource.Bucket
	Topics    []eventsource.Topic
	Async     AsyncConfig

	// XRayAddr is the X-Ray daemon address (UDP) the Lambda segments go to
	// and the functions' AWS_XRAY_DAEMON_ADDRESS; empty sends no segments.
	XRayAddr string
	// Logs receives every log record (function output and platform
	// lines); nil drops them.
	Logs lambdalog.Sink
	// Env is the host environment the functions inherit (default: PATH,
	// HOME, TMPDIR and GOCACHE/GOPATH/GOMODCACHE of this process).
	Env []string
	// Observe, when set, sees every finished invocation attempt with its
	// timeline (metrics, tests, benchmarks).
	Observe func(function string, ex *pool.Execution)
	Logger  *slog.Logger

	// --- Control plane API (branch lambdaapi) ---

	// CodeRoot is where deployment packages uploaded through
	// CreateFunction/UpdateFunctionCode are unpacked (default
	// DefaultCodeRoot()).
	CodeRoot string
}

// FunctionConfig is one function, named like Lambda's function
// configuration.
type FunctionConfig struct {
	Name string `json:"name"`
	// Command runs the function: an executable built for a Lambda runtime
	// client (aws-lambda-go's lambda.Start, a bootstrap, "python3 -m
	// awslambdaric app.handler", "npx aws-lambda-ric index.handler").
	// Without it the emulator starts Runtime as Lambda does (see package
	// runtimes); with it Runtime only names the runtime in INIT_START.
	Command []string `json:"command,omitempty"`
	// Dir is the code directory: the working directory and
	// LAMBDA_TASK_ROOT (default: the directory of the config file, or of
	// the executable).
	Dir string `json:"dir,omitempty"`
	// Handler and Runtime are Lambda's: "app.lambda_handler" with
	// "python3.12", "index.handler" with "nodejs20.x", "bootstrap" with
	// "provided.al2023" (runs Dir/bootstrap) or "go1.x".
	Handler     string            `json:"handler,omitempty"`
	Runtime     string            `json:"runtime,omitempty"`
	MemoryMB    int               `json:"memory,omitempty"`
	Timeout     Duration          `json:"timeout,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	// Tracing is Active or PassThrough (default Active: locally you want
	// the trace).
	Tracing     string   `json:"tracing,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	InitTimeout Duration `json:"init_timeout,omitempty"`
}

// AsyncConfig is Lambda's asynchronous invocation configuration.
type AsyncConfig struct {
	// MaxRetries is 0, 1 or 2 (Lambda's MaximumRetryAttempts, default 2).
	MaxRetries *int `json:"max_retries,omitempty"`
	// RetryDelays are the waits before each retry (default 1m, 2m, like
	// Lambda); shorten them for tests.
	RetryDelays []Duration `json:"retry_delays,omitempty"`
}

// Duration reads "3s", "250ms" or a number of seconds (Lambda's Timeout is
// in seconds).
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			if secs, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				*d = Duration(secs * float64(time.Second))
				return nil
			}
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration %s: want a number of seconds or a string like \"3s\"", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// fileConfig is the file layout: functions, buckets, topics, async.
type fileConfig struct {
	Region    string           `json:"region"`
	AccountID string           `json:"account_id"`
	Functions []FunctionConfig `json:"functions"`
	Buckets   []struct {
		Name      string   `json:"name"`
		Topic     string   `json:"topic"`
		Functions []string `json:"functions"`
	} `json:"buckets"`
	Topics []struct {
		Name        string   `json:"name"`
		Subscribers []string `json:"subscribers"`
	} `json:"topics"`
	Async AsyncConfig `json:"async"`
}

// Load reads a functions.json file:
//
//	{
//	  "region": "us-east-1",
//	  "functions": [{"name": "hello", "command": ["./hello"], "memory": 128,
//	                 "timeout": 3, "tracing": "Active", "environment": {"TABLE": "items"}},
//	                {"name": "py", "runtime": "python3.12", "handler": "app.lambda_handler", "dir": "py"}],
//	  "buckets": [{"name": "uploads", "topic": "uploads-topic"}],
//	  "topics":  [{"name": "uploads-topic", "subscribers": ["hello"]}],
//	  "async":   {"max_retries": 2, "retry_delays": ["1m", "2m"]}
//	}
//
// Relative commands and directories are relative to the file's directory.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var fc fileConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Region: fc.Region, AccountID: fc.AccountID, Functions: fc.Functions, Async: fc.Async}
	for i := range cfg.Functions {
		f := &cfg.Functions[i]
		if f.Dir == "" {
			f.Dir = base
		} else if !filepath.IsAbs(f.Dir) {
			f.Dir = filepath.Join(base, f.Dir)
		}
		if len(f.Command) > 0 && strings.HasPrefix(f.Command[0], ".") {
			f.Command[0] = filepath.Join(base, f.Command[0])
		}
	}
	for _, bk := range fc.Buckets {
		cfg.Buckets = append(cfg.Buckets, eventsource.Bucket{Name: bk.Name, Topic: bk.Topic, Functions: bk.Functions})
	}
	for _, t := range fc.Topics {
		cfg.Topics = append(cfg.Topics, eventsource.Topic{Name: t.Name, Subscribers: t.Subscribers})
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Validate checks names, references and limits, with Lambda's rules where
// it has them.
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, f := range c.Functions {
		switch {
		case !nameRE.MatchString(f.Name):
			errs = append(errs, fmt.Errorf("function %d: name %q: 1-64 letters, digits, '-' or '_'", i+1, f.Name))
		case seen[f.Name]:
			errs = append(errs, fmt.Errorf("function %q declared twice", f.Name))
		}
		seen[f.Name] = true
		kind, rerr := runtimes.Parse(f.Runtime)
		switch {
		case len(f.Command) > 0 && f.Command[0] == "":
			errs = append(errs, fmt.Errorf("function %q: empty command", f.Name))
		case len(f.Command) > 0:
		case f.Runtime == "":
			errs = append(errs, fmt.Errorf("function %q: no command or runtime", f.Name))
		case rerr != nil:
			errs = append(errs, fmt.Errorf("function %q: %w", f.Name, rerr))
		case kind != runtimes.Custom && f.Handler == "":
			errs = append(errs, fmt.Errorf("function %q: runtime %s needs a handler (module.function)", f.Name, f.Runtime))
		}
		if f.MemoryMB != 0 && (f.MemoryMB < 128 || f.MemoryMB > 10240) {
			errs = append(errs, fmt.Errorf("function %q: memory %d MB: Lambda allows 128 to 10240", f.Name, f.MemoryMB))
		}
		if f.Timeout < 0 || time.Duration(f.Timeout) > 15*time.Minute {
			errs = append(errs, fmt.Errorf("function %q: timeout %v: Lambda allows up to 15m", f.Name, time.Duration(f.Timeout)))
		}
		switch f.Tracing {
		case "", "Active", "PassThrough":
		default:
			errs = append(errs, fmt.Errorf("function %q: tracing %q: want Active or PassThrough", f.Name, f.Tracing))
		}
	}
	check := func(where, fn string) {
		if !seen[fn] {
			errs = append(errs, fmt.Errorf("%s: function %q is not declared", where, fn))
		}
	}
	for _, b := range c.Buckets {
		for _, fn := range b.Functions {
			check("bucket "+b.Name, fn)
		}
	}
	for _, t := range c.Topics {
		for _, fn := range t.Subscribers {
			check("topic "+t.Name, fn)
		}
	}
	if r := c.Async.MaxRetries; r != nil && (*r < 0 || *r > 2) {
		errs = append(errs, fmt.Errorf("async: max_retries %d: Lambda allows 0 to 2", *r))
	}
	return errors.Join(errs...)
}
