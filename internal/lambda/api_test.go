package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/eventsource"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/testenv"
)

// TestAWSCLI: `aws lambda invoke --endpoint-url` works unchanged.
func TestAWSCLI(t *testing.T) {
	cli := testenv.AWSCLI(t)
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	_, _, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "greeter", Command: []string{bin}}}})
	dir := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"lambda", "invoke", "--endpoint-url", url, "--function-name", "greeter",
			"--cli-binary-format", "raw-in-base64-out", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("aws %v: %v\n%s", args, err, ee.Stderr)
			}
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws output %q: %v", out, err)
		}
		return m
	}
	outFile := filepath.Join(dir, "out.json")
	m := run("--payload", `{"name":"cli"}`, "--log-type", "Tail", outFile)
	if m["StatusCode"] != 200.0 || m["ExecutedVersion"] != "$LATEST" {
		t.Errorf("sync: %v", m)
	}
	body, _ := os.ReadFile(outFile)
	if !strings.Contains(string(body), `"greeting":"hello cli"`) {
		t.Errorf("response file: %s", body)
	}
	tail, _ := base64.StdEncoding.DecodeString(m["LogResult"].(string))
	for _, w := range []string{"START RequestId:", "handling ", "REPORT RequestId:", "Init Duration:", "XRAY TraceId:"} {
		if !strings.Contains(string(tail), w) {
			t.Errorf("LogResult lacks %q:\n%s", w, tail)
		}
	}
	m = run("--payload", `{"name":"cli"}`, "--invocation-type", "Event", outFile)
	if m["StatusCode"] != 202.0 {
		t.Errorf("async: %v", m)
	}
	m = run("--invocation-type", "DryRun", outFile)
	if m["StatusCode"] != 204.0 {
		t.Errorf("dry run: %v", m)
	}
}

// TestInvokeAPIErrors: unknown functions and qualifiers, bad invocation
// types, as the Invoke API answers them.
func TestInvokeAPIErrors(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	e, _, url := startEmulator(t, lambda.Config{Functions: []lambda.FunctionConfig{{Name: "greeter", Command: []string{bin}}}})
	payload := `{}`
	f := func(path, typ string, wantStatus int, wantType string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(payload))
		if typ != "" {
			req.Header.Set("X-Amz-Invocation-Type", typ)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || resp.Header.Get("X-Amzn-ErrorType") != wantType {
			t.Errorf("%s %s: %d %q %s, want %d %q", path, typ, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, wantStatus, wantType)
		}
	}
	f("/2015-03-31/functions/nope/invocations", "", 404, "ResourceNotFoundException")
	f("/2015-03-31/functions/greeter/invocations?Qualifier=7", "", 404, "ResourceNotFoundException")
	f("/2015-03-31/functions/greeter/invocations", "Sometimes", 400, "InvalidParameterValueException")
	f("/2015-03-31/functions/greeter/invocations", "DryRun", 204, "")
	f("/2015-03-31/functions/"+e.ARN("greeter")+"/invocations", "DryRun", 204, "")
	f("/2015-03-31/functions/123456789012:function:greeter:$LATEST/invocations", "DryRun", 204, "")
	payload = `"` + strings.Repeat("x", 1<<20) + `"` // over the 1 MiB of an Event, under 6 MiB
	f("/2015-03-31/functions/greeter/invocations", "Event", 413, "RequestTooLargeException")
	f("/2015-03-31/functions/greeter/invocations", "DryRun", 204, "")
}

// TestAsyncRetries: a failing Event invocation is retried twice (Lambda's
// default), every attempt in the same trace under one service segment.
func TestAsyncRetries(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "greeter", Command: []string{bin}}},
		Async:     lambda.AsyncConfig{RetryDelays: []lambda.Duration{lambda.Duration(50 * time.Millisecond)}}})
	_, id := invokeSDK(t, lambdaClient(url), "greeter", types.InvocationTypeEvent, `{"fail":"always"}`)
	segs := d.wait("three attempts", func(segs []segment.Segment) bool {
		inv := find(segs, id)
		return inv.svc != nil && !inv.svc.Root().InProgress && len(inv.fns) == 3
	})
	inv := find(segs, id)
	for i, name := range []string{"Dwell Time", "Attempt #1", "Attempt #2", "Attempt #3"} {
		if child(inv.svc, name) == nil {
			t.Errorf("no %s (%d)", name, i)
		}
	}
	cold := 0
	for _, fn := range inv.fns {
		if !fn.Root().Error {
			t.Errorf("attempt not flagged error")
		}
		if child(fn, "Initialization") != nil {
			cold++
		}
	}
	if cold != 1 {
		t.Errorf("%d cold attempts, want 1", cold)
	}
	recs := logsOf(t, e, mem, id, true)
	starts := 0
	for _, r := range recs {
		if strings.HasPrefix(r.Message, "START RequestId: "+id) {
			starts++
		}
	}
	if starts < 1 {
		t.Errorf("no START for %s", id)
	}
	// The last attempt's lines may still be on their way to the sink.
	if err := e.FlushLogs(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctxRecs := mem.Records(nil)
	n := 0
	for _, r := range ctxRecs {
		if strings.HasPrefix(r.Message, "START RequestId: "+id) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d START lines for the request, want 3 (one per attempt)", n)
	}
}

// TestUploadFansOut: an upload becomes an S3 event in an SNS notification
// for every subscriber, invoked asynchronously (Dwell Time, Attempt #1).
func TestUploadFansOut(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	_, _, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "a", Command: []string{bin}}, {Name: "b", Command: []string{bin}}},
		Buckets:   []eventsource.Bucket{{Name: "uploads", Topic: "uploaded"}},
		Topics:    []eventsource.Topic{{Name: "uploaded", Subscribers: []string{"a", "b"}}},
	})
	resp, err := http.Post(url+"/counterspy/v1/s3/uploads/dir/my file.txt", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	var res eventsource.UploadResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(res.Invocations) != 2 || res.Key != "dir/my file.txt" || res.Size != 5 {
		t.Fatalf("upload: %d %+v", resp.StatusCode, res)
	}
	for _, inv := range res.Invocations {
		if inv.Error != "" || inv.Via != "sns:uploaded" {
			t.Errorf("delivery %+v", inv)
		}
		segs := d.wait("the upload's invocation of "+inv.Function, func(segs []segment.Segment) bool {
			i := find(segs, inv.RequestID)
			return i.svc != nil && !i.svc.Root().InProgress && len(i.fns) == 1
		})
		i := find(segs, inv.RequestID)
		if i.svc.Root().Name != inv.Function || i.svc.Root().HTTP.Status != 202 || child(i.svc, "Dwell Time") == nil || i.svc.ParentID != 0 {
			t.Errorf("%s: service segment %+v", inv.Function, i.svc.Root())
		}
	}
	resp, _ = http.Post(url+"/counterspy/v1/s3/nobucket/k", "text/plain", strings.NewReader("x"))
	if resp.StatusCode != 404 {
		t.Errorf("upload to an unknown bucket: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestPassThrough: without an upstream decision a PassThrough function is
// not traced; with Sampled=1 from the caller it is, under the caller's
// parent.
func TestPassThrough(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "pt", Command: []string{bin}, Tracing: "PassThrough"}}})
	call := func(header string) (string, string) {
		req, _ := http.NewRequest(http.MethodPost, url+"/2015-03-31/functions/pt/invocations", strings.NewReader(`{"name":"p"}`))
		if header != "" {
			req.Header.Set("X-Amzn-Trace-Id", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct{ TraceID string }
		json.Unmarshal(body, &out)
		return resp.Header.Get("X-Amzn-Requestid"), out.TraceID
	}
	id, header := call("")
	if strings.Contains(header, "Sampled=1") || !strings.HasPrefix(header, "Root=1-") {
		t.Errorf("untraced call: function header %q", header)
	}
	if r := line(logsOf(t, e, mem, id, false), "XRAY"); r != nil {
		t.Errorf("XRAY line for an untraced call: %q", r.Message)
	}
	root := "1-5759e988-bd862e3fe1be46a994272793"
	id, header = call("Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1")
	if !strings.HasPrefix(header, "Root="+root+";Parent=") || !strings.HasSuffix(header, ";Sampled=1;Lineage=a87bd80c:1") {
		t.Errorf("traced call: function header %q", header)
	}
	segs := d.wait("the caller-traced call", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
	inv := find(segs, id)
	if inv.svc.TraceID != mustTrace(t, root) || inv.svc.ParentID.String() != "53995c3f42cd8ad8" {
		t.Errorf("service segment trace %v parent %v", inv.svc.TraceID, inv.svc.ParentID)
	}
	d.mu.Lock()
	n := len(d.segs)
	d.mu.Unlock()
	if n != 3 { // service, function, the SDK's greet subsegment
		t.Errorf("%d documents, want 3 (the untraced call sends none)", n)
	}
}
