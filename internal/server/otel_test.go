package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/counterspy/counterspy/internal/server/servertest"
	"github.com/counterspy/counterspy/internal/testenv"
)

var (
	startOTLPServer = servertest.StartOTLP
	tracerProvider  = servertest.TracerProvider
)

// xrayTraceID is the X-Ray form of an OTel trace ID.
func xrayTraceID(id trace.TraceID) string {
	h := id.String()
	return "1-" + h[:8] + "-" + h[8:]
}

// orderRequest records a server span calling DynamoDB; failed requests end
// with HTTP 500, an exception event and an error status.
func orderRequest(ctx context.Context, tr trace.Tracer, fail bool) string {
	status := 200
	if fail {
		status = 500
	}
	ctx, s := tr.Start(ctx, "POST /orders", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", "POST"), attribute.String("url.scheme", "http"),
		attribute.String("server.address", "orders.local"), attribute.String("url.path", "/orders"),
		attribute.Int("http.response.status_code", status), attribute.Int("tier", 3),
		attribute.String("customer.id", "c-42"), attribute.StringSlice("aws.xray.annotations", []string{"customer.id"})))
	_, c := tr.Start(ctx, "DynamoDB.PutItem", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", "DynamoDB"),
		attribute.String("rpc.method", "PutItem"), attribute.StringSlice("aws.dynamodb.table_names", []string{"orders"}),
		attribute.String("aws.region", "us-east-1")))
	c.End()
	if fail {
		s.RecordError(errors.New("payment declined"), trace.WithStackTrace(true))
		s.SetStatus(codes.Error, "payment declined")
	}
	s.End()
	return xrayTraceID(s.SpanContext().TraceID())
}

// TestOTelSDKForGo sends traces with the OpenTelemetry Go SDK over both OTLP
// exporters and reads them back with the AWS SDK for Go v2: the documents,
// the filters (service, edge, annotations from attributes, root causes from
// exception events, http.status) and the service graph's inferred DynamoDB
// table all work on OTel data.
func TestOTelSDKForGo(t *testing.T) {
	srv := startOTLPServer(t)
	client := xrayClient(srv)
	start := time.Now().Add(-time.Minute)
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			service := "orders-api-" + protocol
			tp := tracerProvider(t, srv, protocol, service)
			tr := tp.Tracer("counterspy-test")
			okID := orderRequest(context.Background(), tr, false)
			faultID := orderRequest(context.Background(), tr, true)
			// Shutdown flushes: the exporter returns once the server has
			// answered, and the server answers once the spans are durable.
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			end := time.Now().Add(time.Minute)

			out, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{okID}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Traces) != 1 {
				t.Fatalf("BatchGetTraces: %d traces", len(out.Traces))
			}
			var sawSegment, sawInferred bool
			for _, s := range out.Traces[0].Segments {
				var doc map[string]any
				if err := json.Unmarshal([]byte(aws.ToString(s.Document)), &doc); err != nil {
					t.Fatal(err)
				}
				switch doc["name"] {
				case service:
					sawSegment = true
					subs, _ := doc["subsegments"].([]any)
					if doc["origin"] != "AWS::EC2::Instance" || len(subs) != 1 {
						t.Errorf("segment %v", doc)
						continue
					}
					sub := subs[0].(map[string]any)
					if sub["name"] != "DynamoDB" || sub["namespace"] != "aws" || path(sub, "aws", "table_name") != "orders" ||
						path(sub, "metadata", "otel", "kind") != "Client" || path(doc, "metadata", "otel", "attributes", "tier") != 3.0 {
						t.Errorf("segment %v", doc)
					}
				case "DynamoDB":
					sawInferred = doc["origin"] == "AWS::DynamoDB::Table"
				}
			}
			if !sawSegment || !sawInferred {
				t.Errorf("segments: service %v, inferred DynamoDB %v", sawSegment, sawInferred)
			}

			for _, c := range []struct {
				expr string
				want []string
			}{
				{`service("` + service + `") { fault }`, []string{faultID}},
				{`service("` + service + `")`, []string{okID, faultID}},
				{`edge("` + service + `", "orders")`, []string{okID, faultID}},
				{`service("` + service + `") AND annotation.tier = 3`, []string{okID, faultID}},
				{`service("` + service + `") AND annotation.customer_id = "c-42"`, []string{okID, faultID}},
				{`rootcause.fault.service { name = "` + service + `" }`, []string{faultID}},
				{`service("` + service + `") AND rootcause.fault.exception { message = "payment declined" }`, []string{faultID}},
				{`service("` + service + `") AND http.status = 500`, []string{faultID}},
				{`service("` + service + `") AND http.status = 200`, []string{okID}},
			} {
				got := summaryIDs(t, client, start, end, c.expr)
				slices.Sort(got)
				slices.Sort(c.want)
				if !slices.Equal(got, c.want) {
					t.Errorf("%s: got %v, want %v", c.expr, got, c.want)
				}
			}

			g, err := client.GetServiceGraph(context.Background(), &awsxray.GetServiceGraphInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
			if err != nil {
				t.Fatal(err)
			}
			var serviceRef, tableRef int32 = -1, -1
			for _, s := range g.Services {
				switch {
				case aws.ToString(s.Name) == service && aws.ToString(s.Type) == "AWS::EC2::Instance":
					serviceRef = aws.ToInt32(s.ReferenceId)
				case aws.ToString(s.Name) == "orders" && aws.ToString(s.Type) == "AWS::DynamoDB::Table":
					tableRef = aws.ToInt32(s.ReferenceId)
				}
			}
			if serviceRef < 0 || tableRef < 0 {
				t.Fatalf("graph lacks the service (%d) or the table (%d): %+v", serviceRef, tableRef, g.Services)
			}
			edge := false
			for _, s := range g.Services {
				if aws.ToInt32(s.ReferenceId) != serviceRef {
					continue
				}
				for _, e := range s.Edges {
					edge = edge || aws.ToInt32(e.ReferenceId) == tableRef
				}
			}
			if !edge {
				t.Error("no edge from the service to the DynamoDB table")
			}
		})
	}
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestOTelJSSDK runs a Node script that sends a trace with the OpenTelemetry
// JavaScript SDK (@opentelemetry/sdk-trace-node, OTLP/HTTP protobuf
// exporter): a Lambda function's span calling DynamoDB. Its trace ID is a
// random W3C one (not an X-Ray epoch), which must not matter.
func TestOTelJSSDK(t *testing.T) {
	node := testenv.Node(t)
	dir := filepath.Join("..", "receiver", "otlp", "testdata", "js")
	testenv.NodeModule(t, dir, "@opentelemetry/sdk-trace-node")
	srv := startOTLPServer(t)
	start := time.Now().Add(-time.Minute)
	cmd := exec.Command(node, "send.js", "http://"+srv.OTLPHTTPAddr())
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node send.js: %v\n%s", err, stderr.String())
	}
	otelID := strings.TrimSpace(string(out))
	if len(otelID) != 32 {
		t.Fatalf("trace ID %q; stderr: %s", otelID, stderr.String())
	}
	traceID := "1-" + otelID[:8] + "-" + otelID[8:]
	end := time.Now().Add(time.Minute)
	client := xrayClient(srv)

	// The exporter's answer came after the spans were durable.
	got, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Traces) != 1 {
		t.Fatalf("BatchGetTraces %s: %d traces; node stderr: %s", traceID, len(got.Traces), stderr.String())
	}
	var fn map[string]any
	for _, s := range got.Traces[0].Segments {
		var d map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(s.Document)), &d); err != nil {
			t.Fatal(err)
		}
		if d["name"] == "cart-js" {
			fn = d
		}
	}
	if fn == nil || fn["origin"] != "AWS::Lambda::Function" || fn["fault"] != true {
		t.Fatalf("function segment %v", fn)
	}
	// validate → DynamoDB nested under the function's segment.
	subs, _ := fn["subsegments"].([]any)
	if len(subs) != 1 {
		t.Fatalf("subsegments %v in %v", subs, fn)
	}
	inner, _ := subs[0].(map[string]any)["subsegments"].([]any)
	if len(inner) != 1 {
		t.Fatalf("validate's subsegments %v", subs[0])
	}
	call := inner[0].(map[string]any)
	if call["name"] != "DynamoDB" || path(call, "aws", "table_name") != "carts" || call["fault"] != true ||
		path(call, "cause", "exceptions") == nil {
		t.Errorf("DynamoDB call %v", call)
	}

	for _, c := range []struct {
		expr string
		want []string
	}{
		{`service("cart-js") { fault }`, []string{traceID}},
		{`annotation.cart_size = 3`, []string{traceID}},
		{`edge("cart-js", "carts")`, []string{traceID}},
	} {
		if ids := summaryIDs(t, client, start, end, c.expr); !slices.Equal(ids, c.want) {
			t.Errorf("%s: got %v, want %v", c.expr, ids, c.want)
		}
	}
	g, err := client.GetServiceGraph(context.Background(), &awsxray.GetServiceGraphInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
	if err != nil {
		t.Fatal(err)
	}
	table := false
	for _, s := range g.Services {
		table = table || aws.ToString(s.Name) == "carts" && aws.ToString(s.Type) == "AWS::DynamoDB::Table"
	}
	if !table {
		t.Errorf("no DynamoDB table node in the map: %+v", g.Services)
	}
}
