package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

func TestMapCommand(t *testing.T) {
	endpoint := startQueryServer(t)
	putScenarioTraces(t, endpoint, "seed", 0, 60, time.Now().Add(-time.Minute))

	code, out, errOut := runCLI("map", "--endpoint", endpoint, "--since", "1h")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	nodes, edges, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("want a nodes table and an edges table:\n%s", out)
	}
	nodeRows := strings.Split(strings.TrimSpace(nodes), "\n")
	edgeRows := strings.Split(strings.TrimSpace(edges), "\n")
	if len(nodeRows) != 1+7 || len(edgeRows) != 1+9 {
		t.Fatalf("%d node rows and %d edge rows, want 7 and 9:\n%s", len(nodeRows)-1, len(edgeRows)-1, out)
	}
	if !strings.HasPrefix(nodeRows[0], "SERVICE") || !strings.HasPrefix(edgeRows[0], "CALLER") {
		t.Fatalf("headers:\n%s", out)
	}
	// items is busiest: every invocation that did not fail writes to it.
	if !strings.HasPrefix(nodeRows[1], "items ") || !strings.Contains(nodeRows[1], "AWS::DynamoDB::Table") {
		t.Fatalf("first node row %q", nodeRows[1])
	}
	var pyFunction string
	for _, r := range nodeRows[1:] {
		f := strings.Fields(r)
		fault := f[len(f)-5]
		if strings.Contains(r, "xraystarter-py") && strings.Contains(r, "AWS::Lambda::Function") {
			pyFunction = r
			if fault == "0.0%" {
				t.Fatalf("no faults on the Python function: %q", r)
			}
		} else if fault != "0.0%" {
			t.Fatalf("faults on %q", r)
		}
		if strings.Contains(r, " AWS::Lambda ") != strings.HasPrefix(r, "* ") {
			t.Fatalf("entry services (and only they) are starred: %q", r)
		}
	}
	if pyFunction == "" {
		t.Fatalf("no Python function row:\n%s", out)
	}
	flat := strings.Join(strings.Fields(edges), " ")
	if !strings.Contains(flat, "client (of xraystarter-go) xraystarter-go [AWS::Lambda] 20 0.0% 0.0% 0.0%") ||
		!strings.Contains(flat, "xraystarter-ts [AWS::Lambda::Function] items [AWS::DynamoDB::Table] 20 ") {
		t.Fatalf("edges:\n%s", edges)
	}

	code, _, errOut = runCLI("map", "--endpoint", endpoint, "--group", "nope")
	if code != 2 || !strings.Contains(errOut, "Group not found") {
		t.Fatalf("unknown group: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI("map", "--endpoint", endpoint, "--since", "25h")
	if code != 2 || !strings.Contains(errOut, "24 hours") {
		t.Fatalf("long window: exit %d, stderr %q", code, errOut)
	}
	// An empty map says so on stderr.
	code, out, errOut = runCLI("map", "--endpoint", endpoint, "--end", "2020-01-01T00:00:00Z")
	if code != 0 || out != "" || !strings.Contains(errOut, "no requests") {
		t.Fatalf("empty map: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestPercentile(t *testing.T) {
	h := []types.HistogramEntry{{Value: 0.3, Count: 1}, {Value: 0.1, Count: 8}, {Value: 0.2, Count: 1}}
	f := func(q, want float64) {
		t.Helper()
		if got, ok := percentile(h, q); !ok || got != want {
			t.Fatalf("p%v = %v, want %v", q*100, got, want)
		}
	}
	f(0.5, 0.1)
	f(0.8, 0.1)
	f(0.9, 0.2)
	f(0.99, 0.3)
	if _, ok := percentile(nil, 0.5); ok {
		t.Fatal("percentile of nothing")
	}
	for sec, want := range map[float64]string{0.00042: "0.42ms", 0.098: "98ms", 1.25: "1.25s", 125: "2m5s"} {
		if got := latency(sec); got != want {
			t.Fatalf("latency(%v) = %q, want %q", sec, got, want)
		}
	}
}
