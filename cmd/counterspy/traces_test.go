package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/render"
)

func TestTracesCommandBadFilter(t *testing.T) {
	endpoint := startQueryServer(t)
	code, out, errOut := runCLI("traces", "--endpoint", endpoint, "--filter", "responsetime > abc")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	// The server's message, as it is.
	if want := "counterspy traces: filter expression: column 16: expected a number"; !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", errOut, want)
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
}

// summariesStub is an X-Ray API that serves GetTraceSummaries from fixed
// pages and records the requests.
type summariesStub struct {
	pages [][]string // JSON TraceSummary objects per page
	mu    sync.Mutex
	reqs  []map[string]any
}

func (s *summariesStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/TraceSummaries" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var in map[string]any
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, in)
	s.mu.Unlock()
	page := 0
	if tok, ok := in["NextToken"].(string); ok {
		fmt.Sscanf(tok, "page-%d", &page)
	}
	out := fmt.Sprintf(`{"TraceSummaries":[%s],"ApproximateTime":1767225600,"TracesProcessedCount":%d`,
		strings.Join(s.pages[page], ","), len(s.pages[page]))
	if page+1 < len(s.pages) {
		out += fmt.Sprintf(`,"NextToken":"page-%d"`, page+1)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, out+"}")
}

func (s *summariesStub) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func stubSummary(n int, extra string) string {
	return fmt.Sprintf(`{"Id":"1-6955b900-%024x","StartTime":%d.25,"Duration":0.5,"ResponseTime":0.25,`+
		`"HasFault":false,"HasError":false,"HasThrottle":false,"IsPartial":false,`+
		`"EntryPoint":{"Name":"svc-%d","Names":["svc-%d"],"Type":"AWS::Lambda"},"Revision":1%s}`,
		n, 1767225600-n, n, n, extra)
}

func TestTracesCommandPagesToTheLimit(t *testing.T) {
	stub := &summariesStub{pages: [][]string{
		{stubSummary(1, `,"HasFault":true,"Http":{"HttpMethod":"GET","HttpURL":"https://x.example/a","HttpStatus":502}`),
			stubSummary(2, `,"Annotations":{"tier":[{"AnnotationValue":{"StringValue":"gold"},"ServiceIds":[]}],`+
				`"n":[{"AnnotationValue":{"NumberValue":42.5}},{"AnnotationValue":{"NumberValue":7}}]}`)},
		{}, // X-Ray may return an empty page with a token: keep going
		{stubSummary(3, ""), stubSummary(4, "")},
		{stubSummary(5, "")},
	}}
	srv := httptest.NewServer(stub)
	defer srv.Close()

	code, out, errOut := runCLI("traces", "--endpoint", srv.URL, "--limit", "3", "--filter", `service("svc-1")`,
		"--start", "2026-01-01T00:00:00Z", "--end", "2026-01-01T01:00:00Z", "--time-range-type", "event", "--color", "never", "--width", "200")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	reqs := stub.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (the limit is reached on the third page): %v", len(reqs), reqs)
	}
	first := reqs[0]
	if first["StartTime"] != float64(1767225600) || first["EndTime"] != float64(1767229200) ||
		first["TimeRangeType"] != "Event" || first["FilterExpression"] != `service("svc-1")` || first["NextToken"] != nil {
		t.Errorf("first request %v", first)
	}
	if reqs[1]["NextToken"] != "page-1" || reqs[2]["NextToken"] != "page-2" {
		t.Errorf("tokens not followed: %v", reqs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TRACE ID") {
		t.Fatalf("want a header and 3 rows:\n%s", out)
	}
	for i, want := range []string{
		"1-6955b900-000000000000000000000001",
		"1-6955b900-000000000000000000000002",
		"1-6955b900-000000000000000000000003",
	} {
		if !strings.HasPrefix(lines[i+1], want+"  ") {
			t.Errorf("row %d: %q, want trace %s (the API's order)", i+1, lines[i+1], want)
		}
	}
	for _, s := range []string{"FAULT 502", "svc-1 (Lambda)", "GET https://x.example/a 502", "n=42.5,7 tier=gold", "250ms", "500ms"} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in\n%s", s, out)
		}
	}
	if want := "counterspy traces: showing the 3 most recent traces; --limit shows more\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}

	// --json: the summaries as the server sent them, one per line.
	code, out, errOut = runCLI("traces", "--endpoint", srv.URL, "--json", "--limit", "0")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("--json --limit 0: %d lines, want all 5:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var got, want any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		json.Unmarshal([]byte(slices.Concat(stub.pages...)[i]), &want)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
	if errOut != "" {
		t.Errorf("--json --limit 0: stderr %q", errOut)
	}
}

func TestTracesCommandInvalidRequest(t *testing.T) {
	// The envelope internal/api writes for a client error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "InvalidRequestException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"InvalidRequestException","message":"filter expression: column 17: expected a number after \"responsetime >\", found \"abc\""}`)
	}))
	defer srv.Close()
	code, _, errOut := runCLI("traces", "--endpoint", srv.URL, "--filter", "responsetime > abc")
	want := `counterspy traces: filter expression: column 17: expected a number after "responsetime >", found "abc"` + "\n"
	if code != 2 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}

func TestTracesCommandOtherErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "UnknownOperationException")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"__type":"UnknownOperationException","message":"unknown operation POST /TraceSummaries"}`)
	}))
	defer srv.Close()
	code, _, errOut := runCLI("traces", "--endpoint", srv.URL)
	want := "counterspy traces: GetTraceSummaries on " + srv.URL + ": UnknownOperationException: unknown operation POST /TraceSummaries\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}

	addr := srv.Listener.Addr().String()
	srv.Close() // nothing listens there now
	code, _, errOut = runCLI("traces", "--endpoint", addr)
	if want := "is counterspy serve running on " + addr + "?"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("refused: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

func TestTracesCommandUsage(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		code, _, errOut := runCLI(append([]string{"traces", "--endpoint", "127.0.0.1:1"}, args...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
	f("--since and --start both set", "--since", "2h", "--start", "2026-01-01T00:00:00Z")
	f("--since -1h0m0s: want a positive duration", "--since", "-1h")
	f("--start: parsing time", "--start", "yesterday")
	f("--end: parsing time", "--end", "2026-01-01")
	f("the window ends", "--start", "2026-01-01T02:00:00Z", "--end", "2026-01-01T01:00:00Z")
	f(`--time-range-type "Start": want TraceId, Event, Service`, "--time-range-type", "Start")
	f("--limit -1", "--limit", "-1")
	f(`unexpected argument "extra"`, "extra")
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 300e6, time.UTC)
	f := func(start, end string, since time.Duration, sinceSet bool, wantFrom, wantTo string) {
		t.Helper()
		from, to, err := window(now, start, end, since, sinceSet)
		if err != nil {
			t.Fatalf("%q %q %v: %v", start, end, since, err)
		}
		if got := from.UTC().Format(time.RFC3339Nano) + " " + to.UTC().Format(time.RFC3339Nano); got != wantFrom+" "+wantTo {
			t.Errorf("%q %q %v: %s, want %s %s", start, end, since, got, wantFrom, wantTo)
		}
	}
	// The default end is the next whole second: this second's traces count.
	f("", "", time.Hour, false, "2026-01-01T11:00:01Z", "2026-01-01T12:00:01Z")
	f("", "2026-01-01T10:00:00Z", 30*time.Minute, true, "2026-01-01T09:30:00Z", "2026-01-01T10:00:00Z")
	f("2026-01-01T08:00:00Z", "", time.Hour, false, "2026-01-01T08:00:00Z", "2026-01-01T12:00:01Z")
	f("2026-01-01T08:00:00+02:00", "2026-01-01T09:00:00.5Z", time.Hour, false, "2026-01-01T06:00:00Z", "2026-01-01T09:00:00.5Z")
}

func TestSummaryRow(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 52e6, time.UTC)
	got := summaryRow(types.TraceSummary{
		Id: aws.String("1-6955b900-22fbd2e55981cd6cd7bbf2d3"), StartTime: &start,
		Duration: aws.Float64(0.253), ResponseTime: aws.Float64(0.25),
		HasError: aws.Bool(true), HasThrottle: aws.Bool(true),
		EntryPoint: &types.ServiceId{Name: aws.String("xraystarter-go"), Type: aws.String("AWS::Lambda")},
		Http:       &types.Http{HttpMethod: aws.String("POST"), HttpURL: aws.String("https://x/y"), HttpStatus: aws.Int32(429)},
		Annotations: map[string][]types.ValueWithServiceIds{
			"z": {{AnnotationValue: &types.AnnotationValueMemberBooleanValue{Value: true}}},
			"a": {
				{AnnotationValue: &types.AnnotationValueMemberNumberValue{Value: 1e21}},
				{AnnotationValue: &types.AnnotationValueMemberStringValue{Value: "x"}},
				{AnnotationValue: &types.AnnotationValueMemberStringValue{Value: "x"}},
			},
		},
	})
	want := render.Summary{
		ID: "1-6955b900-22fbd2e55981cd6cd7bbf2d3", Start: start, Duration: 0.253, ResponseTime: 0.25,
		HasError: true, HasThrottle: true, EntryName: "xraystarter-go", EntryType: "AWS::Lambda",
		HTTPMethod: "POST", HTTPURL: "https://x/y", HTTPStatus: 429,
		Annotations: []render.Annotation{{Key: "a", Values: []string{"1000000000000000000000", "x"}}, {Key: "z", Values: []string{"true"}}},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	// Root causes below the entry point: the service with the exception,
	// else the deepest.
	got = summaryRow(types.TraceSummary{
		Id: aws.String("1-6955b900-22fbd2e55981cd6cd7bbf2d3"),
		FaultRootCauses: []types.FaultRootCause{{Services: []types.FaultRootCauseService{
			{Name: aws.String("xraystarter-py"), EntityPath: []types.FaultRootCauseEntity{{Name: aws.String("xraystarter-py")}}},
			{Name: aws.String("xraystarter-py-fn"), EntityPath: []types.FaultRootCauseEntity{{Exceptions: []types.RootCauseException{{Name: aws.String("Runtime.ImportModuleError")}}}}},
			{Name: aws.String("after")},
		}}},
		ErrorRootCauses: []types.ErrorRootCause{{Services: []types.ErrorRootCauseService{{Name: aws.String("api")}, {Name: aws.String("db")}}}},
	})
	if got.FaultIn != "xraystarter-py-fn" || got.ErrorIn != "db" {
		t.Errorf("root causes: FaultIn %q, ErrorIn %q; want xraystarter-py-fn and db", got.FaultIn, got.ErrorIn)
	}

	// Missing members: start from the trace ID, response time unknown.
	got = summaryRow(types.TraceSummary{Id: aws.String("1-6955b900-22fbd2e55981cd6cd7bbf2d3")})
	if !got.Start.Equal(time.Unix(0x6955b900, 0)) || got.ResponseTime >= 0 {
		t.Errorf("sparse summary: %+v", got)
	}
}

func TestTracesCommandListsStoredTraces(t *testing.T) {
	endpoint := startQueryServer(t)
	// The three traces of one seed-scenario upload (one per function),
	// started a minute ago.
	ids := putScenarioTraces(t, endpoint, "seed", 0, 3, time.Now().Add(-time.Minute))

	code, out, errOut := runCLI("traces", "--endpoint", endpoint, "--since", "10m", "--color", "never", "--width", "250")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, id := range ids {
		if !strings.Contains(out, "\n"+id+"  ") {
			t.Errorf("trace %s not listed:\n%s", id, out)
		}
	}
	for _, s := range []string{"(Lambda)", " OK ", "202", "aws:responseLatency="} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in\n%s", s, out)
		}
	}

	// A filter that matches one function's traces only.
	code, out, errOut = runCLI("traces", "--endpoint", endpoint, "--since", "10m", "--json",
		"--filter", `service("xraystarter-py")`)
	if code != 0 {
		t.Fatalf("--filter: exit %d: %s", code, errOut)
	}
	var listed []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s struct{ Id string }
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		listed = append(listed, s.Id)
	}
	if len(listed) != 1 || !slices.Contains(ids, listed[0]) {
		t.Errorf("service(\"xraystarter-py\") listed %q, want one of %q", listed, ids)
	}
	// --ids prints the same trace, its ID alone, for $(...) in scripts.
	code, out, errOut = runCLI("traces", "--endpoint", endpoint, "--since", "10m", "--ids",
		"--filter", `service("xraystarter-py")`)
	if code != 0 {
		t.Fatalf("--ids: exit %d: %s", code, errOut)
	}
	if len(listed) == 1 && out != listed[0]+"\n" {
		t.Errorf("--ids printed %q, want %q", out, listed[0]+"\n")
	}
	if code, _, errOut = runCLI("traces", "--endpoint", endpoint, "--ids", "--json"); code != 2 || !strings.Contains(errOut, "choose one") {
		t.Errorf("--ids --json: exit %d, %q; want a usage error", code, errOut)
	}
}
