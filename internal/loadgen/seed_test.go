package loadgen

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSeedScenario(t *testing.T) {
	s, err := New("seed", 7)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := s.(Grouped); !ok || g.GroupSize() != 3 {
		t.Fatalf("seed scenario must group its traces by three (one upload)")
	}
	functions := []struct {
		name       string
		initMs     [2]float64
		ddbName    string
		dialectTag func(raw string) bool
	}{
		{"xraystarter-go", [2]float64{50, 120}, "DynamoDB", func(raw string) bool { return strings.Contains(raw, `"Dummy":false`) }},
		{"xraystarter-py", [2]float64{200, 450}, "dynamodb", func(raw string) bool { return strings.Contains(raw, `"in_progress": false`) }},
		{"xraystarter-ts", [2]float64{150, 350}, "DynamoDB", func(raw string) bool { return !strings.Contains(raw, "Dummy") && !strings.Contains(raw, ": ") }},
	}
	const uploads = 1000
	dec := segment.NewDecoder(0)
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	seen := map[xrayid.TraceID]bool{}
	var pyFailed, warmCold, warm int
	for u := range uploads {
		start := base.Add(time.Duration(u) * 250 * time.Millisecond)
		for f, fn := range functions {
			tr := s.Trace(3*u+f, start)
			if seen[tr.ID] {
				t.Fatalf("trace ID %s repeated", tr.ID)
			}
			seen[tr.ID] = true
			tv := viewTrace(t, dec, tr)

			var svc, fnSeg, ddb *docView
			for k := range tv.docs {
				d := &tv.docs[k]
				switch {
				case d.seg.Independent:
					if ddb != nil {
						t.Fatalf("%s: two SDK subsegments", tr.ID)
					}
					ddb = d
				case d.root().Origin == "AWS::Lambda":
					svc = d
				case d.root().Origin == "AWS::Lambda::Function":
					fnSeg = d
				default:
					t.Fatalf("%s: unexpected document %s", tr.ID, d.raw)
				}
			}
			if svc == nil || fnSeg == nil {
				t.Fatalf("%s: want a service and a function segment, got %d documents", tr.ID, len(tv.docs))
			}
			arn := "arn:aws:lambda:us-east-1:123456789012:function:" + fn.name

			// The Lambda service segment: async, so 202, Dwell Time and Attempt #1.
			root := svc.root()
			if root.Name != fn.name || svc.seg.ParentID != 0 || root.HTTP.Status != 202 || root.ResourceARN != arn ||
				!uuidRE.MatchString(root.AWS.RequestID) || root.Fault || root.Error {
				t.Fatalf("%s: bad service segment %s", tr.ID, svc.raw)
			}
			if got := subNames(&svc.seg, 0); !slices.Equal(got, []string{"Dwell Time", "Attempt #1"}) {
				t.Fatalf("%s: service subsegments %v", tr.ID, got)
			}
			dwell, attempt := sub(&svc.seg, "Dwell Time"), sub(&svc.seg, "Attempt #1")
			if ms := (dwell.End - dwell.Start) * 1000; ms < 38.99 || ms > 92.01 {
				t.Fatalf("%s: dwell time %.3f ms, want 39–92", tr.ID, ms)
			}
			if attempt.Start < dwell.End-1e-6 || attempt.End > root.End+1e-6 {
				t.Fatalf("%s: attempt [%f, %f] outside the service segment after dwell", tr.ID, attempt.Start, attempt.End)
			}

			// The function segment.
			fr := fnSeg.root()
			if fr.Name != fn.name || fnSeg.seg.ParentID != svc.seg.ID() || fr.AWS.AccountID != "123456789012" ||
				fr.AWS.FunctionARN != arn || !slices.Equal(fr.AWS.ResourceNames, []string{fn.name}) ||
				!slices.Equal(fr.AWS.LogGroups, []string{"/aws/lambda/" + fn.name}) {
				t.Fatalf("%s: bad function segment %s", tr.ID, fnSeg.raw)
			}
			init := sub(&fnSeg.seg, "Initialization")
			want := []string{"Invocation", "Overhead"}
			if init != nil {
				want = append([]string{"Initialization"}, want...)
				if ms := (init.End - init.Start) * 1000; ms < fn.initMs[0]-0.01 || ms > fn.initMs[1]+0.01 {
					t.Fatalf("%s: %s init took %.1f ms, want %v", tr.ID, fn.name, ms, fn.initMs)
				}
				if u > 0 {
					warmCold++
				}
			} else if u == 0 {
				t.Fatalf("%s: the first upload must be a cold start", tr.ID)
			}
			if u > 0 {
				warm++
			}
			if got := subNames(&fnSeg.seg, 0); !slices.Equal(got, want) {
				t.Fatalf("%s: function subsegments %v, want %v", tr.ID, got, want)
			}
			inv := sub(&fnSeg.seg, "Invocation")

			failed := len(fr.Cause.Exceptions) > 0
			if failed {
				x := fr.Cause.Exceptions[0]
				if f != 1 || !fr.Fault || x.Type != "Runtime.ImportModuleError" ||
					x.Message != "Unable to import module 'lambda_function': No module named 'aws_xray_sdk'" {
					t.Fatalf("%s: unexpected failure %s", tr.ID, fnSeg.raw)
				}
				if ddb != nil {
					t.Fatalf("%s: a function that failed to import made a DynamoDB call", tr.ID)
				}
				pyFailed++
				continue
			}
			if fr.Fault || fr.Error {
				t.Fatalf("%s: flags without a cause: %s", tr.ID, fnSeg.raw)
			}
			if ddb == nil {
				t.Fatalf("%s: no DynamoDB subsegment", tr.ID)
			}
			d := ddb.root()
			if ddb.seg.ParentID != fnSeg.seg.ID() || d.Name != fn.ddbName || d.Namespace != "aws" ||
				d.AWS.Operation != "PutItem" || d.AWS.TableName != "items" || d.AWS.Region != "us-east-1" ||
				d.AWS.RequestID == "" || d.HTTP.Status != 200 || ddb.m["aws"].(map[string]any)["retries"] != 0.0 {
				t.Fatalf("%s: bad DynamoDB subsegment %s", tr.ID, ddb.raw)
			}
			if d.Start < inv.Start || d.End > inv.End {
				t.Fatalf("%s: DynamoDB call [%f, %f] outside Invocation [%f, %f]", tr.ID, d.Start, d.End, inv.Start, inv.End)
			}
			if !fn.dialectTag(string(ddb.raw)) {
				t.Fatalf("%s: %s subsegment lacks its SDK's style: %s", tr.ID, fn.name, ddb.raw)
			}
			if f == 2 && !isMillis(ddb.m["start_time"].(float64)) {
				t.Fatalf("%s: Node writes millisecond times, got %v", tr.ID, ddb.m["start_time"])
			}
			// SDK documents go out when the call ends, Lambda's after the attempt.
			if !ddb.at.Before(fnSeg.at) || !ddb.at.Before(svc.at) {
				t.Fatalf("%s: documents out of emission order", tr.ID)
			}
		}
	}
	if rate := float64(pyFailed) / uploads; math.Abs(rate-0.20) > 0.035 {
		t.Errorf("Python import failures in %.1f%% of invocations, want about 20%%", 100*rate)
	}
	if rate := float64(warmCold) / float64(warm); math.Abs(rate-0.05) > 0.02 {
		t.Errorf("cold starts after the first upload: %.1f%%, want about 5%%", 100*rate)
	}
}

func isMillis(v float64) bool {
	ms := v * 1000
	return math.Abs(ms-math.Round(ms)) < 1e-3
}
