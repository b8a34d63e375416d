package main

import (
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/logs"
)

// TestDemoLogLines checks the lines derived from the seed scenario's
// traces: every invocation has START, END, REPORT and XRAY lines under the
// AWS::Lambda segment's request ID and the trace's ID, cold starts have
// INIT_START and an Init Duration, and failed Python invocations log the
// import error the trace's root cause names.
func TestDemoLogLines(t *testing.T) {
	sc, err := loadgen.New("seed", 7)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var failed, cold int
	for i := range 60 {
		tr := sc.Trace(i, at.Add(time.Duration(i/3)*5*time.Second))
		recs := demoLogLines(tr)
		var start, end, report, xray *logs.Record
		for k := range recs {
			r := &recs[k]
			if r.TraceID != tr.ID.String() {
				t.Fatalf("trace %s: line %q has trace ID %q", tr.ID, r.Message, r.TraceID)
			}
			switch {
			case strings.HasPrefix(r.Message, "START RequestId: "):
				start = r
			case strings.HasPrefix(r.Message, "END RequestId: "):
				end = r
			case strings.HasPrefix(r.Message, "REPORT RequestId: "):
				report = r
			case strings.HasPrefix(r.Message, "XRAY TraceId: "+tr.ID.String()):
				xray = r
			case strings.HasPrefix(r.Message, "INIT_START "):
				cold++
				if r.RequestID != "" {
					t.Errorf("INIT_START has request ID %q", r.RequestID)
				}
			case strings.HasPrefix(r.Message, "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function'"):
				failed++
				if r.Stream != logs.Stderr || !strings.HasSuffix(r.Function, "-py") {
					t.Errorf("import error on %s/%s", r.Function, r.Stream)
				}
			}
		}
		if start == nil || end == nil || report == nil || xray == nil {
			t.Fatalf("trace %s: missing platform lines in %+v", tr.ID, recs)
		}
		if start.RequestID == "" || end.RequestID != start.RequestID || report.RequestID != start.RequestID ||
			!strings.Contains(end.Message, start.RequestID) || !strings.Contains(report.Message, start.RequestID) {
			t.Fatalf("trace %s: request IDs differ: %+v", tr.ID, recs)
		}
		var all strings.Builder
		for _, d := range tr.Docs {
			all.Write(d.JSON)
		}
		if !strings.Contains(all.String(), `"request_id":"`+start.RequestID+`"`) {
			t.Fatalf("trace %s: request ID %s is not the AWS::Lambda segment's", tr.ID, start.RequestID)
		}
		if !start.Time.Before(end.Time) || report.Time.Before(end.Time) || start.LogGroup != "/aws/lambda/"+start.Function {
			t.Fatalf("trace %s: times or group out of order: %+v", tr.ID, recs)
		}
	}
	if failed == 0 || cold == 0 {
		t.Fatalf("%d failed and %d cold invocations in 60 traces; want some of each", failed, cold)
	}
}
