package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"

	"github.com/counterspy/counterspy/internal/sdkhttp"
)

// dynamoStandIn answers PutItem as DynamoDB does (an empty JSON object), so
// the X-Ray SDK's aws-sdk-go-v2 instrumentor records a real DynamoDB call.
func dynamoStandIn(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") {
			http.Error(w, "unexpected operation "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
			return
		}
		w.Header().Set("x-amzn-RequestId", "STANDIN0REQUEST0ID0000000000000000000000000000000000")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestXRaySDKForGoRoundTrip sends a trace with the official X-Ray SDK for Go
// (a DynamoDB call through its aws-sdk-go-v2 instrumentor, and more than 20
// subsegments so the SDK streams them as separate documents) and reads it
// back with the AWS SDK for Go v2's X-Ray client: every entity the SDK sent
// comes back, nested where it belongs.
func TestXRaySDKForGoRoundTrip(t *testing.T) {
	srv := startServer(t)
	rel := newRelay(t, srv.UDPAddr())
	ddb := dynamoStandIn(t)
	xray.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))

	emitter, err := xray.NewDefaultEmitter(nil)
	if err != nil {
		t.Fatal(err)
	}
	sampleAll, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":1,"rate":1.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{
		DaemonAddr:       rel.Addr(),
		Emitter:          emitter,
		SamplingStrategy: sampleAll,
		ServiceVersion:   "1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, seg := xray.BeginSegment(ctx, "orders")
	seg.User = "alice"
	if err := seg.AddAnnotation("customer_tier", "gold"); err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		_, sub := xray.BeginSubsegment(ctx, fmt.Sprintf("step-%02d", i))
		sub.AddAnnotation("step", i)
		sub.Close(nil)
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(ddb.URL),
		HTTPClient:   sdkhttp.Client(),
	}
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	_, err = dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("items"),
		Item:      map[string]ddbtypes.AttributeValue{"key": &ddbtypes.AttributeValueMemberS{Value: "uploads/cat.jpg"}},
	})
	if err != nil {
		t.Fatalf("PutItem through the stand-in: %v", err)
	}
	seg.Close(nil)
	traceID := seg.TraceID

	// What the SDK sent: the root segment last, streamed subsegments before it.
	var sent []entity
	waitFor(t, "the SDK's root segment", func() bool {
		sent = sent[:0]
		for _, d := range rel.Documents() {
			sent = append(sent, parseEntity(t, d))
		}
		for _, e := range sent {
			if e.ID == seg.ID && e.Type == "" {
				return true
			}
		}
		return false
	})
	streamed := 0
	wantIDs := map[string]bool{}
	for _, e := range sent {
		if e.Type == "subsegment" {
			streamed++
			if e.TraceID != traceID || e.ParentID == "" {
				t.Fatalf("streamed subsegment without trace_id/parent_id: %+v", e)
			}
		}
		walk(e, func(x entity) { wantIDs[x.ID] = true })
	}
	if streamed == 0 {
		t.Fatalf("the SDK streamed no subsegments out of %d documents; the test must exercise streaming", len(sent))
	}
	if len(wantIDs) < 26 {
		t.Fatalf("the SDK sent %d entities, want at least 26", len(wantIDs))
	}

	client := xrayClient(srv)
	var got *awsxray.BatchGetTracesOutput
	var root entity
	waitFor(t, "the whole trace from BatchGetTraces", func() bool {
		out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
		if err != nil {
			t.Fatalf("BatchGetTraces: %v", err)
		}
		if len(out.Traces) != 1 {
			return false
		}
		seen := map[string]bool{}
		for _, s := range out.Traces[0].Segments {
			e := parseEntity(t, aws.ToString(s.Document))
			if e.ID == seg.ID {
				root = e
			}
			walk(e, func(x entity) { seen[x.ID] = true })
		}
		for id := range wantIDs {
			if !seen[id] {
				return false
			}
		}
		got = out
		return true
	})

	tr := got.Traces[0]
	if aws.ToString(tr.Id) != traceID || aws.ToFloat64(tr.Duration) <= 0 || aws.ToBool(tr.LimitExceeded) {
		t.Fatalf("trace header %+v", tr)
	}
	// Streamed subsegments are nested back under the root segment.
	if n := len(root.Subsegments); n != 25 {
		t.Fatalf("root segment has %d subsegments after assembly, want 25 (24 steps + DynamoDB)", n)
	}
	var dynamo *entity
	walk(root, func(x entity) {
		if x.Name == "DynamoDB" {
			dynamo = &x
		}
	})
	// The SDK's aws-sdk-go-v2 instrumentor records the operation but, unlike
	// the v1 instrumentor's whitelist, not the table name.
	if dynamo == nil || dynamo.Namespace != "aws" || dynamo.AWS.Operation != "PutItem" {
		t.Fatalf("DynamoDB subsegment = %+v", dynamo)
	}
	// X-Ray adds an inferred segment for the uninstrumented DynamoDB call;
	// without a table name it is typed after the service.
	inferred := 0
	for _, s := range tr.Segments {
		if e := parseEntity(t, aws.ToString(s.Document)); e.Inferred {
			inferred++
			if e.Origin != "AWS::DynamoDB" || e.ParentID != dynamo.ID {
				t.Fatalf("inferred segment %+v", e)
			}
		}
	}
	if inferred != 1 || len(tr.Segments) != 2 {
		t.Fatalf("got %d segments (%d inferred), want the root and one inferred DynamoDB segment", len(tr.Segments), inferred)
	}
}
