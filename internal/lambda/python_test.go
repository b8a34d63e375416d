package lambda_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/testenv"
)

// TestPythonRuntime runs Python functions through a stdlib-only runtime
// client, including the seed's failure: a module that cannot be imported,
// reported through /init/error as Runtime.ImportModuleError.
func TestPythonRuntime(t *testing.T) {
	py := testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3", "/usr/bin/python3")
	dir, err := filepath.Abs("testdata/python")
	if err != nil {
		t.Fatal(err)
	}
	cmd := []string{py, "-B", filepath.Join(dir, "bootstrap.py")} // -B: no __pycache__ in testdata
	d := newDaemon(t)
	e, mem, url := startEmulator(t, lambda.Config{XRayAddr: d.addr(), Functions: []lambda.FunctionConfig{
		{Name: "py", Command: cmd, Dir: dir, Handler: "app.handler", Runtime: "python3.12"},
		{Name: "py-broken", Command: cmd, Dir: dir, Handler: "broken.handler", Runtime: "python3.12"},
	}})
	c := lambdaClient(url)
	out, id := invokeSDK(t, c, "py", types.InvocationTypeRequestResponse, `{"name":"guido"}`)
	if out.FunctionError != nil || !strings.Contains(string(out.Payload), `"greeting": "hello guido"`) || !strings.Contains(string(out.Payload), ";Sampled=1") {
		t.Fatalf("py: %v %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if r := line(logsOf(t, e, mem, id, true), "python handled guido"); r == nil {
		t.Error("no handler output in the logs")
	}

	out, id = invokeSDK(t, c, "py-broken", types.InvocationTypeRequestResponse, `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ImportModuleError") ||
		!strings.Contains(string(out.Payload), "No module named 'aws_xray_sdk_not_installed'") {
		t.Fatalf("py-broken: %v %s", aws.ToString(out.FunctionError), out.Payload)
	}
	segs := d.wait("the import failure's segments", func(segs []segment.Segment) bool { return len(find(segs, id).fns) == 1 })
	fn := find(segs, id).fns[0].Root()
	if !fn.Fault || len(fn.Cause.Exceptions) != 1 || fn.Cause.Exceptions[0].Type != "Runtime.ImportModuleError" {
		t.Errorf("function segment: fault %v cause %+v", fn.Fault, fn.Cause)
	}
	logsOf(t, e, mem, id, true)
	all := mem.Records(nil)
	var initReport, errLine string
	for _, r := range all {
		if r.Function == "py-broken" && strings.HasPrefix(r.Message, "INIT_REPORT") {
			initReport = r.Message
		}
		if r.Function == "py-broken" && strings.HasPrefix(r.Message, "[ERROR] Runtime.ImportModuleError") {
			errLine = r.Message
		}
	}
	if !strings.HasSuffix(initReport, "Status: error\tError Type: Runtime.ImportModuleError") || errLine == "" {
		t.Errorf("INIT_REPORT %q, error line %q", initReport, errLine)
	}
}
