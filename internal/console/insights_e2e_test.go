package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/server"
)

// insightCall is one request to checkout, which calls payments; a fault
// in payments makes both fault, as a propagated 500 does.
func insightCall(rng *rand.Rand, at time.Time, fault bool) []string {
	traceID := fmt.Sprintf("1-%08x-%024x", at.Unix(), rng.Uint64())
	front, sub, back := fmt.Sprintf("%016x", rng.Uint64()), fmt.Sprintf("%016x", rng.Uint64()), fmt.Sprintf("%016x", rng.Uint64())
	s := float64(at.UnixMicro()) / 1e6
	status := 200
	if fault {
		status = 500
	}
	return []string{
		fmt.Sprintf(`{"trace_id":%q,"id":%q,"parent_id":%q,"name":"payments","origin":"AWS::ECS::Container","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"POST","url":"http://payments/charge"},"response":{"status":%d}},"fault":%t}`,
			traceID, back, sub, s+0.01, s+0.05, status, fault),
		fmt.Sprintf(`{"trace_id":%q,"id":%q,"name":"checkout","origin":"AWS::ECS::Container","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"POST","url":"http://checkout/order"},"response":{"status":%d}},"fault":%t,"subsegments":[{"id":%q,"name":"payments","namespace":"remote","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"POST","url":"http://payments/charge"},"response":{"status":%d}},"fault":%t}]}`,
			traceID, front, s, s+0.06, status, fault, sub, s+0.005, s+0.055, status, fault),
	}
}

// seedInsights creates the group "shop" with Insights on and sends it
// checkout → payments traffic with two fault bursts in payments, evaluating
// detection as `serve` does once a minute: the first burst (40 to 35
// minutes before end) opens an insight that closes when it ends, the
// second (the last 5 minutes) opens one that is still ACTIVE. It returns
// the end of the traffic (a whole minute).
func seedInsights(t *testing.T, srv *server.Server, base string) time.Time {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	code, out := post(t, c, base+"/CreateGroup", `{"GroupName":"shop","FilterExpression":"service(\"checkout\")","InsightsConfiguration":{"InsightsEnabled":true}}`)
	if code != 200 {
		t.Fatalf("CreateGroup shop: %d %v", code, out)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	end := time.Now().UTC().Truncate(time.Minute)
	send := func(from, to time.Time, perMinute int, fault bool) {
		t.Helper()
		dec := segment.NewDecoder(0)
		var segs []segment.Segment
		var err error
		for m := from; m.Before(to); m = m.Add(time.Minute) {
			for i := range perMinute {
				for _, d := range insightCall(rng, m.Add(time.Duration(i)*time.Minute/time.Duration(perMinute)), fault) {
					if segs, err = dec.Decode(segs, []byte(d)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := srv.Pipeline().SubmitWait(ctx, segs); err != nil {
			t.Fatal(err)
		}
	}
	evaluate := func(at time.Time) {
		t.Helper()
		if err := srv.EvaluateInsights(ctx, at); err != nil {
			t.Fatalf("evaluate insights at %v: %v", at, err)
		}
	}
	send(end.Add(-100*time.Minute), end.Add(-40*time.Minute), 2, false)
	send(end.Add(-40*time.Minute), end.Add(-35*time.Minute), 4, true)
	evaluate(end.Add(-35 * time.Minute))
	send(end.Add(-35*time.Minute), end.Add(-5*time.Minute), 2, false)
	evaluate(end.Add(-29 * time.Minute))
	send(end.Add(-5*time.Minute), end, 4, true)
	evaluate(end)

	now := time.Now().Unix()
	code, out = post(t, c, base+"/InsightSummaries", `{"GroupName":"shop","StartTime":`+itoa(now-3*3600)+`,"EndTime":`+itoa(now+60)+`}`)
	list, _ := out["InsightSummaries"].([]any)
	if code != 200 || len(list) != 2 {
		t.Fatalf("GetInsightSummaries after two bursts: %d %v; want two insights", code, out)
	}
	return end
}
