package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// examplesTrace stores trace i of "svc" (documents, summary and profile
// counters, as ingest does), starting at sec: a call to DynamoDB table
// "items" of dbMs milliseconds, then 10 ms of its own.
func examplesTrace(t *testing.T, s *server, i int, sec float64, dbMs int) string {
	t.Helper()
	id := fmt.Sprintf("1-%08x-%024x", int64(sec), i)
	doc := fmt.Sprintf(`{"trace_id":"$T","id":"%016x","name":"svc","start_time":%.6f,"end_time":%.6f,
	 "subsegments":[{"id":"%016x","name":"DynamoDB","namespace":"aws","start_time":%.6f,"end_time":%.6f,
	   "aws":{"table_name":"items","operation":"GetItem"}}]}`,
		2*i+1, sec, sec+float64(dbMs+10)/1000, 2*i+2, sec, sec+float64(dbMs)/1000)
	s.trace(t, id, doc)
	segs, err := segment.NewDecoder(0).Decode(nil, []byte(strings.ReplaceAll(doc, "$T", id)))
	if err != nil {
		t.Fatal(err)
	}
	var b summary.Builder
	b.Build(xrayid.MustParseTraceID(id), []summary.Doc{{Seg: &segs[0]}}, 0)
	if err := s.st.Write(context.Background(), &store.Batch{Graph: graph.Diff(nil, profile.Contributions(b.Tree(nil)))}); err != nil {
		t.Fatal(err)
	}
	return id
}

// Trace i (0…99) spends i+1 ms in DynamoDB, so which traces fall in each
// band of the histogram (graph.Bucket: 32 buckets per power of two) is
// known exactly.
func TestProfileExamples(t *testing.T) {
	s := newServer(t, api.Options{})
	const sec = 1_700_000_000
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = examplesTrace(t, s, i, float64(sec+10*i), i+1)
	}
	get := func(q url.Values) (int, api.ProfileExamples, string) {
		t.Helper()
		a := api.New(nil, s.st, api.Options{}, metrics.NewSet(), quiet)
		rec := httptest.NewRecorder()
		a.ServeProfileExamples(rec, httptest.NewRequest(http.MethodGet, api.ProfileExamplesPath+"?"+q.Encode(), nil))
		var out api.ProfileExamples
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
		}
		return rec.Code, out, rec.Body.String()
	}
	base := func(kv ...string) url.Values {
		q := url.Values{"service": {"svc"}, "part": {"DynamoDB items GetItem"}, "start": {fmt.Sprint(sec)}, "end": {fmt.Sprint(sec + 3600)}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	traceIDs := func(out api.ProfileExamples) []string {
		var got []string
		for _, e := range out.Traces {
			got = append(got, e.TraceID)
		}
		return got
	}
	for _, c := range []struct {
		pct  string
		want []int // trace indexes, newest first
		lo   float64
	}{
		// p50: the 50th time, 50 ms, is in bucket [49152, 50176) µs,
		// which holds 50 ms only.
		{"50", []int{49}, 0.049152},
		// p90: 90 ms, bucket [88064, 90112) µs: 89 and 90 ms.
		{"90", []int{89, 88}, 0.088064},
		// p99: 99 ms, bucket [98304, 100352) µs: 99 and 100 ms, which is
		// also the slowest bucket.
		{"99", []int{99, 98}, 0.098304},
		{"100", []int{99, 98}, 0.098304},
	} {
		code, out, body := get(base("percentile", c.pct))
		if code != http.StatusOK {
			t.Fatalf("p%s: status %d: %s", c.pct, code, body)
		}
		var want []string
		for _, i := range c.want {
			want = append(want, ids[i])
		}
		if got := traceIDs(out); !slices.Equal(got, want) || !out.Complete || out.Scanned != 100 {
			t.Errorf("p%s: traces %v (scanned %d, complete %v), want %v", c.pct, got, out.Scanned, out.Complete, want)
		}
		// The counters' bucket and the scan agree.
		if out.BandCount != int64(len(c.want)) || out.Min != c.lo {
			t.Errorf("p%s: band [%v, %v] holding %d, want from %v holding %d", c.pct, out.Min, out.Max, out.BandCount, c.lo, len(c.want))
		}
		if len(out.Traces) > 0 && out.Traces[0].Seconds != float64(c.want[0]+1)/1000 {
			t.Errorf("p%s: first example's time %v", c.pct, out.Traces[0].Seconds)
		}
	}

	// An explicit range, both ends included.
	code, out, body := get(base("min", "0.031", "max", "0.033"))
	if want := []string{ids[32], ids[31], ids[30]}; code != http.StatusOK || !slices.Equal(traceIDs(out), want) {
		t.Errorf("min/max: status %d, traces %v, want %v: %s", code, traceIDs(out), want, body)
	}
	// The service's own self time is 10 ms in every invocation: the limit
	// keeps the newest.
	code, out, body = get(url.Values{"service": {"svc"}, "part": {"svc"}, "time": {"self"}, "percentile": {"50"}, "limit": {"3"},
		"start": {fmt.Sprint(sec)}, "end": {fmt.Sprint(sec + 3600)}})
	if want := []string{ids[99], ids[98], ids[97]}; code != http.StatusOK || !slices.Equal(traceIDs(out), want) || out.Complete || out.Note == "" || out.BandCount != 100 {
		t.Errorf("self time: status %d, traces %v (complete %v, note %q, band %d), want %v: %s", code, traceIDs(out), out.Complete, out.Note, out.BandCount, want, body)
	}
	// The budget: pages of 10 traces, at most 30 read, newest first, so
	// the oldest trace (1 ms) is not reached.
	api.SetProfileExamplesBounds(t, 30, 10)
	code, out, body = get(base("min", "0", "max", "0.001"))
	if code != http.StatusOK || len(out.Traces) != 0 || out.Complete || out.Scanned != 30 || !strings.Contains(out.Note, "budget") {
		t.Errorf("budget: status %d, %+v: %s", code, out, body)
	}

	for _, q := range []url.Values{
		base(),                               // neither percentile nor range
		base("percentile", "0"),              // out of range
		base("percentile", "50", "min", "0"), // both
		base("min", "0.5", "max", "0.1"),     // empty range
		base("percentile", "50", "class", "cold"),
		base("percentile", "50", "part", "nothing"),
		base("percentile", "50", "time", "wall"),
		base("min", "0", "limit", "1000"),
		{"service": {"svc"}, "start": {"1"}, "end": {"2"}, "min": {"0"}},
	} {
		if code, _, body := get(q); code != http.StatusBadRequest {
			t.Errorf("%v: status %d %s, want 400", q, code, body)
		}
	}
}

// A filter expression made of trace IDs lists those traces: how the
// console shows a profile's examples.
func TestTraceSummariesIDList(t *testing.T) {
	s := newServer(t, api.Options{})
	const sec = 1_700_000_000
	var ids []string
	for i := range 3 {
		ids = append(ids, examplesTrace(t, s, i, float64(sec+10*i), 5))
	}
	code, _, body := s.post(t, fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"FilterExpression":%q}`, sec, sec+3600, ids[0]+", "+ids[2]))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var out struct{ TraceSummaries []struct{ Id string } }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out.TraceSummaries {
		got = append(got, s.Id)
	}
	if want := []string{ids[2], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
