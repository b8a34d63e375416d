package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/query"
)

type traceStats struct {
	Start, End                         float64
	Period                             int64
	Traces, Fault, Error, Throttle, OK int64
	P50, P90, P99                      *float64
	Histogram                          []struct {
		Value float64
		Count int64
	}
	Series []struct {
		Time                           float64
		Traces, Fault, Error, Throttle int64
		P50, P99                       *float64
	}
	Examined    int64
	Complete    bool
	ScannedFrom float64
}

func (s *server) traceStats(t *testing.T, q url.Values) (int, traceStats, string) {
	t.Helper()
	return s.traceStatsWith(t, api.Options{}, q)
}

func (s *server) traceStatsWith(t *testing.T, opts api.Options, q url.Values) (int, traceStats, string) {
	t.Helper()
	a := api.New(nil, s.st, opts, metrics.NewSet(), quiet)
	rec := httptest.NewRecorder()
	a.ServeTraceStats(rec, httptest.NewRequest(http.MethodGet, api.TraceStatsPath+"?"+q.Encode(), nil))
	var out traceStats
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
	}
	return rec.Code, out, rec.Body.String()
}

// TestTraceStats stores 100 traces over two days (longer than one
// GetTraceSummaries call may ask for): response times 0.01 … 1.00 s, every
// tenth a fault at the entry point, every tenth (others) a fault below a
// healthy entry point, and checks the whole-window figures.
func TestTraceStats(t *testing.T) {
	s := newServer(t, api.Options{})
	base := int64(t0)
	for i := range 100 {
		start := base + int64(i)*1800 // one every 30 minutes: 50 hours
		rt := float64(i+1) / 100
		id := fmt.Sprintf("1-%08x-%024x", start, i+1)
		doc := fmt.Sprintf(`{"trace_id":"$T","id":"%016x","name":"web","origin":"AWS::Lambda","start_time":%d.5,"end_time":%f`, i+1, start, float64(start)+0.5+rt)
		switch i % 10 {
		case 3:
			doc += `,"fault":true,"http":{"response":{"status":500}}}`
		case 7:
			// A healthy Lambda entry point whose function faulted, as in the
			// demo: a second segment below the first.
			doc += fmt.Sprintf(`,"subsegments":[{"id":"%016x","name":"Invoke","start_time":%d.5,"end_time":%d.6}]}`, 1000+i, start, start)
			fn := fmt.Sprintf(`{"trace_id":"$T","id":"%016x","name":"web","origin":"AWS::Lambda::Function","parent_id":"%016x",
				"start_time":%d.5,"end_time":%d.6,"fault":true,
				"cause":{"exceptions":[{"id":"00000000000000e1","type":"Runtime.ImportModuleError","message":"No module named 'x'"}]}}`, 2000+i, 1000+i, start, start)
			s.trace(t, id, doc, fn)
			continue
		default:
			doc += `}`
		}
		s.trace(t, id, doc)
	}
	window := url.Values{"start": {fmt.Sprint(base)}, "end": {fmt.Sprint(base + 100*1800)}}

	code, st, body := s.traceStats(t, window)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if st.Traces != 100 || st.Fault != 20 || st.Error != 0 || st.OK != 80 || !st.Complete || st.Examined != 100 {
		t.Fatalf("totals: %+v", st)
	}
	if st.P50 == nil || *st.P50 != 0.5 || *st.P90 != 0.9 || *st.P99 != 0.99 {
		t.Fatalf("percentiles: %v %v %v", deref(st.P50), deref(st.P90), deref(st.P99))
	}
	var n int64
	for _, h := range st.Histogram {
		n += h.Count
	}
	if n != 100 || len(st.Histogram) != 100 {
		t.Fatalf("histogram: %d entries holding %d traces", len(st.Histogram), n)
	}
	// 50 hours per minute is 3000 points: the period grows to keep at
	// most 1500 (two minutes here), and every trace is in its point.
	if st.Period != 120 || len(st.Series) != 1500 {
		t.Fatalf("period %d, %d points", st.Period, len(st.Series))
	}
	var inSeries, faults int64
	for _, p := range st.Series {
		inSeries += p.Traces
		faults += p.Fault
		if p.Traces > 0 && int64(p.Time)%1800 != 0 {
			t.Fatalf("point at %v holds %d traces; traces start on the half hour", p.Time, p.Traces)
		}
	}
	if inSeries != 100 || faults != 20 {
		t.Fatalf("series holds %d traces, %d faults", inSeries, faults)
	}

	// The filter of the README: faults below the entry point, and the
	// plain fault filter, which only sees the entry point's.
	q := url.Values{"filter": {`service() { fault }`}, "start": window["start"], "end": window["end"], "period": {"3600"}}
	if _, st, body = s.traceStats(t, q); st.Traces != 20 || st.Fault != 20 || st.Period != 3600 {
		t.Fatalf("service() { fault }: %s", body)
	}
	q.Set("filter", "fault")
	if _, st, body = s.traceStats(t, q); st.Traces != 10 {
		t.Fatalf("fault: %s", body)
	}

	// A scan cut short by its budget says so, and how far back it got.
	api.SetTraceStatsBudget(t, 25)
	if _, st, body = s.traceStatsWith(t, api.Options{Query: query.Options{MaxExamined: 10}}, window); st.Complete ||
		st.Examined != 30 || st.Traces != 30 || st.ScannedFrom < float64(base) || st.ScannedFrom >= float64(base+100*1800) {
		t.Fatalf("budget of 25 summaries, 10 per call: %s", body)
	}
	if !strings.Contains(body, `"note":"scan budget reached after 30 summaries`) {
		t.Fatalf("no note on the estimate: %s", body)
	}

	for _, bad := range []url.Values{
		{"start": window["start"]},
		{"start": window["end"], "end": window["start"]},
		{"start": {"yesterday"}, "end": window["end"]},
		{"start": window["start"], "end": window["end"], "period": {"90"}},
		{"start": window["start"], "end": window["end"], "filter": {"service(\"x\") {"}},
		{"start": {"0"}, "end": {fmt.Sprint(base)}},
	} {
		if code, _, body := s.traceStats(t, bad); code != http.StatusBadRequest {
			t.Errorf("%v: status %d, want 400: %s", bad, code, body)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
