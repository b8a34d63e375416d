package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
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
