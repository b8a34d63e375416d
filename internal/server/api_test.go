package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/testenv"
)

const (
	traceA = "1-581cf771-a006649127e371903a2de979"
	segA   = `{"name":"example.com","id":"70de5b6f19ff9a0a","start_time":1.478293361271E9,"trace_id":"1-581cf771-a006649127e371903a2de979","end_time":1.478293361449E9}`
)

func TestPutTraceSegmentsReportsEachRejectedDocument(t *testing.T) {
	srv := startServer(t)
	client := xrayClient(srv)
	ctx := context.Background()
	docs := []string{
		segA,
		`{"name":"x","id":"70de5b6f19ff9a0b","start_time":1,"end_time":2,"trace_id":"1-zz"}`,
		`{"name":"x","id":"70de5b6f19ff9a0c","trace_id":"` + traceA + `","end_time":2}`,
		`{"name":"x","id":"70de5b6f19ff9a0d"`,
		`{"name":"x","id":"70de5b6f19ff9a0e","start_time":5,"end_time":2,"trace_id":"` + traceA + `"}`,
		`{"name":"x","id":"70de5b6f19ff9a0f","start_time":1.4782933613E9,"end_time":1.4782933614E9,"trace_id":"` + traceA + `","annotations":{"a":{"b":1}}}`,
		`{"name":"x","id":"70de5b6f19ff9a10","start_time":1,"end_time":2,"trace_id":"` + traceA + `","padding":"` + strings.Repeat("p", 70000) + `"}`,
	}
	out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range out.UnprocessedTraceSegments {
		got = append(got, aws.ToString(u.Id)+" "+aws.ToString(u.ErrorCode))
		if aws.ToString(u.Message) == "" {
			t.Errorf("rejection of %q has no message", aws.ToString(u.Id))
		}
	}
	// X-Ray's codes: InvalidTraceId, else InvalidSegment (the message says
	// more). The document with an annotation that cannot be indexed is
	// kept without it.
	want := []string{
		"70de5b6f19ff9a0b InvalidTraceId",
		"70de5b6f19ff9a0c InvalidSegment",
		" InvalidSegment", // the id of an unparseable document is unknown
		"70de5b6f19ff9a0e InvalidSegment",
		" InvalidSegment", // refused before it is parsed
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The valid document was stored: it is readable as soon as the call returned.
	tr, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceA}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Traces) != 1 || len(tr.Traces[0].Segments) != 2 || !slices.ContainsFunc(tr.Traces[0].Segments, func(s types.Segment) bool { return aws.ToString(s.Document) == segA }) {
		t.Fatalf("BatchGetTraces after an acknowledged put: %+v", tr.Traces)
	}
	if d := aws.ToFloat64(tr.Traces[0].Duration); d != 0.178 {
		t.Errorf("Duration %v, want 0.178", d)
	}
	// The repaired document: kept without the bad annotation, with a note,
	// counted by field.
	var repaired string
	for _, s := range tr.Traces[0].Segments {
		if aws.ToString(s.Id) == "70de5b6f19ff9a0f" {
			repaired = aws.ToString(s.Document)
		}
	}
	if !strings.Contains(repaired, `"ingest_repairs":[{"path":"annotations.a","action":"dropped"`) || strings.Contains(repaired, `"b":1`) {
		t.Errorf("repaired document: %s", repaired)
	}
	if _, body := getJSON(t, "http://"+srv.HTTPAddr()+"/metrics"); !strings.Contains(body, `counterspy_segment_fields_repaired_total{protocol="api",field="annotations",action="dropped"} 1`+"\n") {
		t.Errorf("/metrics does not count the repair")
	}
}

func TestBatchGetTracesLimitsAndUnknownIDs(t *testing.T) {
	srv := startServer(t)
	client := xrayClient(srv)
	ctx := context.Background()
	ids := []string{traceA, "1-581cf771-a006649127e371903a2de970", "1-581cf771-a006649127e371903a2de971",
		"1-581cf771-a006649127e371903a2de972", "1-581cf771-a006649127e371903a2de973", "1-581cf771-a006649127e371903a2de974"}
	_, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids})
	if code := apiErrorCode(err); code != "InvalidRequestException" || !strings.Contains(err.Error(), "Exceeding maximum query size: 5") {
		t.Fatalf("6 IDs: err = %v", err)
	}
	out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{"1-581cf771-a006649127e371903a2de970", "not-an-id"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Traces) != 0 || len(out.UnprocessedTraceIds) != 1 || out.UnprocessedTraceIds[0] != "not-an-id" {
		t.Fatalf("unknown and malformed IDs: %+v", out)
	}
}

func TestSamplingRulesForSDKs(t *testing.T) {
	srv := startServer(t)
	out, err := xrayClient(srv).GetSamplingRules(context.Background(), &awsxray.GetSamplingRulesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SamplingRuleRecords) != 1 {
		t.Fatalf("rules %+v", out.SamplingRuleRecords)
	}
	r := out.SamplingRuleRecords[0].SamplingRule
	if aws.ToString(r.RuleName) != "Default" || r.Priority == nil || *r.Priority != 10000 || r.FixedRate != 1 ||
		aws.ToString(r.ServiceType) != "*" || r.Attributes == nil || r.Version == nil || *r.Version != 1 {
		t.Fatalf("default rule %+v", r)
	}
}

func TestAWSCLI(t *testing.T) {
	cli := testenv.AWSCLI(t)
	srv := startServer(t)
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"xray", "--endpoint-url", "http://" + srv.HTTPAddr(), "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		code := 0
		if err != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return string(out), code
	}
	out, code := run("put-trace-segments", "--trace-segment-documents", segA, `{"name":"x"}`)
	if code != 0 {
		t.Fatalf("put-trace-segments exit %d: %s", code, out)
	}
	var put struct{ UnprocessedTraceSegments []struct{ ErrorCode string } }
	if err := json.Unmarshal([]byte(out), &put); err != nil || len(put.UnprocessedTraceSegments) != 1 || put.UnprocessedTraceSegments[0].ErrorCode != "InvalidSegment" {
		t.Fatalf("put-trace-segments: %v %s", err, out)
	}
	out, code = run("batch-get-traces", "--trace-ids", traceA)
	var get struct {
		Traces []struct {
			Id       string
			Segments []struct{ Id, Document string }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &get) != nil || len(get.Traces) != 1 || get.Traces[0].Segments[0].Document != segA {
		t.Fatalf("batch-get-traces exit %d: %s", code, out)
	}
	// A client error: the CLI reads the code from x-amzn-ErrorType and exits 254.
	out, code = run("batch-get-traces", "--trace-ids", "1", "2", "3", "4", "5", "6")
	if code != 254 || !strings.Contains(out, "InvalidRequestException") || !strings.Contains(out, "Exceeding maximum query size: 5") {
		t.Fatalf("6 IDs: exit %d: %s", code, out)
	}
}

func TestUDPGarbageIsCountedAndHarmless(t *testing.T) {
	srv := startServer(t)
	conn, err := net.Dial("udp", srv.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(s string) {
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	send("no header at all")
	send("{\"format\":\"xml\",\"version\":1}\n{}")
	send("{\"format\": \"json\", \"version\": 1}\n{not json")
	send("{\"format\": \"json\", \"version\": 1}\n{\"name\":\"x\",\"id\":\"70de5b6f19ff9a0a\",\"start_time\":1}")
	send("{\"format\": \"json\", \"version\": 1}\n" + segA)

	client := xrayClient(srv)
	waitFor(t, "the valid datagram to be stored", func() bool {
		out, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{traceA}})
		return err == nil && len(out.Traces) == 1
	})
	var body string
	waitFor(t, "the stored counter", func() bool {
		var status int
		status, body = getJSON(t, "http://"+srv.HTTPAddr()+"/metrics")
		return status == 200 && strings.Contains(body, "counterspy_segments_stored_total 1\n")
	})
	for _, want := range []string{
		`counterspy_udp_datagrams_received_total 5`,
		`counterspy_segments_received_total{protocol="udp"} 1`,
		`counterspy_segments_rejected_total{protocol="udp",reason="MissingHeader"} 1`,
		`counterspy_segments_rejected_total{protocol="udp",reason="InvalidHeader"} 1`,
		`counterspy_segments_rejected_total{protocol="udp",reason="InvalidJson"} 1`,
		`counterspy_segments_rejected_total{protocol="udp",reason="MissingRequiredField"} 1`,
		`counterspy_segments_stored_total 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if status, body := getJSON(t, "http://"+srv.HTTPAddr()+"/healthz"); status != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", status, body)
	}
}

func TestErrorEnvelope(t *testing.T) {
	srv := startServer(t)
	f := func(method, path, body string, wantStatus int, wantType string) {
		t.Helper()
		req, _ := newRequest(method, "http://"+srv.HTTPAddr()+path, body)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
		}
		if resp.StatusCode != wantStatus || resp.Header.Get("x-amzn-ErrorType") != wantType || e.Type != wantType || e.Message == "" ||
			resp.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %s %.80q: status %d, x-amzn-ErrorType %q, body %+v", method, path, body, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), e)
		}
	}
	f("POST", "/Traces", `{"TraceIds":`, 400, "InvalidRequestException")
	f("POST", "/Traces", `{}`, 400, "InvalidRequestException")
	f("POST", "/TraceSegments", `{}`, 400, "InvalidRequestException")
	f("POST", "/TraceSegments", `{"TraceSegmentDocuments":"not a list"}`, 400, "InvalidRequestException")
	f("GET", "/Traces", ``, 405, "InvalidRequestException")
	f("POST", "/NoSuchOperation", `{}`, 404, "UnknownOperationException")
	f("POST", "/TraceSegments", fmt.Sprintf(`{"TraceSegmentDocuments":["%s"]}`, strings.Repeat("a", 9<<20)), 413, "RequestEntityTooLargeException")
}
