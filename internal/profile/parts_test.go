package profile_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const traceID = "1-5f000000-000000000000000000000001"

// t0 is the trace's start: times below are offsets from it.
const t0 = 1_600_000_000.0

// resolve decodes documents and resolves them as the summarizer does.
func resolve(t *testing.T, docs ...string) []summary.TreeEntity {
	t.Helper()
	dec := segment.NewDecoder(0)
	var ds []summary.Doc
	for i, d := range docs {
		segs, err := dec.Decode(nil, []byte(d))
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		for k := range segs {
			ds = append(ds, summary.Doc{Seg: &segs[k], Received: int64(i)})
		}
	}
	id, err := xrayid.ParseTraceID(traceID)
	if err != nil {
		t.Fatal(err)
	}
	var b summary.Builder
	b.Build(id, ds, 0)
	return b.Tree(nil)
}

// at renders an offset from t0 as a document time.
func at(off float64) string { return fmt.Sprintf("%.6f", t0+off) }

// parts maps each part's path (labels joined by " / ") to [total, self].
func parts(inv profile.Invocation) map[string][2]float64 {
	m := map[string][2]float64{}
	for _, p := range inv.Parts {
		_, path, _ := profile.ParseKey("-" + p.Key)
		m[strings.Join(path, " / ")] = [2]float64{p.Total, p.Self}
	}
	return m
}

func checkParts(t *testing.T, inv profile.Invocation, want map[string][2]float64) {
	t.Helper()
	have := parts(inv)
	for k, w := range want {
		h, ok := have[k]
		if !ok {
			t.Errorf("part %q missing; have %v", k, have)
			continue
		}
		if !(math.Abs(h[0]-w[0]) <= 2e-6 && math.Abs(h[1]-w[1]) <= 2e-6) {
			t.Errorf("part %q: total, self = %.6f, %.6f; want %.6f, %.6f", k, h[0], h[1], w[0], w[1])
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected part %q %v", k, have[k])
		}
	}
}

// Sequential, overlapping and nested subsegments, an AWS call and an
// in-progress subsegment: self time is what no child covers.
func TestSelfTime(t *testing.T) {
	doc := `{"trace_id":"` + traceID + `","id":"0000000000000001","name":"svc","start_time":` + at(0) + `,"end_time":` + at(1) + `,
	"subsegments":[
	 {"id":"0000000000000002","name":"a","start_time":` + at(0.1) + `,"end_time":` + at(0.3) + `},
	 {"id":"0000000000000003","name":"b","start_time":` + at(0.2) + `,"end_time":` + at(0.5) + `},
	 {"id":"0000000000000004","name":"c","start_time":` + at(0.6) + `,"end_time":` + at(0.7) + `,
	  "subsegments":[{"id":"0000000000000005","name":"d","start_time":` + at(0.62) + `,"end_time":` + at(0.65) + `}]},
	 {"id":"0000000000000006","name":"DynamoDB","namespace":"aws","start_time":` + at(0.8) + `,"end_time":` + at(0.9) + `,
	  "aws":{"operation":"PutItem","table_name":"items"}},
	 {"id":"0000000000000007","name":"slow","start_time":` + at(0.85) + `,"in_progress":true}]}`
	invs := profile.Invocations(resolve(t, doc))
	if len(invs) != 1 {
		t.Fatalf("%d invocations, want 1", len(invs))
	}
	inv := invs[0]
	if inv.Service != "svc" || inv.Class != profile.ClassNone {
		t.Fatalf("invocation %q class %q", inv.Service, inv.Class)
	}
	// Children cover [0.1,0.5] ∪ [0.6,0.7] ∪ [0.8,1] (slow runs until
	// svc ends): 0.4 + 0.1 + 0.2.
	checkParts(t, inv, map[string][2]float64{
		"svc":                          {1, 0.3},
		"svc / a":                      {0.2, 0.2},
		"svc / b":                      {0.3, 0.3},
		"svc / c":                      {0.1, 0.07},
		"svc / c / d":                  {0.03, 0.03},
		"svc / DynamoDB items PutItem": {0.1, 0.1},
		"svc / slow":                   {0.15, 0.15},
	})
}

// Two calls of one part in an invocation: their time is the union of
// their spans, not the sum.
func TestRepeatedPart(t *testing.T) {
	doc := `{"trace_id":"` + traceID + `","id":"0000000000000001","name":"svc","start_time":` + at(0) + `,"end_time":` + at(1) + `,
	"subsegments":[
	 {"id":"0000000000000002","name":"q","start_time":` + at(0.1) + `,"end_time":` + at(0.3) + `},
	 {"id":"0000000000000003","name":"q","start_time":` + at(0.2) + `,"end_time":` + at(0.4) + `},
	 {"id":"0000000000000004","name":"q","start_time":` + at(0.6) + `,"end_time":` + at(0.7) + `}]}`
	invs := profile.Invocations(resolve(t, doc))
	checkParts(t, invs[0], map[string][2]float64{
		"svc":     {1, 0.6},
		"svc / q": {0.4, 0.4}, // selves 0.2+0.2+0.1 capped at the union
	})
}

// An in-progress service segment is no invocation yet.
func TestInProgressRoot(t *testing.T) {
	doc := `{"trace_id":"` + traceID + `","id":"0000000000000001","name":"svc","start_time":` + at(0) + `,"in_progress":true}`
	if invs := profile.Invocations(resolve(t, doc)); len(invs) != 0 {
		t.Fatalf("invocations %+v, want none", invs)
	}
}

// lambdaDocs are an asynchronous Lambda invocation as AWS records it: the
// service segment (Dwell Time, Attempt #1), the function segment
// (Initialization if cold, Invocation, Overhead) and the SDK's DynamoDB
// subsegment, sent on its own with the function segment as parent.
func lambdaDocs(cold bool) []string {
	fnStart, init := 0.3, ""
	if cold {
		fnStart = 0.3
		init = `{"id":"00000000000000f1","name":"Initialization","start_time":` + at(0.12) + `,"end_time":` + at(0.29) + `},`
	}
	svc := `{"trace_id":"` + traceID + `","id":"00000000000000a1","name":"fn","origin":"AWS::Lambda","start_time":` + at(0) + `,"end_time":` + at(1) + `,
	"http":{"response":{"status":202}},
	"subsegments":[{"id":"00000000000000a2","name":"Dwell Time","start_time":` + at(0) + `,"end_time":` + at(0.1) + `},
	 {"id":"00000000000000a3","name":"Attempt #1","start_time":` + at(0.1) + `,"end_time":` + at(1) + `}]}`
	fn := `{"trace_id":"` + traceID + `","id":"00000000000000b1","parent_id":"00000000000000a1","name":"fn","origin":"AWS::Lambda::Function",
	"start_time":` + at(fnStart) + `,"end_time":` + at(0.9) + `,
	"subsegments":[` + init + `
	 {"id":"00000000000000b2","name":"Invocation","start_time":` + at(0.3) + `,"end_time":` + at(0.8) + `},
	 {"id":"00000000000000b3","name":"Overhead","start_time":` + at(0.8) + `,"end_time":` + at(0.85) + `}]}`
	ddb := `{"trace_id":"` + traceID + `","id":"00000000000000c1","parent_id":"00000000000000b1","type":"subsegment","name":"DynamoDB","namespace":"aws",
	"start_time":` + at(0.4) + `,"end_time":` + at(0.6) + `,"aws":{"operation":"PutItem","table_name":"items"}}`
	return []string{ddb, fn, svc}
}

func TestLambdaPhases(t *testing.T) {
	const fnPath = "fn / Attempt #1 / AWS::Lambda::Function"
	t.Run("cold", func(t *testing.T) {
		invs := profile.Invocations(resolve(t, lambdaDocs(true)...))
		if len(invs) != 1 || invs[0].Class != profile.ClassCold {
			t.Fatalf("invocations %+v, want one cold", invs)
		}
		// The function segment's span reaches back to Initialization:
		// [0.12, 0.9], of which 0.17+0.5+0.05 covered.
		checkParts(t, invs[0], map[string][2]float64{
			"fn":                         {1, 0},
			"fn / Dwell Time":            {0.1, 0.1},
			"fn / Attempt #1":            {0.9, 0.12},
			fnPath:                       {0.78, 0.06},
			fnPath + " / Initialization": {0.17, 0.17},
			fnPath + " / Invocation":     {0.5, 0.3},
			fnPath + " / Invocation / DynamoDB items PutItem": {0.2, 0.2},
			fnPath + " / Overhead":                            {0.05, 0.05},
		})
	})
	t.Run("warm", func(t *testing.T) {
		invs := profile.Invocations(resolve(t, lambdaDocs(false)...))
		if len(invs) != 1 || invs[0].Class != profile.ClassWarm {
			t.Fatalf("invocations %+v, want one warm", invs)
		}
		checkParts(t, invs[0], map[string][2]float64{
			"fn":                     {1, 0},
			"fn / Dwell Time":        {0.1, 0.1},
			"fn / Attempt #1":        {0.9, 0.3},
			fnPath:                   {0.6, 0.05},
			fnPath + " / Invocation": {0.5, 0.3},
			fnPath + " / Invocation / DynamoDB items PutItem": {0.2, 0.2},
			fnPath + " / Overhead":                            {0.05, 0.05},
		})
	})
}

// Another service's segment is a part of its caller (its insides are its
// own profile's), and starts its own invocation.
func TestDownstreamService(t *testing.T) {
	front := `{"trace_id":"` + traceID + `","id":"0000000000000001","name":"front","start_time":` + at(0) + `,"end_time":` + at(1) + `,
	"subsegments":[{"id":"0000000000000002","name":"back","namespace":"remote","start_time":` + at(0.2) + `,"end_time":` + at(0.8) + `,
	 "http":{"request":{"url":"http://back.internal:8080/x","method":"GET"}}}]}`
	back := `{"trace_id":"` + traceID + `","id":"0000000000000003","parent_id":"0000000000000002","name":"back","start_time":` + at(0.3) + `,"end_time":` + at(0.7) + `,
	"subsegments":[{"id":"0000000000000004","name":"work","start_time":` + at(0.4) + `,"end_time":` + at(0.5) + `}]}`
	invs := profile.Invocations(resolve(t, front, back))
	if len(invs) != 2 {
		t.Fatalf("%d invocations, want 2", len(invs))
	}
	for _, inv := range invs {
		switch inv.Service {
		case "front":
			checkParts(t, inv, map[string][2]float64{
				"front":                      {1, 0.4},
				"front / back.internal:8080": {0.6, 0.2},
				"front / back.internal:8080 / service back": {0.4, 0.4},
			})
		case "back":
			checkParts(t, inv, map[string][2]float64{"back": {0.4, 0.3}, "back / work": {0.1, 0.1}})
		default:
			t.Errorf("invocation of %q", inv.Service)
		}
	}
}
