package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/insights"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// graphEnv is the ingest side and the API over one store: PutTraceSegments
// → pipeline → summarizer (graph deltas, groups) → Pebble store → the
// graph operations, as counterspy serve wires them.
type graphEnv struct {
	st     *pebblestore.Store
	reg    *groups.Registry
	det    *insights.Detector
	pipe   *ingest.Pipeline
	http   *httptest.Server
	client *awsxray.Client
}

// startGraphEnv opens the store in dir.
func startGraphEnv(t *testing.T, dir string) *graphEnv {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &graphEnv{st: st}
	e.reg, err = groups.Open(context.Background(), e.st, groups.Options{AccountID: "123456789012", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ms := metrics.NewSet()
	sum := summarize.New(e.st, summarize.Options{Groups: e.reg}, ms, quiet)
	e.pipe = ingest.New(e.st, ingest.Options{FlushInterval: 10 * time.Millisecond, Observer: sum}, ms, quiet)
	e.det, err = insights.Open(context.Background(), e.st, e.st, e.reg, insights.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(api.New(e.pipe, e.st, api.Options{AccountID: "123456789012", Registry: e.reg, Meta: e.st, Insights: e.det}, ms, quiet))
	e.client = awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(e.http.URL),
		HTTPClient:   &http.Client{Transport: sdkhttp.Transport(e.http.Client().Transport)},
	})
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop shuts everything down (once).
func (e *graphEnv) stop(t *testing.T) {
	t.Helper()
	if e.http == nil {
		return
	}
	e.http.Close()
	if err := e.pipe.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if err := e.st.Close(); err != nil {
		t.Error(err)
	}
	e.http = nil
}

// put sends documents through PutTraceSegments, 50 per call as the daemon does.
func (e *graphEnv) put(t *testing.T, docs []string) {
	t.Helper()
	for chunk := range slices.Chunk(docs, 50) {
		out, err := e.client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: chunk})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.UnprocessedTraceSegments) > 0 {
			u := out.UnprocessedTraceSegments[0]
			t.Fatalf("%d unprocessed, first %s: %s", len(out.UnprocessedTraceSegments), aws.ToString(u.ErrorCode), aws.ToString(u.Message))
		}
	}
}

// seedStart is when the seed traffic of the tests begins.
var seedStart = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// seedTraffic generates uploads of the seed scenario, 20 s apart: the
// documents in arrival order, and the trace IDs by function.
func seedTraffic(t *testing.T, uploads int) (docs []string, ids map[string][]string) {
	t.Helper()
	sc, err := loadgen.New("seed", 42)
	if err != nil {
		t.Fatal(err)
	}
	type arrival struct {
		at  time.Time
		doc string
	}
	var all []arrival
	ids = map[string][]string{}
	fns := []string{"xraystarter-go", "xraystarter-py", "xraystarter-ts"}
	for u := range uploads {
		start := seedStart.Add(time.Duration(u) * 20 * time.Second)
		for f := range 3 {
			tr := sc.Trace(3*u+f, start)
			ids[fns[f]] = append(ids[fns[f]], tr.ID.String())
			for _, d := range tr.Docs {
				all = append(all, arrival{d.At, string(d.JSON)})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b arrival) int { return a.at.Compare(b.at) })
	for _, a := range all {
		docs = append(docs, a.doc)
	}
	return docs, ids
}

// stat is what a test expects of a node or an edge.
type stat struct {
	ok, errOther, throttle, fault int64
	rt                            float64
}

func (s stat) String() string {
	return fmt.Sprintf("ok=%d err=%d throttle=%d fault=%d", s.ok, s.errOther, s.throttle, s.fault)
}

func (s stat) total() int64 { return s.ok + s.errOther + s.throttle + s.fault }

// doc is the part of a segment document the expectations read, decoded
// with encoding/json: independent of the ingest decoder and the summaries.
type doc struct {
	TraceID    string  `json:"trace_id"`
	ID         string  `json:"id"`
	ParentID   string  `json:"parent_id"`
	Name       string  `json:"name"`
	Origin     string  `json:"origin"`
	Type       string  `json:"type"`
	Namespace  string  `json:"namespace"`
	Start      float64 `json:"start_time"`
	End        float64 `json:"end_time"`
	Fault      bool    `json:"fault"`
	Error      bool    `json:"error"`
	Throttle   bool    `json:"throttle"`
	InProgress bool    `json:"in_progress"`
	AWS        struct {
		TableName string `json:"table_name"`
		AccountID string `json:"account_id"`
	} `json:"aws"`
}

func (d *doc) add(s *stat) {
	switch {
	case d.Fault:
		s.fault++
	case d.Throttle:
		s.throttle++
	case d.Error:
		s.errOther++
	default:
		s.ok++
	}
	s.rt += d.End - d.Start
}

// expectSeed computes the seed scenario's service graph from the documents:
// "node" and "from -> to" entries, name/type each.
func expectSeed(t *testing.T, docs []string, keep func(traceID string) bool) map[string]*stat {
	t.Helper()
	want := map[string]*stat{}
	at := func(k string) *stat {
		if want[k] == nil {
			want[k] = &stat{}
		}
		return want[k]
	}
	for _, raw := range docs {
		var d doc
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		if keep != nil && !keep(d.TraceID) {
			continue
		}
		switch {
		case d.Origin == "AWS::Lambda" && d.ParentID == "":
			// The Lambda service segment: the trace's root. Its client's
			// call, the node's request, and its call of the function.
			d.add(at(d.Name + "/client -> " + d.Name + "/AWS::Lambda"))
			d.add(at(d.Name + "/AWS::Lambda"))
			d.add(at(d.Name + "/AWS::Lambda -> " + d.Name + "/AWS::Lambda::Function"))
		case d.Origin == "AWS::Lambda::Function":
			d.add(at(d.Name + "/AWS::Lambda::Function"))
		case d.Type == "subsegment" && d.Namespace == "aws":
			if d.AWS.TableName != "items" {
				t.Fatalf("DynamoDB call on table %q", d.AWS.TableName)
			}
			// The function's name is the trace's: find it by trace.
			d.add(at("items/AWS::DynamoDB::Table"))
			d.add(at("fn:" + d.TraceID + " -> items/AWS::DynamoDB::Table"))
		default:
			t.Fatalf("unexpected document %s", raw)
		}
	}
	// Name the function of each DynamoDB call's trace.
	fnOf := map[string]string{}
	for _, raw := range docs {
		var d doc
		json.Unmarshal([]byte(raw), &d)
		if d.Origin == "AWS::Lambda::Function" {
			fnOf[d.TraceID] = d.Name
		}
	}
	for k, s := range want {
		if id, ok := strings.CutPrefix(k, "fn:"); ok {
			id, _, _ = strings.Cut(id, " ")
			e := at(fnOf[id] + "/AWS::Lambda::Function -> items/AWS::DynamoDB::Table")
			e.ok, e.errOther, e.throttle, e.fault, e.rt = e.ok+s.ok, e.errOther+s.errOther, e.throttle+s.throttle, e.fault+s.fault, e.rt+s.rt
			delete(want, k)
		}
	}
	return want
}

// sdkGraph reads the graph as the SDK decoded it, checking what every
// service must satisfy, into the same shape as expectSeed.
func sdkGraph(t *testing.T, svcs []types.Service) map[string]*stat {
	t.Helper()
	got := map[string]*stat{}
	byRef := map[int32]types.Service{}
	for i, s := range svcs {
		if aws.ToInt32(s.ReferenceId) != int32(i) {
			t.Fatalf("service %d has ReferenceId %d", i, aws.ToInt32(s.ReferenceId))
		}
		byRef[int32(i)] = s
	}
	name := func(s types.Service) string { return aws.ToString(s.Name) + "/" + aws.ToString(s.Type) }
	for _, s := range svcs {
		n := name(s)
		if len(s.Names) == 0 || s.Names[0] != aws.ToString(s.Name) {
			t.Fatalf("%s: Names %v", n, s.Names)
		}
		if s.StartTime == nil || s.EndTime == nil || s.EndTime.Before(*s.StartTime) {
			t.Fatalf("%s: times %v %v", n, s.StartTime, s.EndTime)
		}
		if aws.ToString(s.Type) == "client" {
			if s.SummaryStatistics != nil || len(s.ResponseTimeHistogram) > 0 || aws.ToString(s.State) != "unknown" || len(s.Edges) != 1 {
				t.Fatalf("client node %s: %+v", n, s)
			}
		} else {
			st := s.SummaryStatistics
			if st == nil {
				t.Fatalf("%s: no SummaryStatistics", n)
			}
			got[n] = sdkStat(t, n, st.OkCount, st.ErrorStatistics, st.FaultStatistics, st.TotalCount, st.TotalResponseTime, s.ResponseTimeHistogram)
			if c := histogramCount(s.DurationHistogram); c != aws.ToInt64(st.TotalCount) {
				t.Fatalf("%s: DurationHistogram counts %d requests of %d", n, c, aws.ToInt64(st.TotalCount))
			}
		}
		for _, e := range s.Edges {
			to, ok := byRef[aws.ToInt32(e.ReferenceId)]
			if !ok {
				t.Fatalf("%s: edge to unknown ReferenceId %d", n, aws.ToInt32(e.ReferenceId))
			}
			k := n + " -> " + name(to)
			st := e.SummaryStatistics
			if st == nil {
				t.Fatalf("%s: no SummaryStatistics", k)
			}
			got[k] = sdkStat(t, k, st.OkCount, st.ErrorStatistics, st.FaultStatistics, st.TotalCount, st.TotalResponseTime, e.ResponseTimeHistogram)
		}
	}
	return got
}

func sdkStat(t *testing.T, what string, ok *int64, es *types.ErrorStatistics, fs *types.FaultStatistics, total *int64, rt *float64, hist []types.HistogramEntry) *stat {
	t.Helper()
	if es == nil || fs == nil {
		t.Fatalf("%s: statistics without ErrorStatistics or FaultStatistics", what)
	}
	s := &stat{ok: aws.ToInt64(ok), throttle: aws.ToInt64(es.ThrottleCount), errOther: aws.ToInt64(es.OtherCount),
		fault: aws.ToInt64(fs.TotalCount), rt: aws.ToFloat64(rt)}
	if aws.ToInt64(total) != s.total() || aws.ToInt64(es.TotalCount) != s.errOther+s.throttle || aws.ToInt64(fs.OtherCount) != s.fault {
		t.Fatalf("%s: inconsistent statistics %s total %d", what, s, aws.ToInt64(total))
	}
	if c := histogramCount(hist); c != s.total() {
		t.Fatalf("%s: ResponseTimeHistogram counts %d requests of %d", what, c, s.total())
	}
	return s
}

func histogramCount(h []types.HistogramEntry) int64 {
	var n int64
	for i, e := range h {
		if i > 0 && e.Value <= h[i-1].Value {
			panic(fmt.Sprintf("histogram values not ascending: %v", h))
		}
		n += int64(e.Count)
	}
	return n
}

// compareGraphs checks every node and edge and count; response time sums
// agree to a microsecond per request (counters keep whole microseconds).
func compareGraphs(t *testing.T, got, want map[string]*stat) {
	t.Helper()
	keys := func(m map[string]*stat) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, "\n")
	}
	if keys(got) != keys(want) {
		t.Fatalf("nodes and edges:\n%s\nwant\n%s", keys(got), keys(want))
	}
	for k, w := range want {
		g := got[k]
		if g.String() != w.String() {
			t.Errorf("%s: %s, want %s", k, g, w)
		}
		if math.Abs(g.rt-w.rt) > 1e-6*float64(w.total())+1e-9 {
			t.Errorf("%s: TotalResponseTime %.6f, want %.6f", k, g.rt, w.rt)
		}
	}
}

// TestSeedServiceGraph is the check: the seed scenario yields the
// graph of the blog post. Each function's entry has its client node (X-Ray
// names it after the entry service); then the AWS::Lambda service node, the
// AWS::Lambda::Function node, and the one "items" table that the Go, Python
// (subsegment "dynamodb") and Node (subsegment "DynamoDB") SDKs all write
// to. The Python function's import failures are faults of its function
// node, not of the Lambda service (which answered 202).
func TestSeedServiceGraph(t *testing.T) {
	ctx := context.Background()
	e := startGraphEnv(t, t.TempDir())
	const py = `service("xraystarter-py") { fault }`
	if _, err := e.client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("python-faults"), FilterExpression: aws.String(py)}); err != nil {
		t.Fatal(err)
	}
	docs, ids := seedTraffic(t, 40)
	e.put(t, docs)

	out, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{
		StartTime: aws.Time(seedStart.Add(-time.Minute)), EndTime: aws.Time(seedStart.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if out.NextToken != nil || out.ContainsOldGroupVersions {
		t.Fatalf("NextToken %v, ContainsOldGroupVersions %v", out.NextToken, out.ContainsOldGroupVersions)
	}
	if !out.StartTime.Equal(seedStart.Add(-time.Minute)) || !out.EndTime.Equal(seedStart.Add(time.Hour)) {
		t.Fatalf("window %v – %v", out.StartTime, out.EndTime)
	}
	want := expectSeed(t, docs, nil)
	compareGraphs(t, sdkGraph(t, out.Services), want)

	// The exact shape: services in ReferenceId order, identities, states,
	// roots, accounts, names and edges.
	var shape []string
	for _, s := range out.Services {
		line := fmt.Sprintf("%d %s %s %s account=%s root=%t names=%v ->", aws.ToInt32(s.ReferenceId), aws.ToString(s.Name),
			aws.ToString(s.Type), aws.ToString(s.State), aws.ToString(s.AccountId), aws.ToBool(s.Root), s.Names)
		for _, e := range s.Edges {
			line += fmt.Sprintf(" %d", aws.ToInt32(e.ReferenceId))
			if len(e.Aliases) > 0 || e.EdgeType != nil {
				line += fmt.Sprintf("(aliases %v type %v)", e.Aliases, e.EdgeType)
			}
		}
		shape = append(shape, line)
	}
	wantShape := []string{
		"0 xraystarter-go client unknown account= root=false names=[xraystarter-go] -> 4",
		"1 xraystarter-py client unknown account= root=false names=[xraystarter-py] -> 6",
		"2 xraystarter-ts client unknown account= root=false names=[xraystarter-ts] -> 8",
		"3 items AWS::DynamoDB::Table unknown account= root=false names=[items] ->",
		"4 xraystarter-go AWS::Lambda active account= root=true names=[xraystarter-go] -> 5",
		"5 xraystarter-go AWS::Lambda::Function active account=123456789012 root=false names=[xraystarter-go] -> 3",
		"6 xraystarter-py AWS::Lambda active account= root=true names=[xraystarter-py] -> 7",
		"7 xraystarter-py AWS::Lambda::Function active account=123456789012 root=false names=[xraystarter-py] -> 3",
		"8 xraystarter-ts AWS::Lambda active account= root=true names=[xraystarter-ts] -> 9",
		"9 xraystarter-ts AWS::Lambda::Function active account=123456789012 root=false names=[xraystarter-ts] -> 3",
	}
	if got := strings.Join(shape, "\n"); got != strings.Join(wantShape, "\n") {
		t.Fatalf("services:\n%s\nwant\n%s", got, strings.Join(wantShape, "\n"))
	}
	// The faults sit on the Python function node, and only there.
	pyFaults := want["xraystarter-py/AWS::Lambda::Function"].fault
	if pyFaults == 0 || pyFaults == int64(len(ids["xraystarter-py"])) {
		t.Fatalf("seed 42 gives %d Python faults of %d invocations: pick a seed with some of both", pyFaults, len(ids["xraystarter-py"]))
	}
	for k, s := range want {
		if s.fault > 0 && k != "xraystarter-py/AWS::Lambda::Function" {
			t.Fatalf("faults counted on %s", k)
		}
	}
	if n := want["items/AWS::DynamoDB::Table"].total(); n != int64(3*40)-pyFaults {
		t.Fatalf("%d DynamoDB calls, want every invocation that did not fail (%d)", n, 3*40-pyFaults)
	}

	// The group scopes the graph: only the failed Python invocations.
	faulted := map[string]bool{}
	for _, raw := range docs {
		var d doc
		json.Unmarshal([]byte(raw), &d)
		if d.Origin == "AWS::Lambda::Function" && d.Fault {
			faulted[d.TraceID] = true
		}
	}
	gout, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{GroupName: aws.String("python-faults"),
		StartTime: aws.Time(seedStart.Add(-time.Minute)), EndTime: aws.Time(seedStart.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	gwant := expectSeed(t, docs, func(id string) bool { return faulted[id] })
	if len(gwant) != 4 {
		t.Fatalf("group expectation: %v", gwant)
	}
	compareGraphs(t, sdkGraph(t, gout.Services), gwant)

	// group.name in GetTraceSummaries selects the same traces.
	var found []string
	p := awsxray.NewGetTraceSummariesPaginator(e.client, &awsxray.GetTraceSummariesInput{
		StartTime: aws.Time(seedStart.Add(-time.Minute)), EndTime: aws.Time(seedStart.Add(time.Hour)),
		FilterExpression: aws.String(`group.name = "python-faults"`)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.TraceSummaries {
			found = append(found, aws.ToString(s.Id))
		}
	}
	var wantIDs []string
	for id := range faulted {
		wantIDs = append(wantIDs, id)
	}
	slices.Sort(found)
	slices.Sort(wantIDs)
	if !slices.Equal(found, wantIDs) {
		t.Fatalf("group.name = python-faults finds %v, want %v", found, wantIDs)
	}

	// A window that holds a part of the traffic holds a part of the counts.
	part, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{
		StartTime: aws.Time(seedStart), EndTime: aws.Time(seedStart.Add(2 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	pg := sdkGraph(t, part.Services)
	if n := pg["xraystarter-go/AWS::Lambda"].total(); n == 0 || n >= want["xraystarter-go/AWS::Lambda"].total() {
		t.Fatalf("two minutes hold %d of %d Go invocations", n, want["xraystarter-go/AWS::Lambda"].total())
	}
}

// GetTraceGraph builds the same model from the traces' summaries.
func TestTraceGraph(t *testing.T) {
	ctx := context.Background()
	e := startGraphEnv(t, t.TempDir())
	docs, ids := seedTraffic(t, 4)
	e.put(t, docs)
	pick := []string{ids["xraystarter-go"][0], ids["xraystarter-go"][1], ids["xraystarter-py"][2], ids["xraystarter-ts"][3]}
	keep := map[string]bool{}
	for _, id := range pick {
		keep[id] = true
	}
	out, err := e.client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: append(pick, "1-66321300-000000000000000000000000")})
	if err != nil {
		t.Fatal(err)
	}
	if out.NextToken != nil {
		t.Fatalf("NextToken %v", *out.NextToken)
	}
	want := expectSeed(t, docs, func(id string) bool { return keep[id] })
	got := sdkGraph(t, out.Services)
	compareGraphs(t, got, want)
	// Exact values: a single request's histogram is its response time.
	for _, s := range out.Services {
		if aws.ToString(s.Type) == "AWS::Lambda" && aws.ToString(s.Name) == "xraystarter-ts" {
			if len(s.ResponseTimeHistogram) != 1 || math.Abs(s.ResponseTimeHistogram[0].Value-aws.ToFloat64(s.SummaryStatistics.TotalResponseTime)) > 1e-6 {
				t.Fatalf("histogram %+v, total %v", s.ResponseTimeHistogram, aws.ToFloat64(s.SummaryStatistics.TotalResponseTime))
			}
		}
	}

	_, err = e.client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: append(pick, ids["xraystarter-ts"][0], ids["xraystarter-ts"][1])})
	wantInvalid(t, err, "Exceeding maximum query size: 5")
	_, err = e.client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: []string{"nope"}})
	wantInvalid(t, err, "not a trace ID")
	empty, err := e.client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: []string{}})
	if err != nil || len(empty.Services) != 0 {
		t.Fatalf("no traces: %v, %v", empty, err)
	}
}

func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) || !strings.Contains(ire.ErrorMessage(), msg) {
		t.Fatalf("got %v, want InvalidRequestException containing %q", err, msg)
	}
}

func TestTimeSeriesServiceStatistics(t *testing.T) {
	ctx := context.Background()
	e := startGraphEnv(t, t.TempDir())
	docs, ids := seedTraffic(t, 30) // 10 minutes
	e.put(t, docs)
	want := expectSeed(t, docs, nil)
	from, to := aws.Time(seedStart.Add(-5*time.Minute)), aws.Time(seedStart.Add(time.Hour))

	series := func(selector string, period int32) []types.TimeSeriesServiceStatistics {
		t.Helper()
		in := &awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to}
		if selector != "" {
			in.EntitySelectorExpression = aws.String(selector)
		}
		if period != 0 {
			in.Period = aws.Int32(period)
		}
		var out []types.TimeSeriesServiceStatistics
		p := awsxray.NewGetTimeSeriesServiceStatisticsPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.TimeSeriesServiceStatistics...)
		}
		return out
	}
	total := func(what string, pts []types.TimeSeriesServiceStatistics, edge bool, period int64) *stat {
		t.Helper()
		sum := &stat{}
		for i, p := range pts {
			if ts := p.Timestamp.Unix(); ts%period != 0 || i > 0 && !p.Timestamp.After(*pts[i-1].Timestamp) {
				t.Fatalf("%s: point %d at %v", what, i, p.Timestamp)
			}
			var s *stat
			switch {
			case edge && p.EdgeSummaryStatistics != nil && p.ServiceSummaryStatistics == nil:
				st := p.EdgeSummaryStatistics
				s = sdkStat(t, what, st.OkCount, st.ErrorStatistics, st.FaultStatistics, st.TotalCount, st.TotalResponseTime, p.ResponseTimeHistogram)
			case !edge && p.ServiceSummaryStatistics != nil && p.EdgeSummaryStatistics == nil:
				st := p.ServiceSummaryStatistics
				s = sdkStat(t, what, st.OkCount, st.ErrorStatistics, st.FaultStatistics, st.TotalCount, st.TotalResponseTime, p.ResponseTimeHistogram)
			default:
				t.Fatalf("%s: point %d has the wrong statistics: %+v", what, i, p)
			}
			sum.ok, sum.errOther, sum.throttle, sum.fault, sum.rt = sum.ok+s.ok, sum.errOther+s.errOther, sum.throttle+s.throttle, sum.fault+s.fault, sum.rt+s.rt
		}
		return sum
	}
	check := func(what string, got, want *stat) {
		t.Helper()
		if got.String() != want.String() || math.Abs(got.rt-want.rt) > 1e-6*float64(want.total())+1e-9 {
			t.Fatalf("%s: %s rt=%.6f, want %s rt=%.6f", what, got, got.rt, want, want.rt)
		}
	}

	// The Python function node: its faults.
	fn := series(`id(name: "xraystarter-py", type: "AWS::Lambda::Function")`, 60)
	if len(fn) < 5 {
		t.Fatalf("%d one-minute points over ten minutes of traffic", len(fn))
	}
	check("python function", total("python function", fn, false, 60), want["xraystarter-py/AWS::Lambda::Function"])
	// service("name") takes both nodes of that name.
	both := total("python", series(`service("xraystarter-py")`, 300), false, 300)
	lambda, function := *want["xraystarter-py/AWS::Lambda"], *want["xraystarter-py/AWS::Lambda::Function"]
	check("python nodes", both, &stat{ok: lambda.ok + function.ok, fault: function.fault, rt: lambda.rt + function.rt})
	// An edge.
	check("go -> items", total("go -> items", series(`edge("xraystarter-go", "items")`, 120), true, 120),
		want["xraystarter-go/AWS::Lambda::Function -> items/AWS::DynamoDB::Table"])
	// No selector: the client edges, one call per trace.
	all := total("clients", series("", 0), true, 60)
	if all.total() != int64(len(ids["xraystarter-go"])*3) {
		t.Fatalf("client edges count %d calls, want one per trace (%d)", all.total(), len(ids["xraystarter-go"])*3)
	}
	if pts := series(`service("nothing")`, 60); len(pts) != 0 {
		t.Fatalf("a selector that matches nothing: %d points", len(pts))
	}

	call := func(in *awsxray.GetTimeSeriesServiceStatisticsInput) error {
		_, err := e.client.GetTimeSeriesServiceStatistics(ctx, in)
		return err
	}
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to, Period: aws.Int32(90)}), "multiple of 60")
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to, Period: aws.Int32(-60)}), "multiple of 60")
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to, EntitySelectorExpression: aws.String(`service("a") { fault }`)}), "EntitySelectorExpression")
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to, ForecastStatistics: aws.Bool(true),
		EntitySelectorExpression: aws.String(`service("a")`)}), "Forecast")
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: aws.Time(from.Add(25 * time.Hour))}), "24 hours")
	wantInvalid(t, call(&awsxray.GetTimeSeriesServiceStatisticsInput{StartTime: from, EndTime: to, GroupName: aws.String("nope")}), "Group not found")
}

func TestServiceGraphValidationAndPaging(t *testing.T) {
	ctx := context.Background()
	e := startGraphEnv(t, t.TempDir())
	docs, _ := seedTraffic(t, 2)
	e.put(t, docs)
	from, to := aws.Time(seedStart.Add(-time.Minute)), aws.Time(seedStart.Add(time.Hour))
	get := func(in *awsxray.GetServiceGraphInput) error {
		_, err := e.client.GetServiceGraph(ctx, in)
		return err
	}
	wantInvalid(t, get(&awsxray.GetServiceGraphInput{StartTime: to, EndTime: from}), "must be after StartTime")
	wantInvalid(t, get(&awsxray.GetServiceGraphInput{StartTime: from, EndTime: from}), "must be after StartTime")
	wantInvalid(t, get(&awsxray.GetServiceGraphInput{StartTime: from, EndTime: aws.Time(from.Add(24*time.Hour + time.Second))}), "24 hours")
	wantInvalid(t, get(&awsxray.GetServiceGraphInput{StartTime: from, EndTime: to, GroupName: aws.String("nope")}), "Group not found")
	wantInvalid(t, get(&awsxray.GetServiceGraphInput{StartTime: from, EndTime: to, NextToken: aws.String("bogus")}), "NextToken")
	// The Default group by name is the whole graph.
	def, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: from, EndTime: to, GroupName: aws.String("Default")})
	if err != nil || len(def.Services) != 10 {
		t.Fatalf("Default group: %v services, %v", len(def.Services), err)
	}

	// Pages of three services, in ReferenceId order, as the paginator
	// collects them.
	api.SetPageSizes(t, 3, 100)
	var all []types.Service
	pages := 0
	p := awsxray.NewGetServiceGraphPaginator(e.client, &awsxray.GetServiceGraphInput{StartTime: from, EndTime: to})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page.Services...)
	}
	if pages != 4 || len(all) != 10 {
		t.Fatalf("%d pages, %d services", pages, len(all))
	}
	compareGraphs(t, sdkGraph(t, all), expectSeed(t, docs, nil))
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := startGraphEnv(t, dir)
	c := e.client

	// Default is always there, first, without a filter.
	gs, err := c.GetGroups(ctx, &awsxray.GetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.Groups) != 1 || aws.ToString(gs.Groups[0].GroupName) != "Default" || gs.Groups[0].FilterExpression != nil ||
		aws.ToString(gs.Groups[0].GroupARN) != "arn:aws:xray:us-east-1:123456789012:group/Default" {
		t.Fatalf("GetGroups: %+v", gs.Groups)
	}
	created, err := c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("python-faults"),
		FilterExpression:      aws.String(`service("xraystarter-py") { fault }`),
		InsightsConfiguration: &types.InsightsConfiguration{InsightsEnabled: aws.Bool(true)},
		Tags:                  []types.Tag{{Key: aws.String("team"), Value: aws.String("py")}}})
	if err != nil {
		t.Fatal(err)
	}
	g := created.Group
	arn := aws.ToString(g.GroupARN)
	if aws.ToString(g.GroupName) != "python-faults" || !strings.HasPrefix(arn, "arn:aws:xray:us-east-1:123456789012:group/python-faults/") ||
		aws.ToString(g.FilterExpression) != `service("xraystarter-py") { fault }` || !aws.ToBool(g.InsightsConfiguration.InsightsEnabled) ||
		aws.ToBool(g.InsightsConfiguration.NotificationsEnabled) {
		t.Fatalf("CreateGroup: %+v", g)
	}
	for _, in := range []*awsxray.GetGroupInput{{GroupName: aws.String("python-faults")}, {GroupARN: aws.String(arn)},
		{GroupName: aws.String("python-faults"), GroupARN: aws.String(arn)}} {
		got, err := c.GetGroup(ctx, in)
		if err != nil || aws.ToString(got.Group.GroupARN) != arn {
			t.Fatalf("GetGroup(%+v): %+v, %v", in, got, err)
		}
	}
	_, err = c.GetGroup(ctx, &awsxray.GetGroupInput{GroupName: aws.String("nope")})
	wantInvalid(t, err, "Group not found")
	_, err = c.GetGroup(ctx, &awsxray.GetGroupInput{})
	wantInvalid(t, err, "GroupName or GroupARN is required")
	_, err = c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("python-faults")})
	wantInvalid(t, err, "already exists")
	_, err = c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("bad"), FilterExpression: aws.String(`service("x") {`)})
	wantInvalid(t, err, "Invalid filter expression")
	_, err = c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("Default")})
	wantInvalid(t, err, "reserved")
	_, err = c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("under_score")})
	wantInvalid(t, err, "letters, digits and dashes")

	// Update: the expression and, separately, insights.
	upd, err := c.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupARN: aws.String(arn), FilterExpression: aws.String(`service("xraystarter-py") { fault OR error }`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.Group.FilterExpression) != `service("xraystarter-py") { fault OR error }` || !aws.ToBool(upd.Group.InsightsConfiguration.InsightsEnabled) {
		t.Fatalf("UpdateGroup: %+v", upd.Group)
	}
	upd, err = c.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupName: aws.String("python-faults"),
		InsightsConfiguration: &types.InsightsConfiguration{NotificationsEnabled: aws.Bool(true)}})
	if err != nil || !aws.ToBool(upd.Group.InsightsConfiguration.NotificationsEnabled) || !aws.ToBool(upd.Group.InsightsConfiguration.InsightsEnabled) {
		t.Fatalf("UpdateGroup insights: %+v, %v", upd, err)
	}
	_, err = c.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupName: aws.String("python-faults"), FilterExpression: aws.String("nonsense(")})
	wantInvalid(t, err, "Invalid filter expression")
	_, err = c.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupName: aws.String("nope")})
	wantInvalid(t, err, "Group not found")
	// The expression changed just now: a graph of this hour mixes versions.
	now := time.Now()
	sg, err := c.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{GroupARN: aws.String(arn), StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Minute))})
	if err != nil || !sg.ContainsOldGroupVersions {
		t.Fatalf("ContainsOldGroupVersions after an update: %+v, %v", sg, err)
	}

	// Paging through many groups.
	api.SetPageSizes(t, 1000, 4)
	for i := range 9 {
		if _, err := c.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String(fmt.Sprintf("g-%02d", i)),
			FilterExpression: aws.String(fmt.Sprintf("responsetime > %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	listAll := func(c *awsxray.Client) []string {
		var names []string
		p := awsxray.NewGetGroupsPaginator(c, &awsxray.GetGroupsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Groups) > 4 {
				t.Fatalf("page of %d groups", len(page.Groups))
			}
			for _, g := range page.Groups {
				names = append(names, aws.ToString(g.GroupName))
			}
		}
		return names
	}
	wantNames := "Default g-00 g-01 g-02 g-03 g-04 g-05 g-06 g-07 g-08 python-faults"
	if got := strings.Join(listAll(c), " "); got != wantNames {
		t.Fatalf("GetGroups: %s", got)
	}

	// Delete.
	if _, err := c.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupName: aws.String("g-03")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupName: aws.String("g-03")})
	wantInvalid(t, err, "Group not found")
	_, err = c.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupName: aws.String("Default")})
	wantInvalid(t, err, "cannot be deleted")
	wantNames = strings.Replace(wantNames, "g-03 ", "", 1)

	// Groups survive a restart.
	e.stop(t)
	e2 := startGraphEnv(t, dir)
	if got := strings.Join(listAll(e2.client), " "); got != wantNames {
		t.Fatalf("after a restart GetGroups lists %s", got)
	}
	again, err := e2.client.GetGroup(ctx, &awsxray.GetGroupInput{GroupARN: aws.String(arn)})
	if err != nil || aws.ToString(again.Group.FilterExpression) != `service("xraystarter-py") { fault OR error }` ||
		!aws.ToBool(again.Group.InsightsConfiguration.NotificationsEnabled) {
		t.Fatalf("after a restart: %+v, %v", again, err)
	}
	// And still scope ingest and filters.
	docs, _ := seedTraffic(t, 10)
	e2.put(t, docs)
	n := 0
	p := awsxray.NewGetTraceSummariesPaginator(e2.client, &awsxray.GetTraceSummariesInput{
		StartTime: aws.Time(seedStart.Add(-time.Minute)), EndTime: aws.Time(seedStart.Add(time.Hour)),
		FilterExpression: aws.String(`group.arn = "` + arn + `"`)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.TraceSummaries)
	}
	pg, err := e2.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{GroupName: aws.String("python-faults"),
		StartTime: aws.Time(seedStart.Add(-time.Minute)), EndTime: aws.Time(seedStart.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	graphTraces := int64(0)
	for _, s := range pg.Services {
		if aws.ToString(s.Type) == "AWS::Lambda" {
			graphTraces = aws.ToInt64(s.SummaryStatistics.TotalCount)
		}
	}
	if n == 0 || int64(n) != graphTraces {
		t.Fatalf("after a restart the group holds %d traces by filter and %d in its graph", n, graphTraces)
	}
}

// Without a registry only the Default group exists.
func TestGroupsWithoutRegistry(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, api.Options{AccountID: "123456789012", Region: "eu-west-1"})
	gs, err := s.client.GetGroups(ctx, &awsxray.GetGroupsInput{})
	if err != nil || len(gs.Groups) != 1 || aws.ToString(gs.Groups[0].GroupARN) != "arn:aws:xray:eu-west-1:123456789012:group/Default" {
		t.Fatalf("GetGroups: %+v, %v", gs, err)
	}
	if g, err := s.client.GetGroup(ctx, &awsxray.GetGroupInput{GroupName: aws.String("Default")}); err != nil || aws.ToString(g.Group.GroupName) != "Default" {
		t.Fatalf("GetGroup(Default): %+v, %v", g, err)
	}
	_, err = s.client.GetGroup(ctx, &awsxray.GetGroupInput{GroupName: aws.String("x")})
	wantInvalid(t, err, "Group not found")
	_, err = s.client.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("x")})
	wantInvalid(t, err, "only the Default group")
	_, err = s.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{GroupName: aws.String("x"),
		StartTime: aws.Time(seedStart), EndTime: aws.Time(seedStart.Add(time.Hour))})
	wantInvalid(t, err, "Group not found")
}
