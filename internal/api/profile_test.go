package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// profileTrace stores the profile counters of a trace of service "svc"
// starting at sec: a call "db" of dbMs milliseconds, then 10 ms of its
// own.
func profileTrace(t *testing.T, st store.Writer, n int, sec float64, dbMs float64) {
	t.Helper()
	id := xrayid.MustParseTraceID(fmt.Sprintf("1-%08x-%024x", int64(sec), n))
	doc := fmt.Sprintf(`{"trace_id":"%s","id":"%016x","name":"svc","start_time":%.6f,"end_time":%.6f,
	 "subsegments":[{"id":"%016x","name":"db","start_time":%.6f,"end_time":%.6f}]}`,
		id, 2*n+1, sec, sec+(dbMs+10)/1000, 2*n+2, sec, sec+dbMs/1000)
	segs, err := segment.NewDecoder(0).Decode(nil, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b summary.Builder
	b.Build(id, []summary.Doc{{Seg: &segs[0]}}, 0)
	deltas := graph.Diff(nil, profile.Contributions(b.Tree(nil)))
	if err := st.Write(context.Background(), &store.Batch{Graph: deltas}); err != nil {
		t.Fatal(err)
	}
}

func TestProfileEndpoint(t *testing.T) {
	s := newServer(t, api.Options{})
	const day0 = 1_700_000_000.0
	// 30 invocations a day: db 20, 30 or 40 ms, then 40, 50 or 60 ms the
	// next day; the service's own 10 ms stays.
	for i := range 30 {
		profileTrace(t, s.st, i, day0+float64(i*10), float64(20+10*(i%3)))
		profileTrace(t, s.st, 100+i, day0+86400+float64(i*10), float64(40+10*(i%3)))
	}
	get := func(q url.Values) (int, map[string]any) {
		a := api.New(nil, s.st, api.Options{}, metrics.NewSet(), quiet)
		rec := httptest.NewRecorder()
		a.ServeProfile(rec, httptest.NewRequest(http.MethodGet, api.ProfilePath+"?"+q.Encode(), nil))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		return rec.Code, out
	}
	code, out := get(url.Values{"service": {"svc"}, "start": {fmt.Sprint(day0 + 86400)}, "end": {fmt.Sprint(day0 + 86400 + 3600)},
		"compare_start": {fmt.Sprint(day0)}, "compare_end": {fmt.Sprint(day0 + 3600)}})
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, out)
	}
	all := out["all"].(map[string]any)
	if all["invocations"].(float64) != 30 || all["mean_s"].(float64) != 0.06 {
		t.Fatalf("all: %v", all)
	}
	parts := all["parts"].([]any)
	top := parts[0].(map[string]any)
	if fmt.Sprint(top["path"]) != "[svc db]" || top["self_mean_s"].(float64) != 0.05 || top["share"].(float64) != 50.0/60 {
		t.Fatalf("top part %v", top)
	}
	cmp := out["compare"].(map[string]any)["all"].(map[string]any)
	ch := cmp["changes"].([]any)[0].(map[string]any)
	// db: 20 ms slower; both samples {20,30,40} ms ten times each, of
	// variance (10·100+10·100)/29 ≈ 68.97 ms²: t = 20/√(2·68.97/30) ≈ 9.327
	// with 58 degrees of freedom.
	near := func(v, want float64) bool { return v > want-1e-9 && v < want+1e-9 }
	if fmt.Sprint(ch["path"]) != "[svc db]" || !near(ch["delta_s"].(float64), 0.02) || !near(ch["contribution"].(float64), 1) ||
		!near(ch["df"].(float64), 58) || ch["significant"] != true {
		t.Fatalf("top change %v", ch)
	}
	if tv := ch["t"].(float64); tv < 9.32 || tv > 9.33 {
		t.Errorf("t = %v, want 9.327", tv)
	}
	if cmp["changes"].([]any)[1].(map[string]any)["significant"] != false {
		t.Errorf("the service's own unchanged time reported as significant: %v", cmp["changes"])
	}

	for _, q := range []url.Values{
		{"start": {"1"}, "end": {"2"}},
		{"service": {"svc"}, "start": {"2"}, "end": {"1"}},
		{"service": {"svc"}, "start": {"x"}, "end": {"1"}},
		{"service": {"svc"}, "start": {"1"}, "end": {"2"}, "compare_start": {"3"}},
		{"service": {"svc"}, "start": {"1"}, "end": {"2"}, "filter": {"service("}},
	} {
		if code, out := get(q); code != http.StatusBadRequest {
			t.Errorf("%v: status %d %v, want 400", q, code, out)
		}
	}
}

// Profiles of filter expressions read the matching traces: version "b"
// of the service spends 20 ms more in db than version "a".
func TestProfileFilter(t *testing.T) {
	s := newServer(t, api.Options{})
	const sec = 1_700_000_000
	for i := range 40 {
		version, db := "a", 20+10*(i%3)
		if i%2 == 1 {
			version, db = "b", 40+10*(i%3)
		}
		id := fmt.Sprintf("1-%08x-%024x", sec+i, i)
		start := float64(sec + i)
		s.trace(t, id, fmt.Sprintf(`{"trace_id":"$T","id":"%016x","name":"svc","start_time":%.6f,"end_time":%.6f,
		 "annotations":{"version":%q},
		 "subsegments":[{"id":"%016x","name":"db","start_time":%.6f,"end_time":%.6f}]}`,
			2*i+1, start, start+float64(db+10)/1000, version, 2*i+2, start, start+float64(db)/1000))
	}
	get := func(q url.Values) (int, profile.Result, string) {
		a := api.New(nil, s.st, api.Options{}, metrics.NewSet(), quiet)
		rec := httptest.NewRecorder()
		a.ServeProfile(rec, httptest.NewRequest(http.MethodGet, api.ProfilePath+"?"+q.Encode(), nil))
		var out profile.Result
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%v: %s", err, rec.Body)
			}
		}
		return rec.Code, out, rec.Body.String()
	}
	window := url.Values{"service": {"svc"}, "start": {fmt.Sprint(sec)}, "end": {fmt.Sprint(sec + 60)}}
	q := url.Values{"filter": {`annotation.version = "b"`}, "compare_filter": {`annotation.version = "a"`}}
	for k, v := range window {
		q[k] = v
	}
	code, out, body := get(q)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if out.Sample == nil || out.Sample.Traces != 20 || !out.Sample.Complete || out.All.Invocations != 20 {
		t.Fatalf("sample %+v, %d invocations", out.Sample, out.All.Invocations)
	}
	// b: db 40 ms 7 times, 50 ms 7 times, 60 ms 6 times (mean 49.5 ms);
	// a: 20 ms 7 times, 40 ms 7 times, 30 ms 6 times (mean 30 ms).
	if m := out.All.Mean; m < 0.0595-1e-9 || m > 0.0595+1e-9 {
		t.Errorf("mean %v, want 59.5 ms", m)
	}
	ch := out.Compare.All.Changes[0]
	if fmt.Sprint(ch.Path) != "[svc db]" || ch.Delta < 0.0195-1e-9 || ch.Delta > 0.0195+1e-9 || !ch.Significant {
		t.Errorf("top change %+v", ch)
	}
	if out.Compare.Base.Sample == nil || out.Compare.Base.Sample.Filter != `annotation.version = "a"` {
		t.Errorf("base sample %+v", out.Compare.Base.Sample)
	}

	api.SetProfileMaxTraces(t, 5)
	q = url.Values{"filter": {`service("svc")`}}
	for k, v := range window {
		q[k] = v
	}
	code, out, body = get(q)
	if code != http.StatusOK || out.Sample == nil || out.Sample.Complete || out.Sample.Traces != 5 || out.Sample.Note == "" || out.All.Invocations != 5 {
		t.Fatalf("bounded: status %d, sample %+v: %s", code, out.Sample, body)
	}
	q.Set("filter", "service(")
	if code, _, body := get(q); code != http.StatusBadRequest {
		t.Errorf("bad filter: status %d %s", code, body)
	}
}
