package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
)

// TestClickHouseStore runs the server on a real ClickHouse server
// (Config.Store = clickhouse://...): segments in through the API, traces,
// summaries and the service graph out; /healthz reports ClickHouse going
// away.
func TestClickHouseStore(t *testing.T) {
	ch := chtest.StartTest(t)
	srv, err := server.Start(server.Config{
		Addr:          "127.0.0.1:0",
		DataDir:       t.TempDir(),
		Store:         "clickhouse://" + ch.Addr + "/e2e",
		FlushInterval: 10 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx) // ClickHouse may be gone by now: errors are expected
	})
	client := xrayClient(srv)
	ctx := context.Background()
	now := time.Now()
	traceID := fmt.Sprintf("1-%08x-%024x", now.Unix(), 7)
	start := float64(now.UnixMicro())/1e6 - 1
	docs := []string{
		fmt.Sprintf(`{"trace_id":"%s","id":"70de5b6f19ff9a0a","name":"web","start_time":%f,"end_time":%f,"http":{"request":{"method":"GET","url":"https://example.com/"},"response":{"status":500}},"fault":true,`+
			`"subsegments":[{"id":"70de5b6f19ff9a0b","name":"db","namespace":"remote","start_time":%f,"end_time":%f}]}`, traceID, start, start+0.5, start+0.1, start+0.2),
	}
	out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil || len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("PutTraceSegments: %v %+v", err, out)
	}
	got, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
	if err != nil || len(got.Traces) != 1 {
		t.Fatalf("BatchGetTraces: %v %+v", err, got)
	}
	var segIDs []string // the segment, and the inferred one for db
	for _, s := range got.Traces[0].Segments {
		segIDs = append(segIDs, aws.ToString(s.Id))
	}
	if !slices.Contains(segIDs, "70de5b6f19ff9a0a") {
		t.Fatalf("BatchGetTraces: segments %v, want 70de5b6f19ff9a0a among them", segIDs)
	}
	var ids []string
	waitFor(t, "the trace to be searchable", func() bool {
		sums, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
			StartTime: aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now.Add(time.Minute)), FilterExpression: aws.String(`fault AND http.status = 500`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, s := range sums.TraceSummaries {
			ids = append(ids, aws.ToString(s.Id))
		}
		return len(ids) > 0
	})
	if len(ids) != 1 || ids[0] != traceID {
		t.Fatalf("GetTraceSummaries: %v, want [%s]", ids, traceID)
	}
	g, err := client.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: aws.Time(now.Add(-2 * time.Minute)), EndTime: aws.Time(now.Add(2 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range g.Services {
		names = append(names, aws.ToString(s.Name))
	}
	if !strings.Contains(strings.Join(names, ","), "db") {
		t.Fatalf("service graph: %v, want web calling db", names)
	}
	if status, body := getJSON(t, "http://"+srv.HTTPAddr()+"/healthz"); status != 200 {
		t.Fatalf("/healthz with ClickHouse up: %d %q", status, body)
	}
	ch.Kill()
	if status, body := getJSON(t, "http://"+srv.HTTPAddr()+"/healthz"); status != 503 || !strings.Contains(body, ch.Addr) {
		t.Fatalf("/healthz with ClickHouse gone: %d %q, want 503 naming %s", status, body, ch.Addr)
	}
	// A query that cannot reach ClickHouse is a temporary failure (503,
	// which the AWS SDKs retry), not an internal one.
	body := fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, now.Add(-time.Minute).Unix(), now.Add(time.Minute).Unix())
	resp, err := http.Post("http://"+srv.HTTPAddr()+"/TraceSummaries", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "ServiceUnavailableException") || !strings.Contains(string(b), ch.Addr) {
		t.Fatalf("GetTraceSummaries with ClickHouse gone: %d %s, want 503 ServiceUnavailableException naming %s", resp.StatusCode, b, ch.Addr)
	}
}
