package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server/servertest"
)

// startQueryServer runs a server in-process and returns its API endpoint.
func startQueryServer(t *testing.T) string {
	t.Helper()
	return "http://" + servertest.Start(t).HTTPAddr()
}

// putScenarioTraces sends traces first..first+n-1 of a loadgen scenario
// with PutTraceSegments, as the AWS SDK does, and returns their IDs. A 200
// answer means the documents are durable, so they can be read at once.
func putScenarioTraces(t *testing.T, endpoint, scenario string, first, n int, start time.Time) []string {
	t.Helper()
	sc, err := loadgen.New(scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	client := awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   sdkhttp.Client(),
	})
	var ids []string
	for i := first; i < first+n; i++ {
		tr := sc.Trace(i, start)
		var docs []string
		for _, d := range tr.Docs {
			docs = append(docs, string(d.JSON))
		}
		out, err := client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.UnprocessedTraceSegments) > 0 {
			t.Fatalf("unprocessed segments: %+v", out.UnprocessedTraceSegments)
		}
		ids = append(ids, tr.ID.String())
	}
	return ids
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// outline is the name column of a timeline: "  Dwell Time" for each row,
// up to the first blank line.
func outline(t *testing.T, timeline string) []string {
	t.Helper()
	rows, _, _ := strings.Cut(timeline, "\n\n")
	lines := strings.Split(rows, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("not a timeline:\n%s", timeline)
	}
	var names []string
	for _, l := range lines[1:] {
		rest := strings.TrimLeft(l, " ")
		name, _, _ := strings.Cut(rest, "  ") // columns are two spaces apart
		names = append(names, l[:len(l)-len(rest)]+name)
	}
	return names
}

func TestTraceCommandShowsSeedTrace(t *testing.T) {
	endpoint := startQueryServer(t)
	// Trace 0 of the seed scenario is the Go function: an asynchronously
	// invoked Lambda function writing to DynamoDB, its SDK subsegment
	// streamed as an independent document.
	ids := putScenarioTraces(t, endpoint, "seed", 0, 1, time.Now())
	id := ids[0]

	code, out, errOut := runCLI("trace", id, "--endpoint", endpoint, "--color", "never", "--width", "160")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := outline(t, out)
	want := []string{
		"xraystarter-go",
		"  Dwell Time",
		"  Attempt #1",
		"xraystarter-go",
		"  Initialization",
		"  Invocation",
		"    DynamoDB",
		"  Overhead",
		"DynamoDB (inferred)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline rows:\n%s\nwant names %q\ngot %q", out, want, got)
	}
	for _, s := range []string{"AWS::Lambda ", "AWS::Lambda::Function", "AWS::DynamoDB::Table", " 202 ", " 200 "} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in\n%s", s, out)
		}
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + ` · \d+\.\dms · 3 segments \(1 inferred\) · `).MatchString(out) {
		t.Errorf("no summary line for %s in\n%s", id, out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("colors with --color never:\n%q", out)
	}

	// --raw: the compiled documents, indented; the streamed DynamoDB
	// subsegment is nested in Invocation.
	code, out, errOut = runCLI("trace", "--raw", "--endpoint", endpoint, id)
	if code != 0 {
		t.Fatalf("--raw: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\n  \"id\": ") {
		t.Errorf("--raw output is not indented JSON:\n%s", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var origins []string
	nested := false
	for dec.More() {
		var doc struct {
			Origin      string
			Subsegments []struct {
				Name        string
				Subsegments []struct{ Name string }
			}
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("--raw output: %v\n%s", err, out)
		}
		origins = append(origins, doc.Origin)
		for _, s := range doc.Subsegments {
			if s.Name == "Invocation" && len(s.Subsegments) == 1 && s.Subsegments[0].Name == "DynamoDB" {
				nested = true
			}
		}
	}
	slices.Sort(origins)
	if want := []string{"AWS::DynamoDB::Table", "AWS::Lambda", "AWS::Lambda::Function"}; !slices.Equal(origins, want) {
		t.Errorf("--raw documents have origins %q, want %q", origins, want)
	}
	if !nested {
		t.Errorf("--raw: DynamoDB is not nested in Invocation:\n%s", out)
	}
}

func TestTraceCommandSeveralAndMissing(t *testing.T) {
	endpoint := startQueryServer(t)
	// Seven traces: more than the five IDs BatchGetTraces takes at once.
	ids := putScenarioTraces(t, endpoint, "large", 0, 7, time.Now())
	missing := "1-00000001-000000000000000000000001"
	args := append([]string{"trace", "--endpoint", endpoint, "--color", "never"}, ids...)
	args = append(args, missing, ids[0]) // a duplicate is shown once
	code, out, errOut := runCLI(args...)
	if code != 1 {
		t.Errorf("exit %d, want 1 (one trace missing)", code)
	}
	var shown []string
	for _, l := range strings.Split(out, "\n") {
		if id, _, ok := strings.Cut(l, " · "); ok && strings.HasPrefix(id, "1-") {
			shown = append(shown, id)
		}
	}
	if !slices.Equal(shown, ids) {
		t.Errorf("timelines shown for %q, want %q in that order", shown, ids)
	}
	if want := "counterspy trace: trace " + missing + ": not found on " + endpoint + "\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

func TestTraceCommandUsage(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		code, _, errOut := runCLI(append([]string{"trace"}, args...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
	f("no trace ID given")
	f(`trace ID "1-abc": must be 35 characters`, "1-abc")
	f(`trace ID "1-6955B900-22FBD2E55981CD6CD7BBF2D3": must be lowercase hexadecimal`, "1-6955B900-22FBD2E55981CD6CD7BBF2D3")
	f(`--color "sometimes"`, "--color", "sometimes", "1-6955b900-22fbd2e55981cd6cd7bbf2d3")
	f(`--width -3`, "--width", "-3", "1-6955b900-22fbd2e55981cd6cd7bbf2d3")
	f(`--endpoint "ftp://x": want a URL`, "--endpoint", "ftp://x", "1-6955b900-22fbd2e55981cd6cd7bbf2d3")
	f(`flag provided but not defined: -bogus`, "1-6955b900-22fbd2e55981cd6cd7bbf2d3", "--bogus")
}

func TestTraceCommandConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, _, errOut := runCLI("trace", "1-6955b900-22fbd2e55981cd6cd7bbf2d3", "--endpoint", addr)
	if want := "is counterspy serve running on " + addr + "?"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

func TestParseInterspersed(t *testing.T) {
	f := func(args []string, wantPos []string, wantRaw bool) {
		t.Helper()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		raw := fs.Bool("raw", false, "")
		fs.String("endpoint", "", "")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !slices.Equal(pos, wantPos) || *raw != wantRaw {
			t.Errorf("%q: positional %q raw %v, want %q %v", args, pos, *raw, wantPos, wantRaw)
		}
	}
	f(nil, nil, false)
	f([]string{"a"}, []string{"a"}, false)
	f([]string{"a", "--raw", "b"}, []string{"a", "b"}, true)
	f([]string{"--endpoint", "x", "a", "-raw"}, []string{"a"}, true)
	f([]string{"a", "--", "--raw", "b"}, []string{"a", "--raw", "b"}, false)
}

func TestChunks(t *testing.T) {
	var got [][]int
	for c := range chunks([]int{1, 2, 3, 4, 5, 6, 7}, 5) {
		got = append(got, c)
	}
	if len(got) != 2 || !slices.Equal(got[0], []int{1, 2, 3, 4, 5}) || !slices.Equal(got[1], []int{6, 7}) {
		t.Errorf("chunks: %v", got)
	}
}
