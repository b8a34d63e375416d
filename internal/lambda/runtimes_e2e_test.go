package lambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/dynamodblocal"
	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/runtimes"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/testenv"
)

// seedEvent is what SNS delivers to the seed app's functions for one
// upload: an SNS record whose message is the S3 event.
func seedEvent(bucket, key string) string {
	s3ev, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": key, "size": 5}},
	}}})
	ev, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "Sns": map[string]any{"MessageId": "m-" + key, "Message": string(s3ev)},
	}}})
	return string(ev)
}

// seedApp prepares the seed post's three functions as deployment packages:
// the Python one with aws_xray_sdk vendored (what `pip install -t` would
// put there), the TypeScript one compiled with its node_modules, the Go one
// built as bootstrap.
func seedApp(t *testing.T) (pyDir, tsDir, goDir string) {
	t.Helper()
	testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3")
	testenv.Node(t)
	tsDir, _ = filepath.Abs("../../examples/xraystarter-ts")
	testenv.NodeModule(t, tsDir, "aws-xray-sdk-core")
	testenv.NodeModule(t, tsDir, "@aws-sdk/client-dynamodb")

	pyDir = t.TempDir()
	src, err := os.ReadFile("../../examples/xraystarter-py/lambda_function.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pyDir, "lambda_function.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runtimes.VendorPython("", pyDir, "aws_xray_sdk", "wrapt"); err != nil {
		t.Fatal(err)
	}
	// Built as Lambda's provided.al2023 runtime wants it: bootstrap.
	goDir = t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(goDir, "bootstrap"), "./xraystarter-go")
	cmd.Dir = "../../examples" // its own module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/xraystarter-go: %v\n%s", err, b)
	}
	return pyDir, tsDir, goDir
}

// TestSeedAppRuntimes is issue 11's acceptance test for managed runtimes:
// the seed post's Python (boto3 + X-Ray SDK for Python), TypeScript
// (@aws-sdk/client-dynamodb + aws-xray-sdk-core) and Go functions, started
// from their runtime, handler and code directory, each invoked
// synchronously and asynchronously with the AWS SDK for Go v2 and the AWS
// CLI, writing to the DynamoDB stand-in; traces and log lines are checked
// against what Lambda emits.
func TestSeedAppRuntimes(t *testing.T) {
	pyDir, tsDir, goDir := seedApp(t)
	cli := testenv.AWSCLI(t)
	ddb, err := dynamodblocal.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Close()
	ddb.CreateTable("items", "id")
	env := map[string]string{"TABLE_NAME": "items", "AWS_ENDPOINT_URL_DYNAMODB": ddb.URL()}
	d := newDaemon(t)
	fns := []lambda.FunctionConfig{
		{Name: "xraystarter-py", Runtime: "python3.12", Handler: "lambda_function.lambda_handler", Dir: pyDir, Environment: env},
		{Name: "xraystarter-ts", Runtime: "nodejs20.x", Handler: "index.handler", Dir: tsDir, Environment: env},
		{Name: "xraystarter-go", Runtime: "provided.al2023", Handler: "bootstrap", Dir: goDir, Environment: env},
	}
	for i := range fns {
		fns[i].Timeout = lambda.Duration(30 * time.Second)
		fns[i].MemoryMB = 256
	}
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(), Functions: fns})
	c := lambdaClient(url)

	// dynamo names the SDK's DynamoDB subsegment as each X-Ray SDK does.
	dynamo := map[string]string{"xraystarter-py": "dynamodb", "xraystarter-ts": "DynamoDB", "xraystarter-go": "DynamoDB"}
	for _, f := range fns {
		for n, mode := range []string{"sdk-sync", "sdk-async", "cli-sync", "cli-async"} {
			key := fmt.Sprintf("%s/%s.txt", f.Name, mode)
			payload := seedEvent("xraystarter-uploads", key)
			async := strings.HasSuffix(mode, "async")
			var id string
			if strings.HasPrefix(mode, "sdk") {
				typ := types.InvocationTypeRequestResponse
				if async {
					typ = types.InvocationTypeEvent
				}
				var out []byte
				o, rid := invokeSDK(t, c, f.Name, typ, payload)
				out, id = o.Payload, rid
				if o.FunctionError != nil || (!async && f.Name != "xraystarter-go" && !strings.Contains(string(out), `"stored"`)) || (async && o.StatusCode != 202) {
					t.Fatalf("%s %s: status %d error %v payload %s", f.Name, mode, o.StatusCode, aws.ToString(o.FunctionError), out)
				}
			} else {
				id = invokeCLI(t, cli, url, f.Name, async, payload, mem, key)
			}
			inv := findWait(t, d, id, 1)
			recs := logsOf(t, e, mem, id, true)
			// The handler stored the key through its SDK.
			if !hasItem(ddb, key) {
				t.Errorf("%s %s: %q not in the items table", f.Name, mode, key)
			}
			checkInvocation(t, f.Name+" "+mode, e.ARN(f.Name), inv, recs, n == 0, async, dynamo[f.Name], 256)
			if r := containing(recs, "storing "); r == nil || !strings.Contains(r.Message, "storing "+key+" from bucket xraystarter-uploads") {
				t.Errorf("%s %s: handler output %+v", f.Name, mode, r)
			} else if f.Name == "xraystarter-ts" && !strings.Contains(r.Message, "\t"+id+"\tINFO\tstoring ") {
				t.Errorf("%s: console.log line %q lacks the Node runtime's prefix", f.Name, r.Message)
			}
		}
		// The first invocation was a cold start: INIT_START names the
		// runtime.
		is := mem.Records(func(r logs.Record) bool { return r.Function == f.Name && strings.HasPrefix(r.Message, "INIT_START ") })
		if len(is) != 1 || !strings.HasPrefix(is[0].Message, "INIT_START Runtime Version: "+f.Runtime) {
			t.Errorf("%s: INIT_START lines %+v", f.Name, is)
		}
	}
}

func containing(recs []logs.Record, s string) *logs.Record {
	for i := range recs {
		if strings.Contains(recs[i].Message, s) {
			return &recs[i]
		}
	}
	return nil
}

func hasItem(ddb *dynamodblocal.Server, key string) bool {
	for _, it := range ddb.Items("items") {
		if it["id"]["S"] == key {
			return true
		}
	}
	return false
}

// invokeCLI invokes with `aws lambda invoke` and returns the request ID,
// found through the handler's log line (the CLI does not print it).
func invokeCLI(t *testing.T, cli, url, fn string, async bool, payload string, mem *lambdalog.Memory, key string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.json")
	args := []string{"lambda", "invoke", "--endpoint-url", url, "--function-name", fn, "--cli-binary-format", "raw-in-base64-out",
		"--payload", payload, "--output", "json"}
	if async {
		args = append(args, "--invocation-type", "Event")
	}
	cmd := exec.Command(cli, append(args, out)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws lambda invoke %s: %v\n%s", fn, err, b)
	}
	var res struct {
		StatusCode    int
		FunctionError string
	}
	if err := json.Unmarshal(b, &res); err != nil || res.FunctionError != "" || (async && res.StatusCode != 202) || (!async && res.StatusCode != 200) {
		t.Fatalf("aws lambda invoke %s: %v %s", fn, err, b)
	}
	if !async && fn != "xraystarter-go" {
		if got, _ := os.ReadFile(out); !strings.Contains(string(got), `"stored"`) {
			t.Errorf("aws lambda invoke %s: payload %s", fn, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := mem.Wait(ctx, func(r logs.Record) bool { return r.Function == fn && strings.Contains(r.Message, "storing "+key+" ") },
		func(rs []logs.Record) bool { return len(rs) > 0 })
	if err != nil {
		t.Fatalf("%s: no handler line for %s: %v", fn, key, err)
	}
	return recs[0].RequestID
}

// findWait waits for an invocation's finished service segment, its function
// segment and at least subs independent SDK subsegments.
func findWait(t *testing.T, d *daemon, id string, subs int) invocation {
	t.Helper()
	segs := d.wait("the trace of "+id, func(segs []segment.Segment) bool {
		inv := find(segs, id)
		return inv.svc != nil && !inv.svc.Root().InProgress && len(inv.fns) == 1 && len(inv.subs) >= subs
	})
	return find(segs, id)
}

// checkInvocation checks one successful traced invocation's segments and
// log lines against the shapes Lambda produces.
func checkInvocation(t *testing.T, what, arn string, inv invocation, recs []logs.Record, wantCold, async bool, sdkName string, memMB int) {
	t.Helper()
	svc, fn := inv.svc.Root(), inv.fns[0].Root()
	name := arn[strings.LastIndex(arn, ":")+1:]
	if svc.Name != name || svc.Origin != "AWS::Lambda" || svc.ResourceARN != arn || svc.AWS.RequestID == "" {
		t.Errorf("%s: service segment %q %q %q", what, svc.Name, svc.Origin, svc.ResourceARN)
	}
	if want := map[bool]int{false: 200, true: 202}[async]; svc.HTTP.Status != want {
		t.Errorf("%s: service status %d, want %d", what, svc.HTTP.Status, want)
	}
	if dwell, attempt := child(inv.svc, "Dwell Time"), child(inv.svc, "Attempt #1"); async != (dwell != nil) || async != (attempt != nil) {
		t.Errorf("%s (async %v): Dwell Time %v, Attempt #1 %v", what, async, dwell != nil, attempt != nil)
	}
	if fn.Name != name || fn.Origin != "AWS::Lambda::Function" || inv.fns[0].ParentID != inv.svc.ID() || fn.AWS.FunctionARN != arn ||
		fn.AWS.AccountID != "123456789012" || fn.Error || fn.Fault {
		t.Errorf("%s: function segment %q %q arn %q error %v fault %v", what, fn.Name, fn.Origin, fn.AWS.FunctionARN, fn.Error, fn.Fault)
	}
	if len(fn.AWS.LogGroups) != 1 || fn.AWS.LogGroups[0] != "/aws/lambda/"+name || len(fn.AWS.ResourceNames) != 1 || fn.AWS.ResourceNames[0] != name {
		t.Errorf("%s: function segment log groups %v resource names %v", what, fn.AWS.LogGroups, fn.AWS.ResourceNames)
	}
	initSeg, invSeg, over := child(inv.fns[0], "Initialization"), child(inv.fns[0], "Invocation"), child(inv.fns[0], "Overhead")
	if wantCold != (initSeg != nil) || invSeg == nil || over == nil {
		t.Fatalf("%s: cold %v: Initialization %v Invocation %v Overhead %v", what, wantCold, initSeg != nil, invSeg != nil, over != nil)
	}
	if fn.Start < svc.Start || invSeg.Start < fn.Start || over.Start < invSeg.End || over.End > fn.End || fn.End > svc.End ||
		(initSeg != nil && initSeg.End > invSeg.Start) {
		t.Errorf("%s: timeline: svc %.6f..%.6f fn %.6f..%.6f invocation %.6f..%.6f overhead %.6f..%.6f", what,
			svc.Start, svc.End, fn.Start, fn.End, invSeg.Start, invSeg.End, over.Start, over.End)
	}
	// The SDK's DynamoDB call: an independent subsegment of the function
	// segment (the facade's parent), inside Invocation.
	var call *segment.Entity
	for _, s := range inv.subs {
		if r := s.Root(); r.Name == sdkName {
			call = r
			if s.TraceID != inv.svc.TraceID {
				t.Errorf("%s: SDK subsegment in trace %v", what, s.TraceID)
			}
		}
	}
	if call == nil {
		var names []string
		for _, s := range inv.subs {
			names = append(names, s.Root().Name)
		}
		t.Fatalf("%s: no %q subsegment among %v", what, sdkName, names)
	}
	if call.Namespace != "aws" || call.AWS.Operation != "PutItem" || call.AWS.TableName != "items" || call.Start < invSeg.Start || call.End > invSeg.End {
		t.Errorf("%s: DynamoDB subsegment ns %q op %q table %q %.6f..%.6f, Invocation %.6f..%.6f", what, call.Namespace,
			call.AWS.Operation, call.AWS.TableName, call.Start, call.End, invSeg.Start, invSeg.End)
	}

	id := svc.AWS.RequestID
	for _, w := range []string{"START RequestId: " + id + " Version: $LATEST", "END RequestId: " + id} {
		if line(recs, w) == nil {
			t.Errorf("%s: no line %q", what, w)
		}
	}
	report := line(recs, "REPORT RequestId: "+id+"\t")
	if report == nil {
		t.Fatalf("%s: no REPORT line", what)
	}
	dur, _ := reportField(t, report.Message, "Duration")
	if size, _ := reportField(t, report.Message, "Memory Size"); int(size) != memMB || math.Abs(dur-ms(invSeg)) > 0.011 {
		t.Errorf("%s: REPORT %q, Invocation %.3f ms", what, report.Message, ms(invSeg))
	}
	if _, hasInit := reportField(t, report.Message, "Init Duration"); hasInit != wantCold {
		t.Errorf("%s: REPORT Init Duration present %v, want %v", what, hasInit, wantCold)
	}
	xr := line(recs, "XRAY TraceId: ")
	if xr == nil || xr.Message != "XRAY TraceId: "+inv.svc.TraceID.String()+"\tSegmentId: "+inv.fns[0].ID().String()+"\tSampled: true\t" {
		t.Errorf("%s: XRAY line %+v", what, xr)
	}
}
