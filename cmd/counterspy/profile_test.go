package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The profile command end to end: seed traces through PutTraceSegments,
// the summarizer's counters, the endpoint and the tables.
func TestProfileCommand(t *testing.T) {
	endpoint := startQueryServer(t)
	putScenarioTraces(t, endpoint, "seed", 0, 60, time.Now().Add(-2*time.Minute))

	code, out, errOut := runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h", "--width", "120", "--compare", "24h")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"20 invocations", "cold ", "warm ",
		"Invocation › DynamoDB items PutItem",
		"Attempt #1 › AWS::Lambda::Function › Initialization",
		"Attempt #1 › AWS::Lambda::Function › Overhead",
		"Dwell Time",
		"nothing to compare with: no invocations in the base window",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}

	code, out, errOut = runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("--json: exit %d, stderr %q", code, errOut)
	}
	var r struct {
		All  struct{ Invocations int64 }
		Cold *struct{ Invocations int64 }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.All.Invocations != 20 || r.Cold == nil || r.Cold.Invocations == 0 {
		t.Fatalf("--json: %v %+v\n%s", err, r, out)
	}

	// Examples from the slowest bucket of the DynamoDB call's time: the
	// text lists the IDs the endpoint returned, each a trace of the window
	// whose call took that long.
	code, out, errOut = runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h",
		"--examples", "putitem", "--percentile", "100", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("--examples --json: exit %d, stderr %q\n%s", code, errOut, out)
	}
	var ex struct {
		Part      []string
		BandCount int64   `json:"band_count"`
		Min       float64 `json:"min_s"`
		Max       float64 `json:"max_s"`
		Traces    []struct {
			TraceID string `json:"trace_id"`
			Seconds float64
		}
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil || len(ex.Traces) == 0 || int64(len(ex.Traces)) != ex.BandCount ||
		strings.Join(ex.Part, " › ") != "xraystarter-go › Attempt #1 › AWS::Lambda::Function › Invocation › DynamoDB items PutItem" {
		t.Fatalf("--examples --json: %v %+v\n%s", err, ex, out)
	}
	code, text, errOut := runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h",
		"--examples", "Invocation › DynamoDB items PutItem", "--percentile", "100")
	if code != 0 || errOut != "" {
		t.Fatalf("--examples: exit %d, stderr %q\n%s", code, errOut, text)
	}
	for _, e := range ex.Traces {
		if e.Seconds < ex.Min || e.Seconds > ex.Max || !strings.Contains(text, e.TraceID+"\t") {
			t.Errorf("example %+v (band %v–%v) not listed in:\n%s", e, ex.Min, ex.Max, text)
		}
	}
	// Cold starts only: the slowest bucket of their Initialization.
	code, out, errOut = runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h",
		"--examples", "Initialization", "--percentile", "100", "--class", "cold", "--json")
	var cold struct {
		BandCount int64 `json:"band_count"`
		Traces    []struct{ Class string }
	}
	if err := json.Unmarshal([]byte(out), &cold); code != 0 || err != nil || len(cold.Traces) == 0 || int64(len(cold.Traces)) != cold.BandCount {
		t.Fatalf("--class cold: exit %d, stderr %q, %v %+v\n%s", code, errOut, err, cold, out)
	}
	for _, e := range cold.Traces {
		if e.Class != "cold" {
			t.Errorf("--class cold: a %q invocation", e.Class)
		}
	}
	if code, _, errOut := runCLI("profile", "--endpoint", endpoint, "--service", "xraystarter-go", "--since", "1h", "--examples", "i"); code != 2 || !strings.Contains(errOut, "names") {
		t.Errorf("ambiguous --examples: exit %d, stderr %q", code, errOut)
	}

	if code, _, errOut := runCLI("profile", "--endpoint", endpoint); code != 2 || !strings.Contains(errOut, "--service is required") {
		t.Errorf("without --service: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI("profile", "--endpoint", endpoint, "--service", "x", "--class", "tepid"); code != 2 || !strings.Contains(errOut, "cold or warm") {
		t.Errorf("bad --class: exit %d, stderr %q", code, errOut)
	}
}

// checkEmulatorProfile breaks down the local Lambda's first (cold)
// invocation as the summarizer would: Lambda's phases, the DynamoDB call,
// self times within each part's time.
func checkEmulatorProfile(t *testing.T, id xrayid.TraceID, segs []segment.Segment) {
	t.Helper()
	var docs []summary.Doc
	for i := range segs {
		if segs[i].TraceID == id {
			docs = append(docs, summary.Doc{Seg: &segs[i], Received: int64(i)})
		}
	}
	var b summary.Builder
	b.Build(id, docs, 0)
	invs := profile.Invocations(b.Tree(nil))
	if len(invs) != 1 || invs[0].Service != demoFunction || invs[0].Class != profile.ClassCold {
		t.Fatalf("invocations of the emulator's trace: %+v", invs)
	}
	have := map[string]profile.Part{}
	for _, p := range invs[0].Parts {
		_, path, _ := profile.ParseKey("-" + p.Key)
		have[path[len(path)-1]] = p
		if !(p.Self >= 0 && p.Self <= p.Total) {
			t.Errorf("part %q: self %v of %v", p.Key, p.Self, p.Total)
		}
	}
	for _, want := range []string{"Dwell Time", "Attempt #1", "AWS::Lambda::Function", "Initialization", "Invocation", "DynamoDB " + demoTable + " PutItem", "Overhead"} {
		if _, ok := have[want]; !ok {
			t.Errorf("no %q part in the emulator's invocation: %v", want, have)
		}
	}
}
