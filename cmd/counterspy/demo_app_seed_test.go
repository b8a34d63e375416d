package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/testenv"
)

// TestDemoAppPythonWithoutXRaySDK is the seed post's failure, for real: the
// Python function deployed without aws_xray_sdk (counterspy demo
// --python-without-xray-sdk) fails to import on every upload, with the
// fault, its cause and the INIT_REPORT/REPORT lines Lambda prints, while
// the Go function next to it stores the key.
func TestDemoAppPythonWithoutXRaySDK(t *testing.T) {
	testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3")
	ctx := context.Background()
	bin, cleanup, err := buildExample(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	repo, err := findRepo(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	pyDir, err := preparePython(repo, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	udp := newUDPCapture(t)
	mem := lambdalog.NewMemory()
	app, err := startDemoApp(ctx, demoOptions{FunctionBin: bin, PythonDir: pyDir, Addr: "127.0.0.1:0",
		XRayAddr: udp.conn.LocalAddr().String(), Logs: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	res, err := app.Upload("report.csv", []byte("a,b"))
	if err != nil || len(res.Invocations) != 2 {
		t.Fatalf("upload: %+v %v", res, err)
	}
	var reqID string
	for _, inv := range res.Invocations {
		if inv.Function == demoPyFunction {
			reqID = inv.RequestID
		}
	}
	var fn *segment.Segment
	// The service segment stays in progress: Lambda retries the event.
	udp.waitFor(t, "the Python function's segment", func(segs []segment.Segment) bool {
		var svc *segment.Segment
		for i := range segs {
			if r := segs[i].Root(); r.Origin == "AWS::Lambda" && r.AWS.RequestID == reqID {
				svc = &segs[i]
			}
		}
		for i := range segs {
			if svc != nil && segs[i].Root().Origin == "AWS::Lambda::Function" && segs[i].ParentID == svc.ID() {
				fn = &segs[i]
			}
		}
		return fn != nil
	})
	r := fn.Root()
	const msg = "Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"
	if !r.Fault || len(r.Cause.Exceptions) != 1 || r.Cause.Exceptions[0].Type != "Runtime.ImportModuleError" ||
		r.Cause.Exceptions[0].Message != msg {
		t.Errorf("function segment: fault %v cause %+v", r.Fault, r.Cause)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	recs, err := mem.Wait(waitCtx, func(r logs.Record) bool { return r.Function == demoPyFunction }, func(rs []logs.Record) bool {
		for _, r := range rs {
			if strings.HasPrefix(r.Message, "REPORT RequestId: "+reqID) {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	var initReport, errLine, report string
	for _, r := range recs {
		switch {
		case strings.HasPrefix(r.Message, "INIT_REPORT "):
			initReport = r.Message
		case strings.HasPrefix(r.Message, "[ERROR] Runtime.ImportModuleError: "+msg):
			errLine = r.Message
		case strings.HasPrefix(r.Message, "REPORT "):
			report = r.Message
		}
	}
	if !strings.HasSuffix(initReport, "\tStatus: error\tError Type: Runtime.ImportModuleError") || errLine == "" ||
		!strings.Contains(report, "\tStatus: error\tError Type: Runtime.ImportModuleError") {
		t.Errorf("INIT_REPORT %q, error line %q, REPORT %q", initReport, errLine, report)
	}
	// The Go function, subscribed to the same topic, stored the key.
	app.Drain(waitCtx)
	if items := app.ddb.Items(demoTable); len(items) != 1 || items[0]["id"]["S"] != "report.csv" {
		t.Errorf("items: %v", items)
	}
}
