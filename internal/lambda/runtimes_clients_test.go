package lambda_test

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/testenv"
)

type lambdaError struct {
	ErrorType, ErrorMessage, RequestID string
	StackTrace                         []string
	Trace                              []string
}

func decodeError(t *testing.T, what string, out *awslambda.InvokeOutput) lambdaError {
	t.Helper()
	var e lambdaError
	if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &e) != nil {
		t.Fatalf("%s: function error %q payload %s", what, aws.ToString(out.FunctionError), out.Payload)
	}
	return e
}

// initReport returns a function's INIT_REPORT line.
func initReport(mem interface {
	Records(func(logs.Record) bool) []logs.Record
}, fn string) string {
	for _, r := range mem.Records(func(r logs.Record) bool { return r.Function == fn }) {
		if strings.HasPrefix(r.Message, "INIT_REPORT ") {
			return r.Message
		}
	}
	return ""
}

// TestPythonRuntimeClient runs the Python runtime client shipped with the
// emulator through the Lambda programming model: the context object, the
// error documents and log records awslambdaric produces, and the seed
// post's failure — the function deployed without aws_xray_sdk fails to
// import although this machine's Python has it, as on AWS.
func TestPythonRuntimeClient(t *testing.T) {
	testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3")
	dir, _ := filepath.Abs("testdata/pyruntime")
	seed, _ := filepath.Abs("../../examples/xraystarter-py")
	fn := func(name, dir, handler string) lambda.FunctionConfig {
		return lambda.FunctionConfig{Name: name, Runtime: "python3.12", Handler: handler, Dir: dir}
	}
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(), Functions: []lambda.FunctionConfig{
		fn("py-ctx", dir, "ctx.handler"), fn("py-boom", dir, "ctx.boom"), fn("py-syntax", dir, "syntaxerr.handler"),
		fn("py-missing", dir, "ctx.nope"), fn("py-marshal", dir, "ctx.unserializable"), fn("xraystarter-py", seed, "lambda_function.lambda_handler"),
	}})
	c := lambdaClient(url)

	// The context object and the environment.
	cc := `{"custom":{"k":"v"},"env":{},"client":{"app_title":"t"}}`
	ctx := t.Context()
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("py-ctx"), Payload: []byte(`{"x":1}`),
		ClientContext: aws.String(b64(cc))})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("py-ctx: %v %s", err, out.Payload)
	}
	var got struct {
		AWSRequestID, FunctionName, FunctionVersion, InvokedFunctionARN, MemoryLimitInMB, LogGroupName, LogStreamName string
		Remaining                                                                                                     int
		ClientCustom                                                                                                  map[string]string
		Env                                                                                                           map[string]string
	}
	raw := map[string]json.RawMessage{}
	json.Unmarshal(out.Payload, &raw)
	for k, v := range map[string]any{"aws_request_id": &got.AWSRequestID, "function_name": &got.FunctionName,
		"function_version": &got.FunctionVersion, "invoked_function_arn": &got.InvokedFunctionARN,
		"memory_limit_in_mb": &got.MemoryLimitInMB, "log_group_name": &got.LogGroupName, "log_stream_name": &got.LogStreamName,
		"remaining": &got.Remaining, "client_custom": &got.ClientCustom, "env": &got.Env} {
		if err := json.Unmarshal(raw[k], v); err != nil {
			t.Fatalf("py-ctx: %s: %v in %s", k, err, out.Payload)
		}
	}
	recs := logsOf(t, e, mem, got.AWSRequestID, true)
	if got.FunctionName != "py-ctx" || got.FunctionVersion != "$LATEST" || got.InvokedFunctionARN != e.ARN("py-ctx") ||
		got.MemoryLimitInMB != "128" || got.LogGroupName != "/aws/lambda/py-ctx" || !strings.Contains(got.LogStreamName, "[$LATEST]") ||
		got.Remaining <= 0 || got.Remaining > 3000 || got.ClientCustom["k"] != "v" {
		t.Errorf("py-ctx context: %+v", got)
	}
	env := got.Env
	if env["AWS_EXECUTION_ENV"] != "AWS_Lambda_python3.12" || env["_HANDLER"] != "ctx.handler" || env["LAMBDA_TASK_ROOT"] != dir ||
		!strings.HasPrefix(env["_X_AMZN_TRACE_ID"], "Root=1-") || env["TZ"] != ":UTC" || env["AWS_XRAY_CONTEXT_MISSING"] != "LOG_ERROR" {
		t.Errorf("py-ctx environment: %v", env)
	}
	// A logging record is one log record, in the runtime's format.
	if r := containing(recs, "\t"+got.AWSRequestID+"\ttwo\nlines"); r == nil || !strings.HasPrefix(r.Message, "[INFO]\t20") {
		t.Errorf("py-ctx: logging record %+v in %+v", r, recs)
	}

	// An exception: the error document, the traceback record, the cause.
	out, id := invokeSDK(t, c, "py-boom", types.InvocationTypeRequestResponse, `{"x":7}`)
	perr := decodeError(t, "py-boom", out)
	if perr.ErrorType != "ValueError" || perr.ErrorMessage != "bad input 7" || perr.RequestID != id || len(perr.StackTrace) != 2 ||
		perr.StackTrace[0] != "  File \""+dir+"/ctx.py\", line 29, in boom\n    check(event)\n" ||
		!strings.HasPrefix(perr.StackTrace[1], "  File \""+dir+"/ctx.py\", line 33, in check\n") {
		t.Errorf("py-boom: %+v", perr)
	}
	recs = logsOf(t, e, mem, id, true)
	nb := "\u00a0\u00a0"
	wantTB := "[ERROR] ValueError: bad input 7\nTraceback (most recent call last):\n" + nb + "File \"" + dir + "/ctx.py\", line 29, in boom\n" +
		nb + nb + "check(event)\n" + nb + "File \"" + dir + "/ctx.py\", line 33, in check\n"
	if r := line(recs, "[ERROR] ValueError"); r == nil || !strings.HasPrefix(r.Message, wantTB) {
		t.Errorf("py-boom: traceback record %+v, want prefix %q", r, wantTB)
	}
	segs := d.wait("py-boom's segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
	if f := find(segs, id).fns[0].Root(); !f.Error || f.Fault || len(f.Cause.Exceptions) != 1 || f.Cause.Exceptions[0].Type != "ValueError" {
		t.Errorf("py-boom: function segment error %v fault %v cause %+v", f.Error, f.Fault, f.Cause)
	}

	// A result that is not JSON.
	out, _ = invokeSDK(t, c, "py-marshal", types.InvocationTypeRequestResponse, `{}`)
	if perr := decodeError(t, "py-marshal", out); perr.ErrorType != "Runtime.MarshalError" ||
		perr.ErrorMessage != "Unable to marshal response: Object of type object is not JSON serializable" {
		t.Errorf("py-marshal: %+v", perr)
	}

	// Init failures, with AWS's types and messages.
	for _, tc := range []struct{ fn, typ, msg string }{
		{"py-syntax", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntaxerr': "},
		{"py-missing", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'ctx'"},
		{"xraystarter-py", "Runtime.ImportModuleError", "Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"},
	} {
		out, id := invokeSDK(t, c, tc.fn, types.InvocationTypeRequestResponse, `{}`)
		perr := decodeError(t, tc.fn, out)
		if perr.ErrorType != tc.typ || !strings.HasPrefix(perr.ErrorMessage, tc.msg) {
			t.Errorf("%s: %+v", tc.fn, perr)
		}
		logsOf(t, e, mem, id, true)
		if ir := initReport(mem, tc.fn); !strings.HasSuffix(ir, "\tStatus: error\tError Type: "+tc.typ) {
			t.Errorf("%s: INIT_REPORT %q", tc.fn, ir)
		}
		all := mem.Records(func(r logs.Record) bool { return r.Function == tc.fn })
		if r := line(all, "[ERROR] "+tc.typ+": "+tc.msg); r == nil {
			t.Errorf("%s: no error record in %+v", tc.fn, all)
		}
		if r := containing(all, "LAMBDA_WARNING: Unhandled exception."); r == nil || !strings.HasPrefix(r.Message, "[WARNING]\t") {
			t.Errorf("%s: no LAMBDA_WARNING record", tc.fn)
		}
		segs := d.wait(tc.fn+"'s segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
		if f := find(segs, id).fns[0].Root(); len(f.Cause.Exceptions) != 1 || f.Cause.Exceptions[0].Type != tc.typ {
			t.Errorf("%s: cause %+v", tc.fn, f.Cause)
		}
	}
}

// TestNodeRuntimeClient runs the Node.js runtime client shipped with the
// emulator: CommonJS callback handlers (waiting for the event loop), ES
// modules by package.json type and by .mjs, the context object, log lines
// with the request ID prefix, and the Runtime.* errors.
func TestNodeRuntimeClient(t *testing.T) {
	testenv.Node(t)
	dir, _ := filepath.Abs("testdata/noderuntime")
	fn := func(name, handler string) lambda.FunctionConfig {
		return lambda.FunctionConfig{Name: name, Runtime: "nodejs20.x", Handler: handler, Dir: dir}
	}
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(), Functions: []lambda.FunctionConfig{
		fn("node-cjs", "cjs.handler"), fn("node-esm", "esm/app.handler"), fn("node-mod", "mod.handler"),
		fn("node-broken", "broken.handler"), fn("node-nomodule", "nomodule.handler"), fn("node-missing", "cjs.nope"),
	}})
	c := lambdaClient(url)

	out, id := invokeSDK(t, c, "node-cjs", types.InvocationTypeRequestResponse, `{"x":1}`)
	var got struct {
		AWSRequestID, FunctionName, FunctionVersion, InvokedFunctionArn, MemoryLimitInMB, LogGroupName, Trace, ExecutionEnv string
		Remaining                                                                                                           int
		Waits                                                                                                               bool
	}
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &got) != nil {
		t.Fatalf("node-cjs: %s", out.Payload)
	}
	if got.FunctionName != "node-cjs" || got.FunctionVersion != "$LATEST" || got.InvokedFunctionArn != e.ARN("node-cjs") ||
		got.MemoryLimitInMB != "128" || got.LogGroupName != "/aws/lambda/node-cjs" || got.Remaining <= 0 || !got.Waits ||
		!strings.HasPrefix(got.Trace, "Root=1-") || got.ExecutionEnv != "AWS_Lambda_nodejs20.x" {
		t.Errorf("node-cjs context: %+v", got)
	}
	recs := logsOf(t, e, mem, id, true)
	later, end := containing(recs, "\t"+id+"\tINFO\tlater"), line(recs, "END RequestId: ")
	if later == nil || end == nil || later.Time.After(end.Time) {
		t.Errorf("node-cjs: the callback did not wait for the event loop: %+v", recs)
	}
	if r := containing(recs, "\tINFO\tobject {\"a\":1}\nsecond line"); r == nil || !strings.HasSuffix(strings.SplitN(r.Message, "\t", 2)[0], "Z") {
		t.Errorf("node-cjs: multi-line console record %+v", r)
	}

	out, _ = invokeSDK(t, c, "node-esm", types.InvocationTypeRequestResponse, `{"n":3}`)
	if out.FunctionError != nil || string(out.Payload) != `{"esm":true,"n":3}` {
		t.Errorf("node-esm: %s", out.Payload)
	}

	out, id = invokeSDK(t, c, "node-mod", types.InvocationTypeRequestResponse, `{"x":"y"}`)
	nerr := decodeError(t, "node-mod", out)
	if nerr.ErrorType != "TypeError" || nerr.ErrorMessage != "bad y" || len(nerr.Trace) < 2 || nerr.Trace[0] != "TypeError: bad y" ||
		!strings.Contains(nerr.Trace[1], dir+"/mod.mjs:2:") {
		t.Errorf("node-mod: %+v", nerr)
	}
	recs = logsOf(t, e, mem, id, true)
	if r := containing(recs, "\t"+id+"\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"bad y\",\"stack\":[\"TypeError: bad y\""); r == nil {
		t.Errorf("node-mod: no Invoke Error record in %+v", recs)
	}
	segs := d.wait("node-mod's segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
	if f := find(segs, id).fns[0].Root(); !f.Error || len(f.Cause.Exceptions) != 1 || f.Cause.Exceptions[0].Type != "TypeError" {
		t.Errorf("node-mod: function segment error %v cause %+v", f.Error, f.Cause)
	}

	for _, tc := range []struct{ fn, typ, msg string }{
		{"node-broken", "Runtime.UserCodeSyntaxError", "SyntaxError: "},
		{"node-nomodule", "Runtime.ImportModuleError", "Error: Cannot find module 'nomodule'"},
		{"node-missing", "Runtime.HandlerNotFound", "cjs.nope is undefined or not exported"},
	} {
		out, id := invokeSDK(t, c, tc.fn, types.InvocationTypeRequestResponse, `{}`)
		nerr := decodeError(t, tc.fn, out)
		if nerr.ErrorType != tc.typ || !strings.HasPrefix(nerr.ErrorMessage, tc.msg) {
			t.Errorf("%s: %+v", tc.fn, nerr)
		}
		logsOf(t, e, mem, id, true)
		if ir := initReport(mem, tc.fn); !strings.HasSuffix(ir, "\tStatus: error\tError Type: "+tc.typ) {
			t.Errorf("%s: INIT_REPORT %q", tc.fn, ir)
		}
		all := mem.Records(func(r logs.Record) bool { return r.Function == tc.fn })
		if r := containing(all, "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\""+tc.typ+"\""); r == nil {
			t.Errorf("%s: no Uncaught Exception record in %+v", tc.fn, all)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
