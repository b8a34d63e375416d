package console_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/counterspy/counterspy/internal/server"
)

// otelTraces are the X-Ray IDs of the traces seedOTel sent.
type otelTraces struct {
	checkout string // the checkout service's request: server, internal, client and producer spans, one failing
	worker   string // a consumer span in another service, linked from the checkout's server span
}

// newTraceID is an X-Ray-style W3C trace ID: the epoch second in the first
// four bytes (as the X-Ray ID generator of the OTel SDKs makes them).
func newTraceID(t *testing.T, at time.Time) pcommon.TraceID {
	var id pcommon.TraceID
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(id[:4], uint32(at.Unix()))
	return id
}

func newSpanID(t *testing.T) pcommon.SpanID {
	var id pcommon.SpanID
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	return id
}

func xrayID(id pcommon.TraceID) string {
	h := hex.EncodeToString(id[:])
	return "1-" + h[:8] + "-" + h[8:]
}

// seedOTel sends two OTel traces through the server's OTLP/HTTP receiver
// as an SDK's exporter would (one protobuf ExportTraceServiceRequest), so
// the console is checked on data that went through the OTLP mapping.
func seedOTel(t *testing.T, srv *server.Server, at time.Time) otelTraces {
	t.Helper()
	td := ptrace.NewTraces()
	ts := func(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(at.Add(d)) }

	// order-worker: a consumer span of its own trace, stored so that the
	// checkout's link to it is clickable.
	workerTID := newTraceID(t, at)
	rw := td.ResourceSpans().AppendEmpty()
	rw.Resource().Attributes().PutStr("service.name", "order-worker")
	sw := rw.ScopeSpans().AppendEmpty()
	sw.Scope().SetName("worker/sqs")
	consume := sw.Spans().AppendEmpty()
	consume.SetTraceID(workerTID)
	consume.SetSpanID(newSpanID(t))
	consume.SetName("orders process")
	consume.SetKind(ptrace.SpanKindConsumer)
	consume.SetStartTimestamp(ts(200 * time.Millisecond))
	consume.SetEndTimestamp(ts(260 * time.Millisecond))
	consume.Attributes().PutStr("messaging.system", "aws_sqs")
	consume.Attributes().PutStr("messaging.operation", "process")

	// checkout-otel: POST /checkout → price cart (internal), DynamoDB
	// GetItem on "orders" (client), SQS SendMessage (producer), and a
	// failing call to the payments service with an exception event.
	tid := newTraceID(t, at)
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "checkout-otel")
	res.PutStr("service.version", "2.4.1")
	res.PutStr("deployment.environment.name", "staging")
	res.PutStr("telemetry.sdk.language", "go")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/acme/checkout/http")
	ss.Scope().SetVersion("1.2.0")
	ss.Scope().Attributes().PutStr("library.tier", "edge")

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(tid)
	root.SetSpanID(newSpanID(t))
	root.SetName("POST /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(180 * time.Millisecond))
	ra := root.Attributes()
	ra.PutStr("http.request.method", "POST")
	ra.PutStr("url.scheme", "https")
	ra.PutStr("server.address", "shop.example.com")
	ra.PutStr("url.path", "/checkout")
	ra.PutInt("http.response.status_code", 200)
	ra.PutStr("customer.id", "c-1042")
	ra.PutBool("cart.express", true)
	ra.PutDouble("cart.total", 129.5)
	ra.PutEmptySlice("cart.skus").FromRaw([]any{"sku-1", "sku-7"})
	ev := root.Events().AppendEmpty()
	ev.SetName("cart validated")
	ev.SetTimestamp(ts(12 * time.Millisecond))
	ev.Attributes().PutInt("cart.items", 2)
	l := root.Links().AppendEmpty()
	l.SetTraceID(workerTID)
	l.SetSpanID(consume.SpanID())
	l.Attributes().PutStr("link.reason", "order fulfilment")
	l = root.Links().AppendEmpty()
	l.SetTraceID(newTraceID(t, at.Add(-time.Hour)))
	l.SetSpanID(newSpanID(t))

	child := func(name string, kind ptrace.SpanKind, from, to time.Duration) ptrace.Span {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(newSpanID(t))
		s.SetParentSpanID(root.SpanID())
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(ts(from))
		s.SetEndTimestamp(ts(to))
		return s
	}
	child("price cart", ptrace.SpanKindInternal, 5*time.Millisecond, 30*time.Millisecond).Attributes().PutInt("cart.items", 2)
	ddb := child("DynamoDB.GetItem", ptrace.SpanKindClient, 30*time.Millisecond, 55*time.Millisecond).Attributes()
	ddb.PutStr("rpc.system", "aws-api")
	ddb.PutStr("rpc.service", "DynamoDB")
	ddb.PutStr("rpc.method", "GetItem")
	ddb.PutStr("cloud.region", "us-east-1")
	ddb.PutEmptySlice("aws.dynamodb.table_names").AppendEmpty().SetStr("orders")
	sqs := child("orders send", ptrace.SpanKindProducer, 60*time.Millisecond, 70*time.Millisecond).Attributes()
	sqs.PutStr("rpc.system", "aws-api")
	sqs.PutStr("rpc.service", "SQS")
	sqs.PutStr("rpc.method", "SendMessage")
	sqs.PutStr("messaging.system", "aws_sqs")
	sqs.PutStr("aws.queue_url", "https://sqs.us-east-1.amazonaws.com/123456789012/orders")
	pay := child("POST payments", ptrace.SpanKindClient, 75*time.Millisecond, 170*time.Millisecond)
	pa := pay.Attributes()
	pa.PutStr("http.request.method", "POST")
	pa.PutStr("url.full", "http://payments.internal:8080/charge")
	pa.PutInt("http.response.status_code", 503)
	pay.Status().SetCode(ptrace.StatusCodeError)
	pay.Status().SetMessage("payments unavailable")
	exc := pay.Events().AppendEmpty()
	exc.SetName("exception")
	exc.SetTimestamp(ts(169 * time.Millisecond))
	exc.Attributes().PutStr("exception.type", "PaymentUnavailable")
	exc.Attributes().PutStr("exception.message", "payments answered 503")
	exc.Attributes().PutStr("exception.stacktrace", "PaymentUnavailable: payments answered 503\n    at charge (/app/pay.js:42:7)\n    at checkout (/app/checkout.js:17:3)")

	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Post("http://"+srv.OTLPHTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	answer := ptraceotlp.NewExportResponse()
	if err := answer.UnmarshalProto(buf.Bytes()); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP export: %d %q (%v)", resp.StatusCode, buf.String(), err)
	}
	if ps := answer.PartialSuccess(); ps.RejectedSpans() != 0 {
		t.Fatalf("OTLP export rejected %d spans: %s", ps.RejectedSpans(), ps.ErrorMessage())
	}
	return otelTraces{checkout: xrayID(tid), worker: xrayID(workerTID)}
}
