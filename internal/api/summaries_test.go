package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// t0 is the second the test traces start around: 2024-05-01T10:00:00Z.
const t0 = 1714557600

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is an in-process API over a Pebble store.
type server struct {
	st     *pebblestore.Store
	http   *httptest.Server
	client *awsxray.Client
}

func newServer(t *testing.T, opts api.Options) *server {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(api.New(nil, st, opts, metrics.NewSet(), quiet))
	t.Cleanup(func() {
		h.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	client := awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(h.URL),
		HTTPClient:   &http.Client{Transport: sdkhttp.Transport(h.Client().Transport)},
	})
	return &server{st: st, http: h, client: client}
}

// trace decodes one trace's documents ("$T" stands for its ID), builds its
// summary and stores both.
func (s *server) trace(t *testing.T, id string, docs ...string) *summary.Summary {
	t.Helper()
	dec := segment.NewDecoder(0)
	var sdocs []summary.Doc
	b := &store.Batch{}
	tid := xrayid.MustParseTraceID(id)
	for i, d := range docs {
		raw := []byte(strings.ReplaceAll(d, "$T", id))
		segs, err := dec.Decode(nil, raw)
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, raw)
		}
		for k := range segs {
			sdocs = append(sdocs, summary.Doc{Seg: &segs[k], Received: (t0 + int64(i)) * 1e9})
			b.Records = append(b.Records, store.Record{TraceID: tid, ID: segs[k].ID(), Received: (t0 + int64(i)) * 1e9, Doc: raw})
		}
	}
	sum := summary.Build(tid, sdocs, 0)
	b.Summaries = []store.SummaryRecord{{TraceID: tid, End: int64(max(sum.End, sum.Start)),
		Summary: sum.AppendBinary(nil), Terms: index.Terms(sum, nil)}}
	if err := s.st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return sum
}

// post sends a raw body and returns the status, the error type header and
// the body.
func (s *server) post(t *testing.T, body string) (int, string, []byte) {
	t.Helper()
	resp, err := s.http.Client().Post(s.http.URL+"/TraceSummaries", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b
}

func ts(sec float64) *time.Time {
	t := time.Unix(0, int64(sec*1e9)).UTC()
	return &t
}

// The rendering trace: web (EC2) answers 500 to alice after calling
// orders (ECS), which faults on a KeyError after a throttled DynamoDB
// call, and a Lambda function invoked asynchronously.
const renderTrace = "1-6632135a-0123456789abcdef01234567"

var renderDocs = []string{
	`{"trace_id":"$T","id":"00000000000000a1","name":"web","origin":"AWS::EC2::Instance","start_time":1714557786.100,"end_time":1714557786.400,
		"fault":true,"user":"alice",
		"http":{"request":{"method":"GET","url":"https://shop.example.com/checkout","user_agent":"Mozilla/5.0","client_ip":"203.0.113.9"},"response":{"status":500}},
		"aws":{"account_id":"123456789012","ec2":{"instance_id":"i-0abc","availability_zone":"us-east-1a"}},
		"annotations":{"customer":"acme","items":3,"vip":true},
		"subsegments":[{"id":"00000000000000b1","name":"orders","namespace":"remote","start_time":1714557786.110,"end_time":1714557786.390,"fault":true,
			"http":{"request":{"method":"POST","url":"http://orders/new","traced":true},"response":{"status":500}}}]}`,
	`{"trace_id":"$T","id":"00000000000000a2","name":"orders","origin":"AWS::ECS::Container","parent_id":"00000000000000b1",
		"start_time":1714557786.120,"end_time":1714557786.380,"fault":true,
		"http":{"request":{"method":"POST","url":"http://orders/new"},"response":{"status":500}},
		"annotations":{"customer":"acme"},
		"cause":{"working_directory":"/app","exceptions":[{"id":"00000000000000e1","type":"KeyError","message":"no such order"}]},
		"subsegments":[{"id":"00000000000000c1","name":"DynamoDB","namespace":"aws","start_time":1714557786.130,"end_time":1714557786.330,
			"error":true,"throttle":true,"http":{"response":{"status":429}},"aws":{"operation":"GetItem","table_name":"orders"}},
		{"id":"00000000000000c2","name":"Lambda","namespace":"aws","start_time":1714557786.335,"end_time":1714557786.340,
			"http":{"request":{"traced":true},"response":{"status":202}},"aws":{"operation":"Invoke","function_name":"mailer"}}]}`,
	`{"trace_id":"$T","id":"00000000000000f1","name":"mailer","origin":"AWS::Lambda::Function","parent_id":"00000000000000c2",
		"start_time":1714557786.345,"end_time":1714557786.900,"user":"alice",
		"resource_arn":"arn:aws:lambda:us-east-1:123456789012:function:mailer",
		"annotations":{"customer":"acme-eu"}}`,
}

// TestRender checks every TraceSummary field: the exact JSON (golden) and
// what the AWS SDK for Go v2 reads from it.
func TestRender(t *testing.T) {
	s := newServer(t, api.Options{})
	s.trace(t, renderTrace, renderDocs...)

	status, _, body := s.post(t, `{"StartTime": 1714557780, "EndTime": 1714557790, "TimeRangeType": "Event"}`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "trace_summaries.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if pretty.String() != string(want) {
		t.Errorf("response differs from %s (run with -update to accept):\n%s", golden, pretty.String())
	}

	out, err := s.client.GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{
		StartTime: ts(1714557780), EndTime: ts(1714557790), TimeRangeType: types.TimeRangeTypeEvent})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TraceSummaries) != 1 || out.NextToken != nil || aws.ToInt64(out.TracesProcessedCount) != 1 ||
		!aws.ToTime(out.ApproximateTime).Equal(time.Unix(1714557780, 0)) {
		t.Fatalf("page: %d summaries, token %v, processed %v, approximate time %v", len(out.TraceSummaries),
			out.NextToken, aws.ToInt64(out.TracesProcessedCount), aws.ToTime(out.ApproximateTime))
	}
	got := sdkSummary(out.TraceSummaries[0])
	wantSDK := strings.Join([]string{
		"Id=1-6632135a-0123456789abcdef01234567 StartTime=2024-05-01T10:03:06.1Z Duration=0.8 ResponseTime=0.3 Revision=1",
		"HasFault=true HasError=false HasThrottle=true IsPartial=false MatchedEventTime=2024-05-01T10:03:06.9Z",
		"Http=https://shop.example.com/checkout 500 GET Mozilla/5.0 203.0.113.9",
		"Annotations=customer:acme-eu[mailer/AWS::Lambda::Function/] customer:acme[web/AWS::EC2::Instance/123456789012 orders/AWS::ECS::Container/] items:3[web/AWS::EC2::Instance/123456789012] vip:true[web/AWS::EC2::Instance/123456789012]",
		"Users=alice[web/AWS::EC2::Instance/123456789012 mailer/AWS::Lambda::Function/]",
		"ServiceIds=web/AWS::EC2::Instance/123456789012 orders/AWS::ECS::Container/ mailer/AWS::Lambda::Function/ orders/AWS::DynamoDB::Table/",
		"ResourceARNs=arn:aws:lambda:us-east-1:123456789012:function:mailer InstanceIds=i-0abc AvailabilityZones=us-east-1a",
		"EntryPoint=web/AWS::EC2::Instance/123456789012",
		"FaultRootCauses=[web/AWS::EC2::Instance/123456789012{web,orders^} orders/AWS::ECS::Container/{orders(KeyError: no such order)}]!",
		"ErrorRootCauses=[web/AWS::EC2::Instance/123456789012{web,orders^} orders/AWS::ECS::Container/{orders,DynamoDB^} orders/AWS::DynamoDB::Table/~{DynamoDB^}]",
		"ResponseTimeRootCauses=[web/AWS::EC2::Instance/123456789012{web@1,orders^@0.933333} orders/AWS::ECS::Container/{orders@0.866667,DynamoDB^@0.666666} orders/AWS::DynamoDB::Table/~{DynamoDB^@0.666666}]!",
	}, "\n")
	if got != wantSDK {
		t.Errorf("the SDK reads\n%s\nwant\n%s", got, wantSDK)
	}

	// By TraceId, MatchedEventTime is absent.
	out, err = s.client.GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{StartTime: ts(1714557780), EndTime: ts(1714557790)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TraceSummaries) != 1 {
		t.Fatalf("TraceId: %d summaries", len(out.TraceSummaries))
	}
	if m := out.TraceSummaries[0].MatchedEventTime; m != nil {
		t.Errorf("TraceId: MatchedEventTime %v", m)
	}
}

// sdkSummary renders what the SDK decoded, one group of fields a line.
func sdkSummary(s types.TraceSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Id=%s StartTime=%s Duration=%v ResponseTime=%v Revision=%d\n", aws.ToString(s.Id),
		aws.ToTime(s.StartTime).UTC().Format(time.RFC3339Nano), aws.ToFloat64(s.Duration), aws.ToFloat64(s.ResponseTime), s.Revision)
	fmt.Fprintf(&b, "HasFault=%t HasError=%t HasThrottle=%t IsPartial=%t MatchedEventTime=%s\n", aws.ToBool(s.HasFault),
		aws.ToBool(s.HasError), aws.ToBool(s.HasThrottle), aws.ToBool(s.IsPartial), aws.ToTime(s.MatchedEventTime).UTC().Format(time.RFC3339Nano))
	if h := s.Http; h != nil {
		fmt.Fprintf(&b, "Http=%s %d %s %s %s\n", aws.ToString(h.HttpURL), aws.ToInt32(h.HttpStatus), aws.ToString(h.HttpMethod),
			aws.ToString(h.UserAgent), aws.ToString(h.ClientIp))
	}
	var anns []string
	for k, vs := range s.Annotations {
		for _, v := range vs {
			var val string
			switch x := v.AnnotationValue.(type) {
			case *types.AnnotationValueMemberStringValue:
				val = x.Value
			case *types.AnnotationValueMemberNumberValue:
				val = fmt.Sprint(x.Value)
			case *types.AnnotationValueMemberBooleanValue:
				val = fmt.Sprint(x.Value)
			}
			anns = append(anns, k+":"+val+"["+strings.Join(sdkServiceIDs(v.ServiceIds), " ")+"]")
		}
	}
	slices.Sort(anns)
	fmt.Fprintf(&b, "Annotations=%s\n", strings.Join(anns, " "))
	var users []string
	for _, u := range s.Users {
		users = append(users, aws.ToString(u.UserName)+"["+strings.Join(sdkServiceIDs(u.ServiceIds), " ")+"]")
	}
	fmt.Fprintf(&b, "Users=%s\n", strings.Join(users, " "))
	fmt.Fprintf(&b, "ServiceIds=%s\n", strings.Join(sdkServiceIDs(s.ServiceIds), " "))
	var arns, instances, azs []string
	for _, r := range s.ResourceARNs {
		arns = append(arns, aws.ToString(r.ARN))
	}
	for _, r := range s.InstanceIds {
		instances = append(instances, aws.ToString(r.Id))
	}
	for _, r := range s.AvailabilityZones {
		azs = append(azs, aws.ToString(r.Name))
	}
	fmt.Fprintf(&b, "ResourceARNs=%s InstanceIds=%s AvailabilityZones=%s\n", strings.Join(arns, ","), strings.Join(instances, ","), strings.Join(azs, ","))
	if s.EntryPoint != nil {
		fmt.Fprintf(&b, "EntryPoint=%s\n", sdkServiceIDs([]types.ServiceId{*s.EntryPoint})[0])
	}
	var faults, errs, slow []string
	for _, rc := range s.FaultRootCauses {
		var svcs []string
		for _, sv := range rc.Services {
			var ents []string
			for _, e := range sv.EntityPath {
				ents = append(ents, entity(aws.ToString(e.Name), aws.ToBool(e.Remote), e.Exceptions))
			}
			svcs = append(svcs, rcService(sv.Name, sv.Names, sv.Type, sv.AccountId, sv.Inferred, ents))
		}
		faults = append(faults, "["+strings.Join(svcs, " ")+"]"+bang(aws.ToBool(rc.ClientImpacting)))
	}
	for _, rc := range s.ErrorRootCauses {
		var svcs []string
		for _, sv := range rc.Services {
			var ents []string
			for _, e := range sv.EntityPath {
				ents = append(ents, entity(aws.ToString(e.Name), aws.ToBool(e.Remote), e.Exceptions))
			}
			svcs = append(svcs, rcService(sv.Name, sv.Names, sv.Type, sv.AccountId, sv.Inferred, ents))
		}
		errs = append(errs, "["+strings.Join(svcs, " ")+"]"+bang(aws.ToBool(rc.ClientImpacting)))
	}
	for _, rc := range s.ResponseTimeRootCauses {
		var svcs []string
		for _, sv := range rc.Services {
			var ents []string
			for _, e := range sv.EntityPath {
				ents = append(ents, fmt.Sprintf("%s@%v", entity(aws.ToString(e.Name), aws.ToBool(e.Remote), nil), aws.ToFloat64(e.Coverage)))
			}
			svcs = append(svcs, rcService(sv.Name, sv.Names, sv.Type, sv.AccountId, sv.Inferred, ents))
		}
		slow = append(slow, "["+strings.Join(svcs, " ")+"]"+bang(aws.ToBool(rc.ClientImpacting)))
	}
	fmt.Fprintf(&b, "FaultRootCauses=%s\nErrorRootCauses=%s\nResponseTimeRootCauses=%s", strings.Join(faults, " "),
		strings.Join(errs, " "), strings.Join(slow, " "))
	return b.String()
}

func bang(b bool) string {
	if b {
		return "!"
	}
	return ""
}

func entity(name string, remote bool, excs []types.RootCauseException) string {
	if remote {
		name += "^"
	}
	var ex []string
	for _, e := range excs {
		ex = append(ex, aws.ToString(e.Name)+": "+aws.ToString(e.Message))
	}
	if len(ex) > 0 {
		name += "(" + strings.Join(ex, "; ") + ")"
	}
	return name
}

func rcService(name *string, names []string, typ, account *string, inferred *bool, ents []string) string {
	s := aws.ToString(name) + "/" + aws.ToString(typ) + "/" + aws.ToString(account)
	if !slices.Contains(names, aws.ToString(name)) {
		s += "(Names lack the name)"
	}
	if aws.ToBool(inferred) {
		s += "~"
	}
	return s + "{" + strings.Join(ents, ",") + "}"
}

// sdkServiceIDs renders ServiceIds as name/type/account, with "(Names lack
// the name)" when they do.
func sdkServiceIDs(ids []types.ServiceId) []string {
	var out []string
	for _, id := range ids {
		s := aws.ToString(id.Name) + "/" + aws.ToString(id.Type) + "/" + aws.ToString(id.AccountId)
		if !slices.Contains(id.Names, aws.ToString(id.Name)) {
			s += "(Names lack the name)"
		}
		out = append(out, s)
	}
	return out
}

// simple stores n one-segment traces, one every 0.5 s from t0; every third
// faults, every fifth is alice's.
func (s *server) simple(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		start := float64(t0) + float64(i)/2
		id := fmt.Sprintf("1-%08x-%024x", int64(start), i)
		user := ""
		if i%5 == 0 {
			user = `,"user":"alice"`
		}
		s.trace(t, id, fmt.Sprintf(`{"trace_id":"$T","id":"%016x","name":"web","start_time":%.3f,"end_time":%.3f,"fault":%t%s,
			"http":{"request":{"method":"GET","url":"https://shop.example.com/p/%d"},"response":{"status":200}}}`,
			i+1, start, start+0.05, i%3 == 0, user, i))
		ids = append(ids, id)
	}
	slices.Reverse(ids) // newest first
	return ids
}

// TestPaginator: the SDK's paginator collects every trace exactly once,
// newest first, across many small pages.
func TestPaginator(t *testing.T) {
	s := newServer(t, api.Options{Query: query.Options{PageSize: 7, MaxExamined: 20, ProbeRows: 16}})
	all := s.simple(t, 300)
	f := func(expr string, tr types.TimeRangeType, start, end float64, want []string) {
		t.Helper()
		in := &awsxray.GetTraceSummariesInput{StartTime: ts(start), EndTime: ts(end), TimeRangeType: tr}
		if expr != "" {
			in.FilterExpression = aws.String(expr)
		}
		p := awsxray.NewGetTraceSummariesPaginator(s.client, in)
		var got []string
		pages := 0
		var processed int64
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("%q page %d: %v", expr, pages+1, err)
			}
			pages++
			processed += aws.ToInt64(out.TracesProcessedCount)
			if len(out.TraceSummaries) > 7 {
				t.Errorf("%q: page %d has %d summaries", expr, pages, len(out.TraceSummaries))
			}
			for _, ts := range out.TraceSummaries {
				got = append(got, aws.ToString(ts.Id))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q %s: %d summaries in %d pages, want %d", expr, tr, len(got), pages, len(want))
		}
		if pages < len(want)/7 {
			t.Errorf("%q: only %d pages", expr, pages)
		}
		if expr == "" && processed != int64(len(want)) {
			t.Errorf("%d traces processed, want %d", processed, len(want))
		}
	}
	every := func(k, r int) []string {
		var out []string
		for i, id := range all {
			if (len(all)-1-i)%k == r {
				out = append(out, id)
			}
		}
		return out
	}
	f("", "", t0, t0+150, all)
	f("", types.TimeRangeTypeEvent, t0, t0+150, all)
	f("", types.TimeRangeTypeService, t0, t0+150, all)
	f("fault", "", t0, t0+150, every(3, 0))
	f("fault", types.TimeRangeTypeEvent, t0, t0+150, every(3, 0))
	f(`user = "alice"`, types.TimeRangeTypeTraceId, t0, t0+150, every(5, 0))
	f(`!fault AND http.url CONTAINS "/p/1"`, "", t0, t0+150, func() []string {
		var out []string
		for i, id := range all {
			n := len(all) - 1 - i
			if n%3 != 0 && strings.Contains(fmt.Sprintf("/p/%d", n), "/p/1") {
				out = append(out, id)
			}
		}
		return out
	}())
	f("", "", t0+50, t0+100, all[100:200])
	f("", "", t0+149.5, t0+150, all[:1])
}

// TestValidation: bad input gives InvalidRequestException with a message
// that says what is wrong.
func TestValidation(t *testing.T) {
	s := newServer(t, api.Options{})
	f := func(body string, want string) {
		t.Helper()
		status, code, b := s.post(t, body)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v: %s", body, err, b)
		}
		if status != http.StatusBadRequest || code != "InvalidRequestException" || e.Type != code || e.Message != want {
			t.Errorf("%s:\n got %d %s %q\nwant 400 InvalidRequestException %q", body, status, code, e.Message, want)
		}
	}
	// Members missing or outside the model fail its validation first, in
	// AWS's words.
	f(`{}`, "1 validation error detected: Value at 'StartTime' failed to satisfy constraint: Member must not be null")
	f(`{"StartTime": 1714557600}`, "1 validation error detected: Value at 'EndTime' failed to satisfy constraint: Member must not be null")
	f(`{"StartTime": 1714557600, "EndTime": 1714557600}`, "EndTime (2024-05-01T10:00:00Z) must be after StartTime (2024-05-01T10:00:00Z)")
	f(`{"StartTime": 1714557600, "EndTime": 1714557500}`, "EndTime (2024-05-01T09:58:20Z) must be after StartTime (2024-05-01T10:00:00Z)")
	f(`{"StartTime": 1714557600, "EndTime": 1714644001}`,
		"the time range from 2024-05-01T10:00:00Z to 2024-05-02T10:00:01Z is 24h0m1s; the longest allowed is 24h0m0s")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "TimeRangeType": "Start"}`, "1 validation error detected: Value at 'TimeRangeType' failed to satisfy constraint: Member must satisfy enum value set: [TraceId, Event, Service], got \"Start\"")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "Sampling": true}`,
		"Sampling is true but SamplingStrategy is missing: give its Name (PartialScan or FixedRate) and Value")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "SamplingStrategy": {"Name": "Random", "Value": 0.5}}`,
		"1 validation error detected: Value at 'SamplingStrategy.Name' failed to satisfy constraint: Member must satisfy enum value set: [PartialScan, FixedRate], got \"Random\"")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "SamplingStrategy": {"Name": "FixedRate"}}`, "SamplingStrategy.Value is required")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "Sampling": true, "SamplingStrategy": {"Name": "PartialScan", "Value": 0}}`,
		"SamplingStrategy PartialScan needs a Value in (0, 1], not 0")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "Sampling": true, "SamplingStrategy": {"Name": "FixedRate", "Value": 2}}`,
		"SamplingStrategy FixedRate needs a Value in [0, 1], not 2")
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "FilterExpression": "service(\"api\") { fault"}`,
		`filter expression: column 23: expected "}" to close "{" at column 16, found end of expression`)
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "FilterExpression": "http.url > 3"}`,
		`filter expression: column 10: operator ">" does not apply to http.url, a string keyword; use =, !=, CONTAINS, BEGINSWITH or ENDSWITH`)
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "FilterExpression": "group.name = \"slow\""}`,
		`filter expression: column 1: unknown group "slow"`)
	f(`{"StartTime": 1714557600, "EndTime": 1714557700, "NextToken": "nonsense"}`,
		`NextToken "nonsense" is not a token this server issued (malformed, modified, or from another version of the server); start again without it`)
	f(`{"StartTime": "yesterday", "EndTime": 1714557700}`,
		`request body is not valid JSON for this operation: timestamp "yesterday": want epoch seconds or RFC 3339`)
}

// TestErrorsThroughSDK: the SDK surfaces validation and filter errors as
// InvalidRequestException with our message, column included.
func TestErrorsThroughSDK(t *testing.T) {
	s := newServer(t, api.Options{Query: query.Options{PageSize: 2}})
	s.simple(t, 10)
	f := func(in *awsxray.GetTraceSummariesInput, want string) {
		t.Helper()
		_, err := s.client.GetTraceSummaries(context.Background(), in)
		var ire *types.InvalidRequestException
		if !errors.As(err, &ire) {
			t.Fatalf("error %v, want InvalidRequestException", err)
		}
		if !strings.Contains(ire.ErrorMessage(), want) {
			t.Errorf("message %q, want it to contain %q", ire.ErrorMessage(), want)
		}
	}
	f(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 10), FilterExpression: aws.String(`annotation.x = `)},
		"filter expression: column 15: expected a string, a number, true or false")
	f(&awsxray.GetTraceSummariesInput{StartTime: ts(t0 + 10), EndTime: ts(t0)}, "must be after StartTime")

	// A token from another query, and a modified one.
	in := &awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 10)}
	out, err := s.client.GetTraceSummaries(context.Background(), in)
	if err != nil || out.NextToken == nil {
		t.Fatalf("first page: %v, token %v", err, out.NextToken)
	}
	f(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 10), FilterExpression: aws.String("fault"), NextToken: out.NextToken},
		"NextToken belongs to another query: its FilterExpression differs")
	tok := []byte(*out.NextToken)
	tok[len(tok)/2] ^= 1
	f(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 10), NextToken: aws.String(string(tok))},
		"is not a token this server issued")
}

// TestLookupByFilter: a bare trace ID as the filter finds that trace.
func TestLookupByFilter(t *testing.T) {
	s := newServer(t, api.Options{})
	ids := s.simple(t, 20)
	out, err := s.client.GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{
		StartTime: ts(t0), EndTime: ts(t0 + 60), FilterExpression: aws.String(" " + ids[7] + " ")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TraceSummaries) != 1 || aws.ToString(out.TraceSummaries[0].Id) != ids[7] || out.NextToken != nil {
		t.Errorf("lookup: %d summaries, token %v", len(out.TraceSummaries), out.NextToken)
	}
}

// TestGroupsAndSampling: group references go through Options.Groups; a
// FixedRate sample is a subset, and only applies with Sampling true.
func TestGroupsAndSampling(t *testing.T) {
	s := newServer(t, api.Options{Groups: func(name string) (string, bool) {
		if name == "faulty" {
			return "fault", true
		}
		return "", false
	}})
	s.simple(t, 60)
	count := func(in *awsxray.GetTraceSummariesInput) int {
		t.Helper()
		n := 0
		p := awsxray.NewGetTraceSummariesPaginator(s.client, in)
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.TraceSummaries)
		}
		return n
	}
	if n := count(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 30), FilterExpression: aws.String(`group.name = "faulty"`)}); n != 20 {
		t.Errorf("group faulty: %d traces, want 20", n)
	}
	if n := count(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 30), FilterExpression: aws.String(`groupname = "Default" AND user = "alice"`)}); n != 12 {
		t.Errorf("group Default and alice: %d traces, want 12", n)
	}
	strategy := &types.SamplingStrategy{Name: types.SamplingStrategyNameFixedRate, Value: aws.Float64(0.3)}
	sampled := count(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 30), Sampling: aws.Bool(true), SamplingStrategy: strategy})
	if sampled == 0 || sampled >= 60 {
		t.Errorf("FixedRate 0.3: %d of 60 traces", sampled)
	}
	if n := count(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 30), SamplingStrategy: strategy}); n != 60 {
		t.Errorf("a strategy without Sampling: %d traces, want all 60", n)
	}
	partial := &types.SamplingStrategy{Name: types.SamplingStrategyNamePartialScan, Value: aws.Float64(0.5)}
	if n := count(&awsxray.GetTraceSummariesInput{StartTime: ts(t0), EndTime: ts(t0 + 30), Sampling: aws.Bool(true), SamplingStrategy: partial}); n != 30 {
		t.Errorf("PartialScan 0.5: %d traces, want the newest 30", n)
	}
}
