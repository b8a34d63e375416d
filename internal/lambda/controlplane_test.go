package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/testenv"
)

// zipOf packs files (name → path on disk) into a deployment package, with
// their modes (a bootstrap stays executable).
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(st.Mode())
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func awsCLI(t *testing.T, cli string, args ...string) (map[string]any, string, error) {
	t.Helper()
	cmd := exec.Command(cli, append(args, "--output", "json")...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), err
	}
	var m map[string]any
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws %v: output %q: %v", args, out, err)
		}
	}
	return m, stderr.String(), nil
}

// TestControlPlaneCLI: the AWS CLI lists, describes, creates (from a zip),
// updates and deletes functions, and gets Lambda's errors.
func TestControlPlaneCLI(t *testing.T) {
	cli := testenv.AWSCLI(t)
	greeter := buildFunction(t, "xrayfn")
	echo := buildFunction(t, "echofn")
	codeRoot := t.TempDir()
	_, _, url := startEmulator(t, lambda.Config{CodeRoot: codeRoot,
		Functions: []lambda.FunctionConfig{{Name: "greeter", Command: []string{greeter}, MemoryMB: 256,
			Environment: map[string]string{"GREETING": "hi"}}}})
	ep := []string{"--endpoint-url", url}
	run := func(args ...string) map[string]any {
		t.Helper()
		m, stderr, err := awsCLI(t, cli, append(append([]string{"lambda"}, args...), ep...)...)
		if err != nil {
			t.Fatalf("aws lambda %v: %v\n%s", args, err, stderr)
		}
		return m
	}
	fail := func(want string, args ...string) {
		t.Helper()
		_, stderr, err := awsCLI(t, cli, append(append([]string{"lambda"}, args...), ep...)...)
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("aws lambda %v: err %v, stderr %q; want %s", args, err, stderr, want)
		}
	}

	m := run("list-functions")
	fns, _ := m["Functions"].([]any)
	if len(fns) != 1 {
		t.Fatalf("list-functions: %v", m)
	}
	c := fns[0].(map[string]any)
	if c["FunctionName"] != "greeter" || c["FunctionArn"] != "arn:aws:lambda:us-east-1:123456789012:function:greeter" ||
		c["MemorySize"] != 256.0 || c["Timeout"] != 3.0 || c["Runtime"] != "provided.al2023" || c["CodeSize"].(float64) < 1000 ||
		c["TracingConfig"].(map[string]any)["Mode"] != "Active" || c["Environment"].(map[string]any)["Variables"].(map[string]any)["GREETING"] != "hi" {
		t.Errorf("greeter configuration: %v", c)
	}

	zipPath := filepath.Join(t.TempDir(), "echo.zip")
	os.WriteFile(zipPath, zipOf(t, map[string]string{"bootstrap": echo}), 0o644)
	m = run("create-function", "--function-name", "echo", "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", "arn:aws:iam::123456789012:role/lambda", "--zip-file", "fileb://"+zipPath, "--timeout", "5",
		"--memory-size", "512", "--tracing-config", "Mode=PassThrough", "--environment", "Variables={STAGE=local}")
	if m["FunctionName"] != "echo" || m["Timeout"] != 5.0 || m["MemorySize"] != 512.0 || m["State"] != "Active" ||
		m["CodeSha256"] == "" || m["Role"] != "arn:aws:iam::123456789012:role/lambda" {
		t.Errorf("create-function: %v", m)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	run("invoke", "--function-name", "echo", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"n":1}`, out)
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), `"event":{"n":1}`) {
		t.Errorf("invoke of the created function: %s", b)
	}
	m = run("get-function", "--function-name", "arn:aws:lambda:us-east-1:123456789012:function:echo")
	if m["Configuration"].(map[string]any)["Handler"] != "bootstrap" || !strings.HasPrefix(m["Code"].(map[string]any)["Location"].(string), "file://"+codeRoot) {
		t.Errorf("get-function: %v", m)
	}
	run("delete-function", "--function-name", "echo")
	fail("ResourceNotFoundException", "get-function", "--function-name", "echo")
	// The deleted function's unpacked code goes once its instances are gone.
	waitFor(t, "the deleted function's code directory to be removed", func() bool {
		ents, _ := os.ReadDir(codeRoot)
		return len(ents) == 0
	})

	fail("InvalidParameterValueException", "create-function", "--function-name", "s3", "--runtime", "python3.12",
		"--handler", "app.handler", "--role", "arn:aws:iam::123456789012:role/lambda", "--code", "S3Bucket=bucket,S3Key=k.zip")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestControlPlaneSDK: the AWS SDK for Go v2 pages through ListFunctions,
// sets reserved concurrency (0 throttles, 1 throttles the second
// concurrent call) and gets Lambda's typed errors for bad payloads.
func TestControlPlaneSDK(t *testing.T) {
	greeter := buildFunction(t, "xrayfn")
	var fcs []lambda.FunctionConfig
	for _, n := range []string{"f-c", "f-a", "f-e", "f-b", "f-d"} {
		fcs = append(fcs, lambda.FunctionConfig{Name: n, Command: []string{greeter}, Timeout: lambda.Duration(10 * time.Second)})
	}
	_, mem, url := startEmulator(t, lambda.Config{CodeRoot: t.TempDir(), Functions: fcs})
	c := lambdaClient(url)
	ctx := context.Background()

	var names []string
	pages := 0
	p := awslambda.NewListFunctionsPaginator(c, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if want := []string{"f-a", "f-b", "f-c", "f-d", "f-e"}; !slices.Equal(names, want) || pages != 3 {
		t.Errorf("ListFunctions pages: %d, names %v", pages, names)
	}
	if _, err := c.ListFunctions(ctx, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(20000)}); !isAPIError[*types.InvalidParameterValueException](err) {
		t.Errorf("MaxItems 20000: %v", err)
	}

	// Reserved concurrency 0: every call throttled.
	if _, err := c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("f-a"),
		ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-a"), Payload: []byte(`{}`)})
	if !isAPIError[*types.TooManyRequestsException](err) {
		t.Errorf("invoke at reserved concurrency 0: %v", err)
	}
	gc, err := c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f-a")})
	if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 0 || gc.ReservedConcurrentExecutions == nil {
		t.Errorf("GetFunctionConcurrency: %+v %v", gc, err)
	}
	// Reserved concurrency 1: a second call while the first runs is throttled.
	if _, err := c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("f-a"),
		ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() {
		_, firstErr = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-a"), Payload: []byte(`{"name":"slow","sleep_ms":4000}`)})
	})
	waitFor(t, "the first call to run", func() bool {
		for _, r := range mem.Records(nil) {
			if r.Function == "f-a" && strings.HasPrefix(r.Message, "handling ") {
				return true
			}
		}
		return false
	})
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-a"), Payload: []byte(`{}`)})
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || tmr.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("second concurrent call at reserved concurrency 1: %v", err)
	}
	wg.Wait()
	if firstErr != nil {
		t.Errorf("first call: %v", firstErr)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("f-a")}); err != nil {
		t.Fatal(err)
	}
	gf, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("f-a")})
	if err != nil || gf.Concurrency != nil {
		t.Errorf("GetFunction after DeleteFunctionConcurrency: %+v %v", gf, err)
	}

	// Payloads: not JSON, too large.
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-b"), Payload: []byte(`{"name": unquoted}`)})
	if !isAPIError[*types.InvalidRequestContentException](err) {
		t.Errorf("non-JSON payload: %v", err)
	}
	big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), 6<<20)...), '"')
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-b"), Payload: big})
	if !isAPIError[*types.RequestTooLargeException](err) {
		t.Errorf("7 MB payload: %v", err)
	}
	_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-b"), InvocationType: types.InvocationTypeEvent,
		Payload: append(append([]byte(`"`), bytes.Repeat([]byte("x"), 1<<20)...), '"')})
	if !isAPIError[*types.RequestTooLargeException](err) {
		t.Errorf("1 MB asynchronous payload: %v", err)
	}
	_, err = c.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	if !isAPIError[*types.ResourceNotFoundException](err) {
		t.Errorf("unknown function: %v", err)
	}

	// CreateFunction from a zip, a second time (conflict), with a broken
	// zip; UpdateFunctionCode swaps the code under the same name.
	echo := buildFunction(t, "echofn")
	create := func(name string, zip []byte) (*awslambda.CreateFunctionOutput, error) {
		return c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String("arn:aws:iam::123456789012:role/lambda"), Code: &types.FunctionCode{ZipFile: zip},
			Timeout: aws.Int32(5)})
	}
	cf, err := create("echo", zipOf(t, map[string]string{"bootstrap": echo}))
	if err != nil || aws.ToInt32(cf.Timeout) != 5 || cf.State != types.StateActive || aws.ToString(cf.CodeSha256) == "" {
		t.Fatalf("CreateFunction: %+v %v", cf, err)
	}
	if _, err := create("echo", zipOf(t, map[string]string{"bootstrap": echo})); !isAPIError[*types.ResourceConflictException](err) {
		t.Errorf("second CreateFunction: %v", err)
	}
	if _, err := create("broken", []byte("not a zip")); !isAPIError[*types.InvalidParameterValueException](err) {
		t.Errorf("CreateFunction with a broken zip: %v", err)
	}
	inv, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"n":2}`)})
	if err != nil || !strings.Contains(string(inv.Payload), `"event":{"n":2}`) {
		t.Fatalf("invoke the created function: %v %s", err, inv.Payload)
	}
	uf, err := c.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("echo"),
		ZipFile: zipOf(t, map[string]string{"bootstrap": greeter})})
	if err != nil || aws.ToInt32(uf.Timeout) != 5 || aws.ToString(uf.CodeSha256) == aws.ToString(cf.CodeSha256) {
		t.Fatalf("UpdateFunctionCode: %+v %v", uf, err)
	}
	inv, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"name":"new code"}`)})
	if err != nil || !strings.Contains(string(inv.Payload), `"greeting":"hello new code"`) {
		t.Fatalf("invoke after UpdateFunctionCode: %v %s", err, inv.Payload)
	}

	// UpdateFunctionCode during an invocation: the running call finishes on
	// the old code, the next one runs the new.
	var slow *awslambda.InvokeOutput
	var slowErr error
	wg.Go(func() {
		slow, slowErr = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-c"), Payload: []byte(`{"name":"old","sleep_ms":1500}`)})
	})
	waitFor(t, "the slow call to run", func() bool {
		for _, r := range mem.Records(nil) {
			if r.Function == "f-c" && strings.HasPrefix(r.Message, "handling ") {
				return true
			}
		}
		return false
	})
	if _, err := c.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("f-c"),
		ZipFile: zipOf(t, map[string]string{"bootstrap": echo})}); err != nil {
		t.Fatal(err)
	}
	inv, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-c"), Payload: []byte(`{"n":3}`)})
	if err != nil || !strings.Contains(string(inv.Payload), `"event":{"n":3}`) {
		t.Errorf("call after UpdateFunctionCode: %v %s", err, inv.Payload)
	}
	wg.Wait()
	if slowErr != nil || slow.FunctionError != nil || !strings.Contains(string(slow.Payload), `"greeting":"hello old"`) {
		t.Errorf("call running during UpdateFunctionCode: %v %+v", slowErr, slow)
	}

	// UpdateFunctionConfiguration: new settings reach new instances.
	uc, err := c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f-b"),
		MemorySize: aws.Int32(1024), Environment: &types.Environment{Variables: map[string]string{"A": "1"}}})
	if err != nil || aws.ToInt32(uc.MemorySize) != 1024 || uc.Environment.Variables["A"] != "1" {
		t.Fatalf("UpdateFunctionConfiguration: %+v %v", uc, err)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f-b"),
		Environment: &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}})
	if !isAPIError[*types.InvalidParameterValueException](err) {
		t.Errorf("reserved variable: %v", err)
	}
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("f-b"), Payload: []byte(`{"name":"x"}`), LogType: types.LogTypeTail})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke after UpdateFunctionConfiguration: %v %+v", err, out)
	}
	if tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !strings.Contains(string(tail), "Memory Size: 1024 MB") {
		t.Errorf("REPORT after UpdateFunctionConfiguration: %q", tail)
	}
}

func isAPIError[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}
