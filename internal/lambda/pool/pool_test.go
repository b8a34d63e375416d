package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/logs"
)

// The test binary doubles as a function: with COUNTERSPY_TEST_RUNTIME set
// it runs a minimal Runtime API client (stdlib only), driven by the event.
func TestMain(m *testing.M) {
	if os.Getenv("COUNTERSPY_TEST_RUNTIME") != "" {
		testRuntime()
		return
	}
	goleak.VerifyTestMain(m)
}

type testEvent struct {
	Print   string `json:"print"`
	SleepMs int    `json:"sleep_ms"`
	Fail    string `json:"fail"`
	Exit    bool   `json:"exit"`
	Echo    string `json:"echo"`
}

func testRuntime() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/"
	fmt.Println("init line from", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	if mode := os.Getenv("TEST_INIT"); mode == "exit" {
		fmt.Fprintln(os.Stderr, "init failed: missing config")
		os.Exit(3)
	} else if mode == "error" {
		body := `{"errorMessage":"Unable to import module 'app': No module named 'x'","errorType":"Runtime.ImportModuleError"}`
		http.Post(api+"init/error", "application/json", strings.NewReader(body))
		select {}
	}
	for {
		resp, err := http.Get(api + "invocation/next")
		if err != nil {
			os.Exit(1)
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev testEvent
		json.Unmarshal(payload, &ev)
		if ev.Print != "" {
			fmt.Println(ev.Print)
			fmt.Fprintln(os.Stderr, "err:"+ev.Print)
		}
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
		if ev.Exit {
			os.Exit(2)
		}
		if ev.Fail != "" {
			body := fmt.Sprintf(`{"errorMessage":%q,"errorType":"Error"}`, ev.Fail)
			r, _ := http.Post(api+"invocation/"+id+"/error", "application/json", strings.NewReader(body))
			r.Body.Close()
			continue
		}
		out := fmt.Sprintf(`{"echo":%q,"trace":%q}`, ev.Echo, resp.Header.Get("Lambda-Runtime-Trace-Id"))
		r, _ := http.Post(api+"invocation/"+id+"/response", "application/json", bytes.NewBufferString(out))
		r.Body.Close()
	}
}

type harness struct {
	t    *testing.T
	pool *Pool
	mem  *lambdalog.Memory
	w    *lambdalog.Writer
}

func newHarness(t *testing.T, edit func(*Function)) *harness {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mem := lambdalog.NewMemory()
	w := lambdalog.NewWriter(mem, lambdalog.WriterOptions{FlushInterval: 5 * time.Millisecond})
	fn := Function{Name: "fn", ARN: "arn:aws:lambda:us-east-1:123456789012:function:fn", AccountID: "123456789012",
		Region: "us-east-1", Command: []string{exe}, Dir: t.TempDir(), Env: map[string]string{"COUNTERSPY_TEST_RUNTIME": "1"},
		Timeout: 20 * time.Second, ShutdownGrace: 100 * time.Millisecond}
	if edit != nil {
		edit(&fn)
	}
	h := &harness{t: t, pool: New(fn, Options{Logs: w, Env: []string{"PATH=" + os.Getenv("PATH")}}), mem: mem, w: w}
	t.Cleanup(func() {
		if err := h.pool.Close(10 * time.Second); err != nil {
			t.Error(err)
		}
		w.Close(context.Background())
	})
	return h
}

var reqN struct {
	sync.Mutex
	n int
}

func newID() string {
	reqN.Lock()
	defer reqN.Unlock()
	reqN.n++
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", reqN.n)
}

// invoke runs one invocation and waits for its Execution.
func (h *harness) invoke(payload string, edit func(*Request)) (*Response, *Execution) {
	h.t.Helper()
	done := make(chan *Execution, 1)
	req := &Request{RequestID: newID(), Payload: []byte(payload), TraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		TraceID: "1-5759e988-bd862e3fe1be46a994272793", SegmentID: "53995c3f42cd8ad8", Sampled: true,
		Finished: func(e *Execution) { done <- e }}
	if edit != nil {
		edit(req)
	}
	resp, err := h.pool.Invoke(nil, req)
	if err != nil {
		h.t.Fatal(err)
	}
	select {
	case ex := <-done:
		return resp, ex
	case <-time.After(30 * time.Second):
		h.t.Fatal("invocation did not finish")
	}
	return nil, nil
}

// lines returns the messages of one request's records, after REPORT is in.
func (h *harness) lines(requestID string) []string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := h.mem.Wait(ctx, func(r logs.Record) bool { return r.RequestID == requestID }, func(rs []logs.Record) bool {
		for _, r := range rs {
			if strings.HasPrefix(r.Message, "XRAY ") {
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("logs of %s: %v (have %v)", requestID, err, recs)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Message)
	}
	return out
}

func TestColdThenWarm(t *testing.T) {
	h := newHarness(t, nil)
	resp, ex := h.invoke(`{"echo":"a","print":"hello"}`, nil)
	if resp.Err != nil || !strings.Contains(string(resp.Payload), `"echo":"a"`) {
		t.Fatalf("response %s err %v", resp.Payload, resp.Err)
	}
	if !strings.Contains(string(resp.Payload), "Parent=53995c3f42cd8ad8") {
		t.Errorf("runtime did not get the trace header: %s", resp.Payload)
	}
	if !ex.Cold || ex.InitEnd.Before(ex.InitStart) || ex.InitStart.IsZero() {
		t.Errorf("first call: cold %v init %v..%v", ex.Cold, ex.InitStart, ex.InitEnd)
	}
	if ex.OverheadEnd.Before(ex.End) || ex.End.Before(ex.Start) || ex.Start.Before(ex.InitEnd) {
		t.Errorf("timeline out of order: %+v", ex)
	}
	lines := h.lines(ex.RequestID)
	want := []string{"START RequestId: " + ex.RequestID + " Version: $LATEST", "hello", "err:hello", "END RequestId: " + ex.RequestID}
	for _, w := range want {
		if !contains(lines, w) {
			t.Errorf("missing line %q in %q", w, lines)
		}
	}
	report := find(lines, "REPORT ")
	if !strings.Contains(report, "Init Duration: "+lambdalog.Millis(ex.InitEnd.Sub(ex.InitStart))+" ms") {
		t.Errorf("REPORT %q lacks the init duration %v", report, ex.InitEnd.Sub(ex.InitStart))
	}
	if !strings.Contains(report, "Memory Size: 128 MB") || strings.Contains(report, "Max Memory Used: 0 MB") {
		t.Errorf("REPORT %q", report)
	}
	// Init output belongs to no request.
	initRecs := h.mem.Records(func(r logs.Record) bool { return strings.HasPrefix(r.Message, "init line from fn") })
	if len(initRecs) != 1 || initRecs[0].RequestID != "" {
		t.Errorf("init line records: %+v", initRecs)
	}

	_, ex2 := h.invoke(`{"echo":"b"}`, nil)
	if ex2.Cold {
		t.Error("second call was a cold start")
	}
	if r := find(h.lines(ex2.RequestID), "REPORT "); strings.Contains(r, "Init Duration") {
		t.Errorf("warm REPORT has an init duration: %q", r)
	}
	if total, idle := h.pool.Instances(); total != 1 || idle != 1 {
		t.Errorf("instances %d idle %d, want 1 1", total, idle)
	}
}

func TestFunctionErrorKeepsInstance(t *testing.T) {
	h := newHarness(t, nil)
	resp, ex := h.invoke(`{"fail":"boom"}`, nil)
	if resp.Outcome != FunctionError || resp.Err.Type != "Error" || resp.Err.Message != "boom" {
		t.Fatalf("outcome %v err %+v", resp.Outcome, resp.Err)
	}
	if ex.OverheadEnd.IsZero() {
		t.Error("no overhead after a function error")
	}
	_, ex2 := h.invoke(`{}`, nil)
	if ex2.Cold {
		t.Error("a function error discarded the instance")
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, func(f *Function) { f.Timeout = 300 * time.Millisecond })
	resp, ex := h.invoke(`{"sleep_ms":20000,"print":"sleeping"}`, nil)
	if resp.Outcome != TimedOut || resp.Err.Type != "Sandbox.Timedout" {
		t.Fatalf("outcome %v err %+v", resp.Outcome, resp.Err)
	}
	if !strings.Contains(resp.Err.Message, "Task timed out after 0.30 seconds") {
		t.Errorf("message %q", resp.Err.Message)
	}
	lines := h.lines(ex.RequestID)
	if l := find(lines, "Task timed out"); !strings.HasSuffix(l, ex.RequestID+" Task timed out after 0.30 seconds") {
		t.Errorf("timeout line %q", l)
	}
	if r := find(lines, "REPORT "); !strings.Contains(r, "Status: timeout") {
		t.Errorf("REPORT %q", r)
	}
	_, ex2 := h.invoke(`{}`, nil)
	if !ex2.Cold {
		t.Error("the instance survived its timeout")
	}
}

func TestCrash(t *testing.T) {
	h := newHarness(t, nil)
	resp, ex := h.invoke(`{"exit":true}`, nil)
	if resp.Outcome != Crashed || resp.Err.Type != "Runtime.ExitError" || !strings.Contains(resp.Err.Message, "exit status 2") {
		t.Fatalf("outcome %v err %+v", resp.Outcome, resp.Err)
	}
	if r := find(h.lines(ex.RequestID), "REPORT "); !strings.Contains(r, "Status: error\tError Type: Runtime.ExitError") {
		t.Errorf("REPORT %q", r)
	}
}

func TestInitFailures(t *testing.T) {
	f := func(mode, wantType, wantLine string) {
		t.Helper()
		h := newHarness(t, func(f *Function) { f.Env["TEST_INIT"] = mode })
		resp, ex := h.invoke(`{}`, nil)
		if resp.Outcome != InitFailed || resp.Err.Type != wantType || ex.Outcome != InitFailed {
			t.Fatalf("%s: outcome %v err %+v", mode, resp.Outcome, resp.Err)
		}
		if ex.Delivered || ex.InitEnd.Before(ex.InitStart) {
			t.Errorf("%s: execution %+v", mode, ex)
		}
		h.lines(ex.RequestID)
		all := h.mem.Records(nil)
		var msgs []string
		for _, r := range all {
			msgs = append(msgs, r.Message)
		}
		if l := find(msgs, "INIT_REPORT"); !strings.Contains(l, "Phase: init\tStatus: error\tError Type: "+wantType) {
			t.Errorf("%s: INIT_REPORT %q in %q", mode, l, msgs)
		}
		if !contains(msgs, wantLine) {
			t.Errorf("%s: no line %q in %q", mode, wantLine, msgs)
		}
		if r := find(h.lines(ex.RequestID), "REPORT "); !strings.Contains(r, "Error Type: "+wantType) {
			t.Errorf("%s: REPORT %q", mode, r)
		}
		if total, _ := h.pool.Instances(); total != 0 {
			t.Errorf("%s: %d instances left", mode, total)
		}
	}
	f("exit", "Runtime.ExitError", "init failed: missing config")
	f("error", "Runtime.ImportModuleError", "init line from fn")
}

func TestConcurrencyAndIdle(t *testing.T) {
	h := newHarness(t, func(f *Function) { f.IdleTimeout = 200 * time.Millisecond; f.Concurrency = 2 })
	var wg sync.WaitGroup
	exs := make([]*Execution, 2)
	for i := range exs {
		wg.Go(func() { _, exs[i] = h.invoke(`{"sleep_ms":300}`, nil) })
	}
	wg.Wait()
	if !exs[0].Cold || !exs[1].Cold {
		t.Errorf("two concurrent calls: cold %v %v, want two cold starts", exs[0].Cold, exs[1].Cold)
	}
	// A third concurrent call beyond the concurrency is throttled.
	for range 2 {
		wg.Go(func() { h.invoke(`{"sleep_ms":3000}`, nil) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if len(h.pool.slots) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := h.pool.Invoke(nil, &Request{RequestID: newID(), Payload: []byte(`{}`)}); err != ErrTooManyRequests {
		t.Errorf("third call: %v, want ErrTooManyRequests", err)
	}
	wg.Wait()
	// Idle instances go away.
	for time.Now().Before(deadline.Add(10 * time.Second)) {
		if total, _ := h.pool.Instances(); total == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	total, idle := h.pool.Instances()
	t.Errorf("idle instances not shut down: %d (%d idle)", total, idle)
}

func TestTail(t *testing.T) {
	h := newHarness(t, nil)
	resp, _ := h.invoke(`{"print":"tail me"}`, func(r *Request) { r.Tail = true })
	tail := string(resp.LogTail)
	for _, w := range []string{"INIT_START", "START RequestId", "tail me", "REPORT RequestId", "XRAY TraceId"} {
		if !strings.Contains(tail, w) {
			t.Errorf("tail lacks %q:\n%s", w, tail)
		}
	}
}

func contains(lines []string, s string) bool { return find(lines, s) != "" }

func find(lines []string, prefix string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) || strings.Contains(l, prefix) {
			return l
		}
	}
	return ""
}
