package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/insights"
)

// callDocs is one request to front, which calls back: front's segment
// with the subsegment of the call, and back's segment. A fault in back
// makes both fault, as a propagated 500 does.
func callDocs(rng *rand.Rand, at time.Time, backFault bool) []string {
	traceID := fmt.Sprintf("1-%08x-%024x", at.Unix(), rng.Uint64())
	front, sub, back := fmt.Sprintf("%016x", rng.Uint64()), fmt.Sprintf("%016x", rng.Uint64()), fmt.Sprintf("%016x", rng.Uint64())
	s := float64(at.UnixMicro()) / 1e6
	status := 200
	if backFault {
		status = 500
	}
	return []string{
		fmt.Sprintf(`{"trace_id":%q,"id":%q,"parent_id":%q,"name":"back","origin":"AWS::EC2::Instance","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"GET","url":"http://back/item"},"response":{"status":%d}},"fault":%t}`,
			traceID, back, sub, s+0.01, s+0.05, status, backFault),
		fmt.Sprintf(`{"trace_id":%q,"id":%q,"name":"front","origin":"AWS::EC2::Instance","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"GET","url":"http://front/"},"response":{"status":%d}},"fault":%t,"subsegments":[{"id":%q,"name":"back","namespace":"remote","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"GET","url":"http://back/item"},"response":{"status":%d}},"fault":%t}]}`,
			traceID, front, s, s+0.06, status, backFault, sub, s+0.005, s+0.055, status, backFault),
	}
}

// traffic sends perMinute calls a minute in [from, to), the fraction
// faultShare of them with back faulting.
func (e *graphEnv) traffic(t *testing.T, rng *rand.Rand, from, to time.Time, perMinute int, faultShare float64) {
	t.Helper()
	var docs []string
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		for i := range perMinute {
			at := m.Add(time.Duration(i) * time.Minute / time.Duration(perMinute))
			docs = append(docs, callDocs(rng, at, float64(i) < faultShare*float64(perMinute))...)
		}
	}
	e.put(t, docs)
}

// seedInsight turns Insights on for the Default group, sends an hour of
// healthy traffic and then 5 minutes in which back faults, and evaluates
// at the end of the burst. It returns the insight opened.
func seedInsight(t *testing.T, e *graphEnv, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.reg.Update(ctx, groups.DefaultName, groups.UpdateInput{Insights: &groups.Insights{InsightsEnabled: true}}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	end := now.Truncate(time.Minute)
	e.traffic(t, rng, end.Add(-65*time.Minute), end.Add(-5*time.Minute), 2, 0)
	e.traffic(t, rng, end.Add(-5*time.Minute), end, 4, 1)
	if err := e.det.Evaluate(ctx, end); err != nil {
		t.Fatal(err)
	}
	list := e.det.List(end.Add(-time.Hour), end.Add(time.Minute), "", "")
	if len(list) != 1 {
		t.Fatalf("want one insight after the burst, got %d: %+v", len(list), list)
	}
	return list[0].ID
}

func TestInsightOpensAndCloses(t *testing.T) {
	dir := t.TempDir()
	e := startGraphEnv(t, dir)
	ctx := context.Background()
	g, err := e.reg.Create(ctx, groups.CreateInput{Name: "shop", FilterExpression: `service("front")`, Insights: &groups.Insights{InsightsEnabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-20 * time.Minute)
	// An hour of 10 requests a minute with one back fault in 100.
	e.traffic(t, rng, t0.Add(-65*time.Minute), t0.Add(-5*time.Minute), 10, 0.01)
	// Healthy so far: no insight.
	if err := e.det.Evaluate(ctx, t0.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if l := e.det.List(t0.Add(-2*time.Hour), t0, "", ""); len(l) != 0 {
		t.Fatalf("insight without a burst: %+v", l)
	}
	// The burst: 30 % of the requests fault in back for 5 minutes.
	e.traffic(t, rng, t0.Add(-5*time.Minute), t0, 10, 0.3)
	if err := e.det.Evaluate(ctx, t0); err != nil {
		t.Fatal(err)
	}
	sums, err := e.client.GetInsightSummaries(ctx, &awsxray.GetInsightSummariesInput{GroupName: &g.Name,
		StartTime: ptr(t0.Add(-time.Hour)), EndTime: ptr(t0.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums.InsightSummaries) != 1 {
		t.Fatalf("want one insight in group shop after the burst, got %+v", sums.InsightSummaries)
	}
	s := sums.InsightSummaries[0]
	if s.State != types.InsightStateActive || *s.RootCauseServiceId.Name != "back" || *s.GroupARN != g.ARN {
		t.Fatalf("insight: state %s, root cause %s, group %s; want ACTIVE, back, %s", s.State, *s.RootCauseServiceId.Name, *s.GroupARN, g.ARN)
	}
	if ci := s.ClientRequestImpactStatistics; *ci.TotalCount != 50 || *ci.FaultCount != 15 {
		t.Errorf("client impact %d faults of %d; want 15 of 50", *ci.FaultCount, *ci.TotalCount)
	}
	if len(s.TopAnomalousServices) != 2 || *s.TopAnomalousServices[0].ServiceId.Name != "back" {
		t.Errorf("top anomalous services: want back and front (propagated), got %d", len(s.TopAnomalousServices))
	}
	// It ends: healthy traffic again.
	e.traffic(t, rng, t0, t0.Add(6*time.Minute), 10, 0)
	if err := e.det.Evaluate(ctx, t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	in, err := e.client.GetInsight(ctx, &awsxray.GetInsightInput{InsightId: s.InsightId})
	if err != nil {
		t.Fatal(err)
	}
	if in.Insight.State != types.InsightStateClosed || in.Insight.EndTime == nil || !in.Insight.EndTime.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("after the burst: state %s, end %v; want CLOSED at %s", in.Insight.State, in.Insight.EndTime, t0.Add(6*time.Minute))
	}
	evs, err := e.client.GetInsightEvents(ctx, &awsxray.GetInsightEventsInput{InsightId: s.InsightId})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.InsightEvents) != 2 {
		t.Errorf("want an open and a close event, got %d", len(evs.InsightEvents))
	}
	// Insights persist: a new detector over the same store has it.
	e.stop(t)
	e2 := startGraphEnv(t, dir)
	got, ok := e2.det.Get(*s.InsightId)
	if !ok || got.State != "CLOSED" || got.RootCause.Name != "back" {
		t.Errorf("after a restart: %+v, %v", got, ok)
	}
}

func ptr[T any](v T) *T { return &v }

// TestForecastStatistics: with an hour of history, each period of the
// time series carries the expected band of fault counts; a burst lands
// above it.
func TestForecastStatistics(t *testing.T) {
	e := startGraphEnv(t, t.TempDir())
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	e.traffic(t, rng, t0.Add(-70*time.Minute), t0, 10, 0.1)
	e.traffic(t, rng, t0, t0.Add(time.Minute), 10, 0.8)
	out, err := e.client.GetTimeSeriesServiceStatistics(ctx, &awsxray.GetTimeSeriesServiceStatisticsInput{
		StartTime: ptr(t0.Add(-2 * time.Minute)), EndTime: ptr(t0.Add(time.Minute)),
		EntitySelectorExpression: ptr(`id(name: "back", type: "AWS::EC2::Instance")`), ForecastStatistics: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TimeSeriesServiceStatistics) != 3 {
		t.Fatalf("want 3 one-minute points, got %d", len(out.TimeSeriesServiceStatistics))
	}
	for i, p := range out.TimeSeriesServiceStatistics {
		f := p.ServiceForecastStatistics
		if f == nil || *f.FaultCountLow > *f.FaultCountHigh || *f.FaultCountHigh == 0 {
			t.Fatalf("point %d: forecast %+v", i, f)
		}
		faults := *p.ServiceSummaryStatistics.FaultStatistics.TotalCount
		// History: 1 fault a minute → the band [0, 4]; the burst's 8 is above it.
		if burst := i == 2; burst != (faults > *f.FaultCountHigh) {
			t.Errorf("point %d: %d faults, forecast [%d, %d]", i, faults, *f.FaultCountLow, *f.FaultCountHigh)
		}
	}
}

// TestServiceGraphExactWindow: a window that starts and ends inside
// minutes counts the requests that ended in it, not those of the whole
// minutes around it.
func TestServiceGraphExactWindow(t *testing.T) {
	e := startGraphEnv(t, t.TempDir())
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	// 10 requests a minute, at seconds 0, 6, …, 54; front answers 0.06 s later.
	e.traffic(t, rng, t0, t0.Add(3*time.Minute), 10, 0)
	from, to := t0.Add(10*time.Second), t0.Add(130*time.Second)
	out, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: &from, EndTime: &to})
	if err != nil {
		t.Fatal(err)
	}
	if !out.StartTime.Equal(from) || !out.EndTime.Equal(to) {
		t.Errorf("window %v – %v, want %v – %v", out.StartTime, out.EndTime, from, to)
	}
	var front, back int64 = -1, -1
	for _, s := range out.Services {
		if s.SummaryStatistics == nil {
			continue
		}
		switch *s.Name {
		case "front":
			front = *s.SummaryStatistics.TotalCount
		case "back":
			back = *s.SummaryStatistics.TotalCount
		}
	}
	// Minute 0: seconds 12…54 (8); minute 1: all 10; minute 2: seconds 0 and 6 (2).
	if front != 20 || back != 20 {
		t.Errorf("front %d, back %d requests; want 20 each (the rounded-out minutes hold 30)", front, back)
	}
	// Inside one minute.
	from, to = t0.Add(70*time.Second), t0.Add(100*time.Second)
	out, err = e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: &from, EndTime: &to})
	if err != nil {
		t.Fatal(err)
	}
	front = -1
	for _, s := range out.Services {
		if s.SummaryStatistics != nil && *s.Name == "front" {
			front = *s.SummaryStatistics.TotalCount
		}
	}
	if front != 5 {
		t.Errorf("70 s – 100 s: front %d requests, want 5 (72, 78, 84, 90, 96)", front)
	}
}

// TestReceivedEventAgeHistogram: an SQS consumer that links to the
// producer's SendMessage call gets a link edge whose histogram holds how
// long the message waited, in the service graph and in the trace graph.
func TestReceivedEventAgeHistogram(t *testing.T) {
	e := startGraphEnv(t, t.TempDir())
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	s := float64(at.Unix())
	tid := fmt.Sprintf("1-%08x-0123456789abcdef01234567", at.Unix())
	e.put(t, []string{
		fmt.Sprintf(`{"trace_id":%q,"id":"00000000000000a1","name":"producer","start_time":%.1f,"end_time":%.1f,"subsegments":[{"id":"00000000000000b1","name":"SQS","namespace":"aws","start_time":%.1f,"end_time":%.1f,"aws":{"operation":"SendMessage","queue_url":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}}]}`,
			tid, s+1, s+2, s+1.1, s+1.2),
		fmt.Sprintf(`{"trace_id":%q,"id":"00000000000000a2","name":"consumer","start_time":%.1f,"end_time":%.1f,"links":[{"trace_id":%q,"id":"00000000000000b1"}]}`,
			tid, s+3, s+4, tid),
	})
	check := func(what string, svcs []types.Service) {
		t.Helper()
		links := 0
		for _, sv := range svcs {
			for _, ed := range sv.Edges {
				if ed.EdgeType == nil || *ed.EdgeType != "link" {
					if ed.ReceivedEventAgeHistogram != nil {
						t.Errorf("%s: a histogram on a %s edge", what, *sv.Name)
					}
					continue
				}
				links++
				h := ed.ReceivedEventAgeHistogram
				// Sent at 1.2 s, received at 3 s: 1.8 s (±2 % from the counters' buckets).
				if len(h) != 1 || h[0].Count != 1 || h[0].Value < 1.76 || h[0].Value > 1.84 {
					t.Errorf("%s: age histogram %+v, want 1 event of 1.8 s", what, h)
				}
			}
		}
		if links != 1 {
			t.Errorf("%s: %d link edges, want 1", what, links)
		}
	}
	sg, err := e.client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: ptr(at), EndTime: ptr(at.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	check("GetServiceGraph", sg.Services)
	tg, err := e.client.GetTraceGraph(ctx, &awsxray.GetTraceGraphInput{TraceIds: []string{tid}})
	if err != nil {
		t.Fatal(err)
	}
	check("GetTraceGraph", tg.Services)
}

// TestInsightsOneEvaluatorPerGroup is two nodes sharing one store: a group
// is evaluated by the node its Evaluates says, so the burst is one
// insight, not one per node, and the other node serves it after Reload.
func TestInsightsOneEvaluatorPerGroup(t *testing.T) {
	e := startGraphEnv(t, t.TempDir())
	ctx := context.Background()
	// e.det is node 0; node 1 shares the store and evaluates nothing (as
	// when the rendezvous gives every group to node 0).
	other, err := insights.Open(ctx, e.st, e.st, e.reg, insights.Options{Logger: quiet, Evaluates: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	id := seedInsight(t, e, now) // evaluates on node 0
	if err := other.Evaluate(ctx, now.Truncate(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if l := other.List(now.Add(-2*time.Hour), now.Add(time.Minute), "", ""); len(l) != 0 {
		t.Fatalf("a node that evaluates no group opened insights or saw them before Reload: %+v", l)
	}
	if err := other.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	l := other.List(now.Add(-2*time.Hour), now.Add(time.Minute), "", "")
	if len(l) != 1 || l[0].ID != id || l[0].State != insights.Active {
		t.Fatalf("after Reload node 1 lists %+v; want node 0's insight %s", l, id)
	}
	stored := 0
	for _, err := range e.st.ListMeta(ctx, "insight/") {
		if err != nil {
			t.Fatal(err)
		}
		stored++
	}
	if stored != 1 {
		t.Fatalf("%d insights stored; want 1", stored)
	}
	// Node 0's own insights survive its Reload even before they are
	// stored again (it is their only writer).
	if err := e.det.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.det.Get(id); !ok {
		t.Fatal("node 0 lost its insight on Reload")
	}
}
