package lambda_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
)

func lambdaClient(endpoint string) *awslambda.Client {
	return awslambda.New(awslambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func invokeSDK(t *testing.T, c *awslambda.Client, fn string, typ types.InvocationType, payload string) (*awslambda.InvokeOutput, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: typ, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s (%s): %v", fn, typ, err)
	}
	id, _ := awsmw.GetRequestIDMetadata(out.ResultMetadata)
	if id == "" {
		t.Fatalf("invoke %s: no request ID in the response", fn)
	}
	return out, id
}

// TestEndToEnd is the acceptance test: a Go function built with
// aws-lambda-go and the X-Ray SDK, invoked with the AWS SDK for Go v2 (sync,
// then async), and the whole trace and log stream checked.
func TestEndToEnd(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{
		XRayAddr:  d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "greeter", Command: []string{bin}, MemoryMB: 256, Timeout: lambda.Duration(30 * time.Second)}},
	})
	c := lambdaClient(url)
	arn := e.ARN("greeter")

	type call struct {
		id    string
		async bool
	}
	var calls []call
	for i, typ := range []types.InvocationType{types.InvocationTypeRequestResponse, types.InvocationTypeRequestResponse, types.InvocationTypeEvent} {
		out, id := invokeSDK(t, c, "greeter", typ, `{"name":"ana"}`)
		async := typ == types.InvocationTypeEvent
		if async {
			if out.StatusCode != 202 || len(out.Payload) != 0 {
				t.Fatalf("async call: status %d payload %q", out.StatusCode, out.Payload)
			}
		} else {
			var resp struct{ Greeting, TraceID string }
			if out.StatusCode != 200 || out.FunctionError != nil || json.Unmarshal(out.Payload, &resp) != nil || resp.Greeting != "hello ana" {
				t.Fatalf("call %d: status %d error %v payload %s", i, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
			}
			if aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Errorf("executed version %q", aws.ToString(out.ExecutedVersion))
			}
			// aws-lambda-go sets _X_AMZN_TRACE_ID from Lambda-Runtime-Trace-Id.
			if !strings.HasPrefix(resp.TraceID, "Root=1-") || !strings.Contains(resp.TraceID, ";Sampled=1") {
				t.Errorf("_X_AMZN_TRACE_ID in the function: %q", resp.TraceID)
			}
		}
		calls = append(calls, call{id, async})
		// Let the invocation finish (Overhead, segments) before the next,
		// so the second and third calls find the instance warm.
		d.wait("the trace of call "+id, func(segs []segment.Segment) bool {
			inv := find(segs, id)
			return inv.svc != nil && !inv.svc.Root().InProgress && len(inv.fns) == 1 && len(inv.subs) == 1
		})
	}

	segs := d.wait("all", func([]segment.Segment) bool { return true })
	for i, cl := range calls {
		inv := find(segs, cl.id)
		svc, fn, greet := inv.svc.Root(), inv.fns[0].Root(), inv.subs[0].Root()
		// (a) the service segment
		if svc.Name != "greeter" || svc.ResourceARN != arn || inv.svc.ParentID != 0 {
			t.Errorf("call %d: service segment %q arn %q parent %v", i, svc.Name, svc.ResourceARN, inv.svc.ParentID)
		}
		wantStatus := 200
		if cl.async {
			wantStatus = 202
		}
		if svc.HTTP.Status != wantStatus {
			t.Errorf("call %d: service status %d, want %d", i, svc.HTTP.Status, wantStatus)
		}
		dwell, attempt := child(inv.svc, "Dwell Time"), child(inv.svc, "Attempt #1")
		if cl.async != (dwell != nil) || cl.async != (attempt != nil) {
			t.Errorf("call %d (async %v): Dwell Time %v, Attempt #1 %v", i, cl.async, dwell != nil, attempt != nil)
		}
		if cl.async && (dwell.Start != svc.Start || dwell.End > attempt.Start || attempt.End > svc.End || fn.Start < attempt.Start) {
			t.Errorf("call %d: dwell %v..%v attempt %v..%v function %v..%v", i, dwell.Start, dwell.End, attempt.Start, attempt.End, fn.Start, fn.End)
		}
		// (b) the function segment, child of the service segment
		if fn.Name != "greeter" || inv.fns[0].TraceID != inv.svc.TraceID || fn.AWS.FunctionARN != arn || fn.AWS.AccountID != "123456789012" {
			t.Errorf("call %d: function segment %q trace %v arn %q", i, fn.Name, inv.fns[0].TraceID, fn.AWS.FunctionARN)
		}
		if len(fn.AWS.LogGroups) != 1 || fn.AWS.LogGroups[0] != "/aws/lambda/greeter" {
			t.Errorf("call %d: log groups %v", i, fn.AWS.LogGroups)
		}
		initSeg, invSeg, over := child(inv.fns[0], "Initialization"), child(inv.fns[0], "Invocation"), child(inv.fns[0], "Overhead")
		if (i == 0) != (initSeg != nil) {
			t.Errorf("call %d: Initialization present %v, want only on the first call", i, initSeg != nil)
		}
		if invSeg == nil || over == nil {
			t.Fatalf("call %d: Invocation %v Overhead %v", i, invSeg != nil, over != nil)
		}
		if fn.Error || fn.Fault || svc.Fault {
			t.Errorf("call %d: flags on a successful call", i)
		}
		if invSeg.Start < fn.Start || over.Start < invSeg.End || over.End > fn.End || fn.End > svc.End || fn.Start < svc.Start {
			t.Errorf("call %d: timeline: svc %.6f..%.6f fn %.6f..%.6f invocation %.6f..%.6f overhead %.6f..%.6f",
				i, svc.Start, svc.End, fn.Start, fn.End, invSeg.Start, invSeg.End, over.Start, over.End)
		}
		if initSeg != nil && initSeg.End > invSeg.Start {
			t.Errorf("call %d: Initialization ends after Invocation starts", i)
		}
		// (c) the function's own subsegment, with the facade's parent =
		// the function segment, inside Invocation
		if inv.subs[0].ParentID != inv.fns[0].ID() || inv.subs[0].TraceID != inv.svc.TraceID || greet.Name != "greet" {
			t.Errorf("call %d: SDK subsegment %q parent %v trace %v", i, greet.Name, inv.subs[0].ParentID, inv.subs[0].TraceID)
		}
		if greet.Start < invSeg.Start || greet.End > invSeg.End {
			t.Errorf("call %d: subsegment %.6f..%.6f outside Invocation %.6f..%.6f", i, greet.Start, greet.End, invSeg.Start, invSeg.End)
		}
		if len(greet.Annotations) != 1 || greet.Annotations[0].String != "ana" {
			t.Errorf("call %d: annotations %+v", i, greet.Annotations)
		}

		// (d) the log stream
		recs := logsOf(t, e, mem, cl.id, true)
		trace := inv.svc.TraceID.String()
		for _, r := range recs {
			if r.TraceID != trace || r.Function != "greeter" || r.LogGroup != "/aws/lambda/greeter" || !strings.Contains(r.LogStream, "/[$LATEST]") {
				t.Errorf("call %d: record %+v", i, r)
			}
		}
		want := []string{"START RequestId: " + cl.id + " Version: $LATEST", "handling " + cl.id + " for ana", "END RequestId: " + cl.id}
		for _, w := range want {
			if r := line(recs, w); r == nil {
				t.Errorf("call %d: no line %q", i, w)
			}
		}
		if r := line(recs, "handling "); r != nil && r.Stream != logs.Stdout {
			t.Errorf("call %d: function line on %q", i, r.Stream)
		}
		report := line(recs, "REPORT RequestId: "+cl.id+"\t")
		if report == nil {
			t.Fatalf("call %d: no REPORT line in %+v", i, recs)
		}
		dur, _ := reportField(t, report.Message, "Duration")
		billed, _ := reportField(t, report.Message, "Billed Duration")
		mem, _ := reportField(t, report.Message, "Memory Size")
		maxMem, _ := reportField(t, report.Message, "Max Memory Used")
		initDur, hasInit := reportField(t, report.Message, "Init Duration")
		// Billed Duration includes init (AWS bills the INIT phase since
		// August 2025); the fields are rounded to 0.01 ms.
		if math.Abs(billed-math.Max(1, math.Ceil(dur+initDur))) > 1 || billed < dur+initDur-0.02 || mem != 256 || maxMem < 1 || maxMem > 256 {
			t.Errorf("call %d: REPORT %q", i, report.Message)
		}
		if math.Abs(dur-ms(invSeg)) > 0.011 {
			t.Errorf("call %d: REPORT Duration %.2f ms, Invocation %.3f ms", i, dur, ms(invSeg))
		}
		if hasInit != (initSeg != nil) {
			t.Errorf("call %d: REPORT Init Duration present %v, Initialization %v", i, hasInit, initSeg != nil)
		}
		if initSeg != nil && math.Abs(initDur-ms(initSeg)) > 0.011 {
			t.Errorf("call %d: REPORT Init Duration %.2f ms, Initialization subsegment %.3f ms", i, initDur, ms(initSeg))
		}
		xr := line(recs, "XRAY TraceId: ")
		if xr == nil || xr.Message != "XRAY TraceId: "+trace+"\tSegmentId: "+inv.fns[0].ID().String()+"\tSampled: true\t" {
			t.Errorf("call %d: XRAY line %+v", i, xr)
		}
		for _, order := range [][2]string{{"START", "handling"}, {"handling", "END"}, {"END", "REPORT"}} {
			a, b := line(recs, order[0]), line(recs, order[1])
			if a != nil && b != nil && a.Time.After(b.Time) {
				t.Errorf("call %d: %s after %s", i, order[0], order[1])
			}
		}
	}
	// Init output belongs to no request.
	if r := mem.Records(func(r logs.Record) bool { return r.Message == "init: ready" }); len(r) != 1 || r[0].RequestID != "" {
		t.Errorf("init line: %+v", r)
	}
}

// TestInitFailure: a function that exits during init yields a fault with
// the error as cause, and the log lines Lambda prints for it.
func TestInitFailure(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{
		XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{{Name: "broken", Command: []string{bin},
			Environment: map[string]string{"FN_INIT": "fail"}}},
	})
	out, id := invokeSDK(t, lambdaClient(url), "broken", types.InvocationTypeRequestResponse, `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Runtime.ExitError"`) ||
		!strings.Contains(string(out.Payload), "Runtime exited with error: exit status 1") {
		t.Fatalf("function error %q payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
	segs := d.wait("the failed init's segments", func(segs []segment.Segment) bool {
		inv := find(segs, id)
		return inv.svc != nil && len(inv.fns) == 1
	})
	inv := find(segs, id)
	fn := inv.fns[0].Root()
	if !fn.Fault || len(fn.Cause.Exceptions) != 1 || fn.Cause.Exceptions[0].Type != "Runtime.ExitError" ||
		!strings.Contains(fn.Cause.Exceptions[0].Message, "exit status 1") || fn.Cause.Exceptions[0].ID == "" {
		t.Errorf("function segment: fault %v cause %+v", fn.Fault, fn.Cause)
	}
	initSeg := child(inv.fns[0], "Initialization")
	if initSeg == nil || !initSeg.Fault || child(inv.fns[0], "Invocation") != nil {
		t.Errorf("subsegments: Initialization %+v, Invocation %v", initSeg, child(inv.fns[0], "Invocation") != nil)
	}

	recs := logsOf(t, e, mem, id, true)
	all := mem.Records(func(r logs.Record) bool { return r.RequestID == "" || r.RequestID == id })
	for _, w := range []string{"INIT_START Runtime Version: ", "init: cannot load configuration: GREETING_TABLE is not set",
		"INIT_REPORT Init Duration: ", "START RequestId: " + id, "RequestId: " + id + " Error: Runtime exited with error: exit status 1",
		"Runtime.ExitError", "END RequestId: " + id, "REPORT RequestId: " + id} {
		found := false
		for _, r := range all {
			if strings.Contains(r.Message, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no log line %q", w)
		}
	}
	var initReport *logs.Record
	for i := range all {
		if strings.HasPrefix(all[i].Message, "INIT_REPORT") {
			initReport = &all[i]
		}
	}
	if initReport == nil || !strings.HasSuffix(initReport.Message, "\tPhase: init\tStatus: error\tError Type: Runtime.ExitError") {
		t.Errorf("INIT_REPORT: %+v", initReport)
	} else if v, _ := reportField(t, initReport.Message, "Init Duration"); initSeg != nil && math.Abs(v-ms(initSeg)) > 0.011 {
		t.Errorf("INIT_REPORT Init Duration %.2f ms, Initialization %.3f ms", v, ms(initSeg))
	}
	if r := line(recs, "REPORT "); r == nil || !strings.Contains(r.Message, "Status: error\tError Type: Runtime.ExitError") {
		t.Errorf("REPORT %+v", r)
	}
}

// TestHandlerErrorTimeoutConcurrencyIdle covers the rest of the lifecycle
// with the real aws-lambda-go function.
func TestHandlerErrorTimeoutConcurrencyIdle(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{
		XRayAddr: d.addr(),
		Functions: []lambda.FunctionConfig{
			{Name: "greeter", Command: []string{bin}, Timeout: lambda.Duration(time.Second), IdleTimeout: lambda.Duration(300 * time.Millisecond)},
			{Name: "pair", Command: []string{bin}, Timeout: lambda.Duration(30 * time.Second)},
		},
	})
	c := lambdaClient(url)

	t.Run("handler error", func(t *testing.T) {
		out, id := invokeSDK(t, c, "greeter", types.InvocationTypeRequestResponse, `{"name":"x","fail":"no greeting today"}`)
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "no greeting today") {
			t.Fatalf("function error %q payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
		segs := d.wait("the error's segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
		fn := find(segs, id).fns[0].Root()
		if !fn.Error || fn.Fault || len(fn.Cause.Exceptions) == 0 || fn.Cause.Exceptions[0].Message != "no greeting today" {
			t.Errorf("function segment: error %v fault %v cause %+v", fn.Error, fn.Fault, fn.Cause)
		}
		if r := line(logsOf(t, e, mem, id, true), "greeting failed: no greeting today"); r == nil || r.Stream != logs.Stderr {
			t.Errorf("stderr line: %+v", r)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		out, id := invokeSDK(t, c, "greeter", types.InvocationTypeRequestResponse, `{"name":"x","sleep_ms":20000}`)
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") {
			t.Fatalf("function error %q payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
		recs := logsOf(t, e, mem, id, true)
		if r := line(recs, "20"); r == nil || !strings.HasSuffix(r.Message, id+" Task timed out after 1.00 seconds") {
			t.Errorf("timeout line: %+v", r)
		}
		if r := line(recs, "REPORT "); r == nil || !strings.Contains(r.Message, "Status: timeout") {
			t.Errorf("REPORT: %+v", r)
		}
		segs := d.wait("the timeout's segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
		if fn := find(segs, id).fns[0].Root(); !fn.Fault || fn.Cause.Exceptions[0].Type != "Sandbox.Timedout" {
			t.Errorf("function segment: fault %v cause %+v", fn.Fault, fn.Cause)
		}
	})

	t.Run("concurrency", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]string, 2)
		for i := range ids {
			wg.Go(func() {
				_, ids[i] = invokeSDK(t, c, "pair", types.InvocationTypeRequestResponse, `{"name":"c","sleep_ms":1500}`)
			})
		}
		wg.Wait()
		if total, _ := e.Pool("pair").Instances(); total != 2 {
			t.Errorf("instances after two concurrent calls: %d, want 2", total)
		}
		for _, id := range ids {
			if r := line(logsOf(t, e, mem, id, true), "REPORT "); r == nil || !strings.Contains(r.Message, "Init Duration") {
				t.Errorf("concurrent call %s was not a cold start: %+v", id, r)
			}
		}
	})

	t.Run("idle shutdown", func(t *testing.T) {
		invokeSDK(t, c, "greeter", types.InvocationTypeRequestResponse, `{"name":"i"}`)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if total, _ := e.Pool("greeter").Instances(); total == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Error("the idle instance was not shut down")
	})
}
