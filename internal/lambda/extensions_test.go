package lambda_test

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/lambda/pool"
)

type extRecord struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

type telEvent struct {
	Time   string          `json:"time"`
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// TestExtensionAndTelemetry runs a real external extension (testdata/extfn
// in the function's extensions/ directory): it registers, subscribes to the
// Telemetry API, gets INVOKE for every call and SHUTDOWN at the end, and
// its post-invoke work is part of the invocation (Overhead).
func TestExtensionAndTelemetry(t *testing.T) {
	fn := buildFunction(t, "xrayfn")
	ext := buildFunction(t, "extfn")
	dir := t.TempDir()
	copyFile(t, fn, filepath.Join(dir, "bootstrap"))
	os.Mkdir(filepath.Join(dir, "extensions"), 0o755)
	copyFile(t, ext, filepath.Join(dir, "extensions", "extfn"))
	recPath := filepath.Join(t.TempDir(), "record.jsonl")

	var mu sync.Mutex
	executions := map[string]*pool.Execution{}
	mem := lambdalog.NewMemory()
	e, err := lambda.Start(context.Background(), lambda.Config{Logs: mem,
		Observe: func(_ string, ex *pool.Execution) { mu.Lock(); executions[ex.RequestID] = ex; mu.Unlock() },
		Functions: []lambda.FunctionConfig{{Name: "ext-test", Command: []string{"bootstrap"}, Dir: dir, Timeout: lambda.Duration(time.Second),
			Environment: map[string]string{"EXT_RECORD": recPath, "EXT_POST_MS": "60"}}}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		srv.Close()
		if !closed {
			e.Close(context.Background())
		}
	})
	c := lambdaClient(srv.URL)
	var ids []string
	for _, name := range []string{"cold", "warm"} {
		out, id := invokeSDK(t, c, "ext-test", types.InvocationTypeRequestResponse, `{"name":"`+name+`"}`)
		if out.FunctionError != nil {
			t.Fatalf("invoke: %s", out.Payload)
		}
		ids = append(ids, id)
		waitFor(t, "the invocation's end", func() bool { mu.Lock(); defer mu.Unlock(); return executions[id] != nil })
	}
	// A call that times out ends its instance: SHUTDOWN with reason timeout.
	out, timedOut := invokeSDK(t, c, "ext-test", types.InvocationTypeRequestResponse, `{"name":"slow","sleep_ms":2500}`)
	if !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") {
		t.Fatalf("slow call: %s", out.Payload)
	}
	waitFor(t, "the timed-out invocation's end", func() bool { mu.Lock(); defer mu.Unlock(); return executions[timedOut] != nil })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closed = true
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The extension's work after each INVOKE (60 ms) is part of the
	// invocation: Overhead ends when it asked for its next event.
	for i, id := range ids {
		ex := executions[id]
		if ex.OverheadEnd.Sub(ex.Begin) < 60*time.Millisecond || (i == 0) != ex.Cold {
			t.Errorf("invocation %d: begin %v overhead end %v cold %v", i, ex.Begin, ex.OverheadEnd, ex.Cold)
		}
	}

	f, err := os.Open(recPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []extRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r extRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	var events []map[string]any
	var tel []telEvent
	for _, r := range recs {
		switch r.Kind {
		case "register":
			var reg struct {
				Status int
				ID     string
				Body   map[string]string
			}
			json.Unmarshal(r.Data, &reg)
			if reg.Status != 200 || reg.ID == "" || reg.Body["functionName"] != "ext-test" || reg.Body["functionVersion"] != "$LATEST" ||
				reg.Body["handler"] != "bootstrap" {
				t.Errorf("register: %s", r.Data)
			}
		case "subscribe":
			if !strings.Contains(string(r.Data), `"status":200`) {
				t.Errorf("subscribe: %s", r.Data)
			}
		case "event":
			var ev map[string]any
			json.Unmarshal(r.Data, &ev)
			events = append(events, ev)
		case "telemetry":
			var ev telEvent
			json.Unmarshal(r.Data, &ev)
			tel = append(tel, ev)
		default:
			t.Errorf("extension recorded %s: %s", r.Kind, r.Data)
		}
	}

	// Extensions API events: INVOKE, INVOKE, INVOKE, SHUTDOWN (timeout).
	if len(events) != 4 {
		t.Fatalf("events: %v", events)
	}
	for i, id := range ids {
		ev := events[i]
		tr, _ := ev["tracing"].(map[string]any)
		v, _ := tr["value"].(string)
		if ev["eventType"] != "INVOKE" || ev["requestId"] != id || ev["invokedFunctionArn"] != e.ARN("ext-test") ||
			ev["deadlineMs"].(float64) < float64(time.Now().Add(-time.Minute).UnixMilli()) || tr["type"] != "X-Amzn-Trace-Id" ||
			!strings.HasPrefix(v, "Root=1-") || !strings.Contains(v, "Sampled=1") || ev["eventIdentifier"] == "" {
			t.Errorf("event %d: %v", i, ev)
		}
	}
	if events[2]["eventType"] != "INVOKE" || events[2]["requestId"] != timedOut {
		t.Errorf("third event: %v", events[2])
	}
	if events[3]["eventType"] != "SHUTDOWN" || events[3]["shutdownReason"] != "timeout" {
		t.Errorf("last event: %v", events[3])
	}

	// Telemetry: the platform events in order, with their fields; the
	// function's and the extension's lines.
	var seq []string
	byKey := map[string]map[string]any{}
	var functionLines, extensionLines []string
	for _, ev := range tel {
		switch ev.Type {
		case "function":
			var s string
			json.Unmarshal(ev.Record, &s)
			functionLines = append(functionLines, s)
			continue
		case "extension":
			var s string
			json.Unmarshal(ev.Record, &s)
			extensionLines = append(extensionLines, s)
			continue
		}
		var rec map[string]any
		json.Unmarshal(ev.Record, &rec)
		key := ev.Type
		if id, ok := rec["requestId"].(string); ok {
			key += ":" + id
		}
		seq = append(seq, key)
		byKey[key] = rec
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", ev.Time); err != nil {
			t.Errorf("%s: time %q", key, ev.Time)
		}
	}
	want := []string{"platform.initStart", "platform.extension", "platform.telemetrySubscription", "platform.initRuntimeDone", "platform.initReport",
		"platform.start:" + ids[0], "platform.runtimeDone:" + ids[0], "platform.report:" + ids[0],
		"platform.start:" + ids[1], "platform.runtimeDone:" + ids[1], "platform.report:" + ids[1],
		"platform.start:" + timedOut, "platform.runtimeDone:" + timedOut, "platform.report:" + timedOut}
	if strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Errorf("platform events:\n got %v\nwant %v", seq, want)
	}
	if r := byKey["platform.initStart"]; r["initializationType"] != "on-demand" || r["phase"] != "init" || r["runtimeVersion"] != "provided.al2023" {
		t.Errorf("initStart: %v", r)
	}
	if r := byKey["platform.extension"]; r["name"] != "extfn" || r["state"] != "Ready" {
		t.Errorf("platform.extension: %v", r)
	}
	if r := byKey["platform.initReport"]; r["metrics"].(map[string]any)["durationMs"].(float64) <= 0 {
		t.Errorf("initReport: %v", r)
	}
	for i, id := range ids {
		rd := byKey["platform.runtimeDone:"+id]
		m, _ := rd["metrics"].(map[string]any)
		spans, _ := rd["spans"].([]any)
		if rd["status"] != "success" || m["durationMs"] == nil || m["producedBytes"].(float64) < 10 || len(spans) != 2 ||
			spans[0].(map[string]any)["name"] != "responseLatency" || rd["tracing"] == nil {
			t.Errorf("runtimeDone %d: %v", i, rd)
		} else if lat, dur := spans[0].(map[string]any)["durationMs"].(float64), spans[1].(map[string]any)["durationMs"].(float64); math.Abs(lat+dur-m["durationMs"].(float64)) > 0.021 { // each rounded to 0.01 ms
			// Latency to the first byte of the answer plus its transfer is the run.
			t.Errorf("runtimeDone %d: spans %v + %v ≠ durationMs %v", i, lat, dur, m["durationMs"])
		}
		rep := byKey["platform.report:"+id]
		rm, _ := rep["metrics"].(map[string]any)
		initMs, hasInit := rm["initDurationMs"].(float64)
		dur, _ := rm["durationMs"].(float64)
		billed, _ := rm["billedDurationMs"].(float64)
		if rep["status"] != "success" || rm["memorySizeMB"] != 128.0 || rm["maxMemoryUsedMB"].(float64) < 1 || hasInit != (i == 0) ||
			math.Abs(billed-math.Max(1, math.Ceil(dur+initMs))) > 1 {
			t.Errorf("report %d: %v", i, rep)
		}
		// The report's Duration covers the extension's post-runtime work
		// (billed), the runtimeDone's the runtime's alone; the REPORT line
		// says the same as platform.report.
		if runtimeMs := m["durationMs"].(float64); dur < runtimeMs {
			t.Errorf("report %d: durationMs %v < runtimeDone's %v", i, dur, runtimeMs)
		}
		var reportLine string
		for _, r := range mem.Records(nil) {
			if strings.HasPrefix(r.Message, "REPORT RequestId: "+id+"\t") {
				reportLine = r.Message
			}
		}
		if want := "Duration: " + strconv.FormatFloat(dur, 'f', 2, 64) + " ms\t"; !strings.Contains(reportLine, want) {
			t.Errorf("REPORT line %q lacks %q", reportLine, want)
		}
		if !containsPrefix(functionLines, "handling "+id) {
			t.Errorf("no function line for %s in %q", id, functionLines)
		}
		if !containsPrefix(extensionLines, "ext: got INVOKE "+id) {
			t.Errorf("no extension line for %s in %q", id, extensionLines)
		}
	}
	if rd, rep := byKey["platform.runtimeDone:"+timedOut], byKey["platform.report:"+timedOut]; rd["status"] != "timeout" || rep["status"] != "timeout" {
		t.Errorf("timed-out call: runtimeDone %v report %v", rd, rep)
	}
	// The extension's lines are in the function's log too, as on Lambda.
	found := false
	for _, r := range mem.Records(nil) {
		if r.Function == "ext-test" && strings.HasPrefix(r.Message, "ext: got INVOKE "+ids[0]) {
			found = true
		}
	}
	if !found {
		t.Error("the extension's output is not in the function's log")
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestExtensionInitError: an extension that reports an init error fails
// the environment's init with its error type, as Lambda reports it.
func TestExtensionInitError(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, buildFunction(t, "xrayfn"), filepath.Join(dir, "bootstrap"))
	os.Mkdir(filepath.Join(dir, "extensions"), 0o755)
	copyFile(t, buildFunction(t, "extfn"), filepath.Join(dir, "extensions", "extfn"))
	e, mem, url := startEmulator(t, lambda.Config{Functions: []lambda.FunctionConfig{{Name: "ext-broken", Command: []string{"bootstrap"}, Dir: dir,
		Environment: map[string]string{"EXT_RECORD": filepath.Join(t.TempDir(), "rec"), "EXT_INIT_ERROR": "Extension.ConfigInvalid"}}}})
	out, id := invokeSDK(t, lambdaClient(url), "ext-broken", types.InvocationTypeRequestResponse, `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Extension.ConfigInvalid"`) {
		t.Fatalf("invoke: %v %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if err := e.FlushLogs(context.Background()); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range mem.Records(nil) {
		if strings.HasPrefix(r.Message, "INIT_REPORT Init Duration: ") && strings.HasSuffix(r.Message, "\tPhase: init\tStatus: error\tError Type: Extension.ConfigInvalid") {
			found = true
		}
	}
	if !found {
		t.Errorf("no INIT_REPORT with the extension's error type for %s in %+v", id, mem.Records(nil))
	}
}
