package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/server"
)

func TestFormatInsights(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	out := formatInsights([]types.InsightSummary{{
		InsightId: aws.String("0f8e2a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b"), GroupName: aws.String("shop"), State: types.InsightStateActive,
		RootCauseServiceId: &types.ServiceId{Name: aws.String("back"), Type: aws.String("AWS::EC2::Instance")},
		StartTime:          &start, Summary: aws.String("back is impacted"),
		ClientRequestImpactStatistics: &types.RequestImpactStatistics{FaultCount: aws.Int64(15), TotalCount: aws.Int64(50)},
	}})
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "GROUP") || !strings.Contains(lines[1], "shop") || !strings.Contains(lines[1], "ACTIVE") ||
		!strings.Contains(lines[1], "back [AWS::EC2::Instance]") || !strings.Contains(lines[1], "2026-03-01 12:00:00") ||
		!strings.Contains(lines[1], "15/50") || !strings.Contains(out, "0f8e2a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b: back is impacted") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestInsightsCommand(t *testing.T) {
	endpoint := startQueryServer(t)
	code, out, errOut := runCLI("insights", "--endpoint", endpoint, "--since", "1h")
	if code != 0 || out != "" || !strings.Contains(errOut, "no insights from") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI("insights", "--endpoint", endpoint, "--state", "open"); code != 2 || !strings.Contains(errOut, "want ACTIVE or CLOSED") {
		t.Fatalf("--state open: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("insights", "--endpoint", endpoint, "--group", "nope"); code == 0 || !strings.Contains(errOut, "Group not found") {
		t.Fatalf("--group nope: exit %d, %q", code, errOut)
	}
}

func TestInsightsHelp(t *testing.T) {
	code, out, errOut := runCLI("insights", "-h")
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "usage: counterspy insights [flags]\n") ||
		!strings.Contains(errOut, "\nExamples:\n  counterspy insights") || !strings.Contains(errOut, "\nFlags:\n") || !strings.Contains(errOut, "-json") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// TestInsightsCommandLists opens a real insight (group shop, a fault burst
// in back, detection evaluated at the burst's end) and reads it back as a
// table and as JSON.
func TestInsightsCommandLists(t *testing.T) {
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), FlushInterval: 10 * time.Millisecond, NoSync: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	endpoint := "http://" + srv.HTTPAddr()
	resp, err := http.Post(endpoint+"/CreateGroup", "application/json",
		strings.NewReader(`{"GroupName":"shop","FilterExpression":"service(\"front\")","InsightsConfiguration":{"InsightsEnabled":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("CreateGroup: %s", resp.Status)
	}
	ctx := context.Background()
	end := time.Now().UTC().Truncate(time.Minute)
	dec := segment.NewDecoder(0)
	var segs []segment.Segment
	n := 0
	// An hour of 2 healthy calls a minute, then 5 minutes of 4 failing ones.
	for m := end.Add(-65 * time.Minute); m.Before(end); m = m.Add(time.Minute) {
		calls, fault := 2, false
		if !m.Before(end.Add(-5 * time.Minute)) {
			calls, fault = 4, true
		}
		for i := range calls {
			n++
			at := float64(m.Add(time.Duration(i)*10*time.Second).UnixMicro()) / 1e6
			status := map[bool]int{false: 200, true: 500}[fault]
			id := fmt.Sprintf("1-%08x-%024x", m.Unix(), n)
			docs := []string{
				fmt.Sprintf(`{"trace_id":%q,"id":"%016x","parent_id":"%016x","name":"back","start_time":%.6f,"end_time":%.6f,"http":{"response":{"status":%d}},"fault":%t}`, id, 3*n, 2*n, at+0.01, at+0.02, status, fault),
				fmt.Sprintf(`{"trace_id":%q,"id":"%016x","name":"front","start_time":%.6f,"end_time":%.6f,"http":{"response":{"status":%d}},"fault":%t,"subsegments":[{"id":"%016x","name":"back","namespace":"remote","start_time":%.6f,"end_time":%.6f,"http":{"response":{"status":%d}},"fault":%t}]}`,
					id, 3*n+1, at, at+0.03, status, fault, 2*n, at+0.005, at+0.025, status, fault),
			}
			for _, d := range docs {
				if segs, err = dec.Decode(segs, []byte(d)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := srv.Pipeline().SubmitWait(ctx, segs); err != nil {
		t.Fatal(err)
	}
	if err := srv.EvaluateInsights(ctx, end); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI("insights", "--endpoint", endpoint, "--since", "2h", "--group", "shop")
	if code != 0 || !strings.Contains(out, "ACTIVE") || !strings.Contains(out, "back") || !strings.Contains(out, "20/20") {
		t.Fatalf("table: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCLI("insights", "--endpoint", endpoint, "--since", "2h", "--json")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 1 {
		t.Fatalf("--json: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	var got struct {
		InsightId          string
		State              string
		GroupName          string
		StartTime          float64
		RootCauseServiceId struct{ Name string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("--json line is not JSON: %v: %s", err, lines[0])
	}
	if got.State != "ACTIVE" || got.GroupName != "shop" || got.RootCauseServiceId.Name != "back" || got.StartTime != float64(end.Unix()) || got.InsightId == "" {
		t.Errorf("--json: %+v; want the ACTIVE insight of shop, root cause back, started %d", got, end.Unix())
	}
}
