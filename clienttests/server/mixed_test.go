package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
	otelxray "go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/counterspy/counterspy/internal/testenv"
)

// TestMixedXRayAndOTelTrace: a service instrumented with the X-Ray SDK for Go
// calls one instrumented with OpenTelemetry, which takes the X-Amzn-Trace-Id
// header with OTel's X-Ray propagator. Both halves form one trace, the OTel
// segment's parent is the X-Ray SDK's HTTP subsegment, and the map joins
// them. Read back with the AWS CLI.
func TestMixedXRayAndOTelTrace(t *testing.T) {
	srv := startOTLPServer(t)
	tp := tracerProvider(t, srv, "http", "inventory")
	tr := tp.Tracer("inventory")
	prop := otelxray.Propagator{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		_, s := tr.Start(ctx, "GET /stock", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
		s.End()
		w.Write([]byte("ok"))
	}))
	defer backend.Close()

	xray.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))
	sampleAll, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":1,"rate":1.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	udpAddr, err := net.ResolveUDPAddr("udp", srv.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	emitter, err := xray.NewDefaultEmitter(udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := xray.ContextWithConfig(context.Background(), xray.Config{DaemonAddr: srv.UDPAddr(), Emitter: emitter, SamplingStrategy: sampleAll})
	if err != nil {
		t.Fatal(err)
	}
	ctx, seg := xray.BeginSegment(ctx, "storefront")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/stock", nil)
	resp, err := xray.Client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	seg.Close(nil)
	traceID := seg.TraceID
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	cli := testenv.AWSCLI(t)
	var out struct {
		Traces []struct {
			Segments []struct{ Document string }
		}
	}
	// The X-Ray SDK's segment comes over UDP: durable within the flush
	// interval, so wait for both halves.
	waitFor(t, "both halves of the mixed trace", func() bool {
		cmd := exec.Command(cli, "xray", "batch-get-traces", "--trace-ids", traceID, "--endpoint-url", "http://"+srv.HTTPAddr(), "--output", "json")
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws xray batch-get-traces: %v", err)
		}
		out.Traces = nil
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return len(out.Traces) == 1 && len(out.Traces[0].Segments) >= 2 && strings.Contains(string(b), `\"inventory\"`) &&
			strings.Contains(string(b), `\"storefront\"`)
	})
	docs := map[string]map[string]any{}
	for _, s := range out.Traces[0].Segments {
		var d map[string]any
		if err := json.Unmarshal([]byte(s.Document), &d); err != nil {
			t.Fatal(err)
		}
		docs[d["name"].(string)] = d
	}
	front, inv := docs["storefront"], docs["inventory"]
	if front == nil || inv == nil {
		t.Fatalf("documents %v", docs)
	}
	subs, _ := front["subsegments"].([]any)
	if len(subs) != 1 {
		t.Fatalf("storefront subsegments %v", subs)
	}
	if callID := subs[0].(map[string]any)["id"]; inv["parent_id"] != callID {
		t.Errorf("inventory's parent_id %v, want the X-Ray SDK's HTTP subsegment %v", inv["parent_id"], callID)
	}

	client := xrayClient(srv)
	g, err := client.GetServiceGraph(context.Background(), &awsxray.GetServiceGraphInput{
		StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	names := map[int32]string{}
	for _, s := range g.Services {
		names[aws.ToInt32(s.ReferenceId)] = aws.ToString(s.Name)
	}
	linked := false
	for _, s := range g.Services {
		if aws.ToString(s.Name) != "storefront" {
			continue
		}
		for _, e := range s.Edges {
			linked = linked || names[aws.ToInt32(e.ReferenceId)] == "inventory"
		}
	}
	if !linked {
		t.Errorf("no storefront → inventory edge in the map: %v", names)
	}
}
