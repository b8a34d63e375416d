package lambda_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/lambda"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "functions.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := lambda.Load(write(`{
	  "region": "eu-west-1",
	  "functions": [{"name": "a", "command": ["./bin/a", "--x"], "memory": 256, "timeout": 3, "idle_timeout": "250ms",
	                 "environment": {"K": "V"}, "tracing": "PassThrough"},
	                {"name": "b", "command": ["python3", "-m", "awslambdaric"], "dir": "py", "timeout": "1.5"},
	                {"name": "c", "runtime": "python3.12", "handler": "app.lambda_handler", "dir": "py"}],
	  "buckets": [{"name": "up", "topic": "t", "functions": ["b"]}],
	  "topics": [{"name": "t", "subscribers": ["a", "b"]}],
	  "async": {"max_retries": 1, "retry_delays": ["10ms", 2]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := cfg.Functions[0], cfg.Functions[1], cfg.Functions[2]
	if c.Runtime != "python3.12" || c.Handler != "app.lambda_handler" || c.Dir != filepath.Join(dir, "py") || len(c.Command) != 0 {
		t.Errorf("c: %+v", c)
	}
	if cfg.Region != "eu-west-1" || a.Command[0] != filepath.Join(dir, "bin/a") || a.Dir != dir || time.Duration(a.Timeout) != 3*time.Second ||
		time.Duration(a.IdleTimeout) != 250*time.Millisecond || a.Environment["K"] != "V" || a.Tracing != "PassThrough" {
		t.Errorf("function a: %+v", a)
	}
	if b.Command[0] != "python3" || b.Dir != filepath.Join(dir, "py") || time.Duration(b.Timeout) != 1500*time.Millisecond {
		t.Errorf("function b: %+v", b)
	}
	if len(cfg.Buckets) != 1 || cfg.Buckets[0].Topic != "t" || len(cfg.Topics[0].Subscribers) != 2 || *cfg.Async.MaxRetries != 1 ||
		time.Duration(cfg.Async.RetryDelays[1]) != 2*time.Second {
		t.Errorf("config %+v", cfg)
	}

	bad := func(body, want string) {
		t.Helper()
		_, err := lambda.Load(write(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", body, err, want)
		}
	}
	bad(`{"functions": [{"name": "a b", "command": ["x"]}]}`, "name")
	bad(`{"functions": [{"name": "a", "command": []}]}`, "no command")
	bad(`{"functions": [{"name": "a", "runtime": "java21", "handler": "x"}]}`, `runtime "java21"`)
	bad(`{"functions": [{"name": "a", "runtime": "python3.12"}]}`, "needs a handler")
	bad(`{"functions": [{"name": "a", "command": ["x"], "memory": 64}]}`, "128 to 10240")
	bad(`{"functions": [{"name": "a", "command": ["x"]}, {"name": "a", "command": ["x"]}]}`, "twice")
	bad(`{"functions": [{"name": "a", "command": ["x"]}], "topics": [{"name": "t", "subscribers": ["zz"]}]}`, `"zz" is not declared`)
	bad(`{"functions": [{"name": "a", "command": ["x"], "timeout": "soon"}]}`, "soon")
	bad(`{"functions": [], "unknown": 1}`, "unknown")
	bad(`{"functions": [{"name": "a", "command": ["x"]}], "async": {"max_retries": 3}}`, "0 to 2")
}
