package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server"
)

func getLogs(t *testing.T, srv *server.Server, query string) []logs.Record {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/counterspy/v1/logs?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET logs?%s: %d %s", query, resp.StatusCode, b)
	}
	var recs []logs.Record
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatalf("logs body: %v: %s", err, b)
	}
	return recs
}

func TestLogsEndpoint(t *testing.T) {
	srv := startServer(t)
	base := "http://" + srv.HTTPAddr() + "/counterspy/v1/logs"
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	recs := []logs.Record{
		{Time: t0, Function: "fn", RequestID: "r1", TraceID: traceA, Stream: logs.Platform, Message: "START RequestId: r1 Version: $LATEST"},
		{Time: t0.Add(time.Millisecond), Function: "fn", RequestID: "r1", TraceID: traceA, Stream: logs.Stdout, Message: "hello"},
		{Time: t0.Add(2 * time.Millisecond), Function: "other", RequestID: "r2", Stream: logs.Stderr, Message: "unrelated"},
	}
	body, _ := json.Marshal(recs)
	resp, err := http.Post(base, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	f := func(query string, want ...string) {
		t.Helper()
		var got []string
		for _, r := range getLogs(t, srv, query) {
			got = append(got, r.Message)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("logs?%s = %q, want %q", query, got, want)
		}
	}
	f("trace_id="+traceA, "START RequestId: r1 Version: $LATEST", "hello")
	f("request_id=r2", "unrelated")
	f("function=fn&since="+url.QueryEscape(t0.Add(time.Millisecond).Format(time.RFC3339Nano)), "hello") // since is inclusive
	f("function=nobody")

	bad := func(method, query, body string, want string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+query, strings.NewReader(body))
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), want) {
			t.Fatalf("%s %s %q: %d %s, want 400 mentioning %q", method, query, body, resp.StatusCode, b, want)
		}
	}
	bad("GET", "", "", "exactly one of")
	bad("GET", "?trace_id=x&function=y", "", "exactly one of")
	bad("GET", "?trace_id=1-zz", "", "trace_id")
	bad("GET", "?function=fn&since=yesterday", "", "since")
	bad("POST", "", `{"not":"an array"}`, "JSON array")
	bad("POST", "", `[{"function":"fn","stream":"stdout","message":"x"}]`, "time is required")
	bad("POST", "", `[{"time":"2026-11-25T12:00:00Z","function":"fn","stream":"syslog","message":"x"}]`, "stream")
}

// TestEmbeddedLambda runs a real Go function (aws-lambda-go and the X-Ray
// SDK) under the emulator inside serve: an Invoke through the AWS SDK for Go
// v2's Lambda client yields the Lambda segments, stored and readable with
// BatchGetTraces, and the function's log lines, readable by trace.
func TestEmbeddedLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Lambda function")
	}
	dir := t.TempDir()
	fn := filepath.Join(dir, "xrayfn")
	// ../lambda/testdata is its own module (the function's aws-lambda-go and
	// X-Ray SDK are not the server's dependencies).
	build := exec.Command("go", "build", "-o", fn, "./xrayfn")
	build.Dir = "../lambda/testdata"
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "functions.json")
	cfg := fmt.Sprintf(`{"functions":[{"name":"greeter","command":[%q],"memory":128,"timeout":"10s"}]}`, fn)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), FlushInterval: 10 * time.Millisecond,
		LambdaConfig: cfgPath, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Close(ctx)
	})

	lc := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String("http://" + srv.HTTPAddr()), HTTPClient: sdkhttp.Client()})
	out, err := lc.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("greeter"), Payload: []byte(`{"name":"ada"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Greeting, TraceID string }
	if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.Greeting != "hello ada" {
		t.Fatalf("invoke answered %s (%v)", out.Payload, err)
	}
	traceID, _, _ := strings.Cut(strings.TrimPrefix(resp.TraceID, "Root="), ";")

	// The Lambda segments went through the UDP receiver into the store.
	var origins []string
	waitFor(t, "both Lambda segments", func() bool {
		tr, err := xrayClient(srv).BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
		if err != nil || len(tr.Traces) != 1 {
			return false
		}
		origins = origins[:0]
		for _, s := range tr.Traces[0].Segments {
			origins = append(origins, parseEntity(t, aws.ToString(s.Document)).Origin)
		}
		return len(origins) == 2
	})
	if strings.Join(origins, ",") != "AWS::Lambda,AWS::Lambda::Function" && strings.Join(origins, ",") != "AWS::Lambda::Function,AWS::Lambda" {
		t.Fatalf("segments of origins %v", origins)
	}
	// And the logs into the store, found by the trace.
	var msgs []string
	waitFor(t, "the REPORT line", func() bool {
		msgs = msgs[:0]
		for _, r := range getLogs(t, srv, "trace_id="+traceID) {
			msgs = append(msgs, r.Message)
		}
		return len(msgs) > 0 && strings.HasPrefix(msgs[len(msgs)-1], "REPORT RequestId:") || len(msgs) > 0 && strings.HasPrefix(msgs[len(msgs)-1], "XRAY TraceId:")
	})
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"START RequestId:", "handling", "END RequestId:", "REPORT RequestId:", "Init Duration:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("logs of the trace lack %q:\n%s", want, joined)
		}
	}

	// A web page on another site cannot invoke it (a text/plain POST needs
	// no CORS preflight): refused before the Invoke API sees it.
	req, _ := http.NewRequest("POST", "http://"+srv.HTTPAddr()+"/2015-03-31/functions/greeter/invocations", strings.NewReader(`{"name":"page"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	hresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusForbidden || hresp.Header.Get("x-amzn-ErrorType") != "AccessDeniedException" {
		t.Errorf("cross-site invoke: %d %s; want 403 AccessDeniedException", hresp.StatusCode, b)
	}
}
