package translate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/segment"
)

var (
	tid   = pcommon.TraceID{0x5f, 0x84, 0x1a, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	sidA  = pcommon.SpanID{0xa, 0, 0, 0, 0, 0, 0, 1}
	sidB  = pcommon.SpanID{0xb, 0, 0, 0, 0, 0, 0, 2}
	sidC  = pcommon.SpanID{0xc, 0, 0, 0, 0, 0, 0, 3}
	t0    = time.Unix(1602493952, 0)
	xrTID = "1-5f841a00-0102030405060708090a0b0c"
)

// build makes one resource with the given attributes holding spans made by
// each fn, in order.
func build(res map[string]any, fns ...func(ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if res == nil {
		res = map[string]any{"service.name": "checkout"}
	}
	if err := rs.Resource().Attributes().FromRaw(res); err != nil {
		panic(err)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test-scope")
	ss.Scope().SetVersion("1.2")
	for _, fn := range fns {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(150 * time.Millisecond)))
		fn(sp)
	}
	return td
}

func span(id pcommon.SpanID, parent pcommon.SpanID, kind ptrace.SpanKind, name string, attrs map[string]any) func(ptrace.Span) {
	return func(sp ptrace.Span) {
		sp.SetSpanID(id)
		sp.SetParentSpanID(parent)
		sp.SetKind(kind)
		sp.SetName(name)
		if err := sp.Attributes().FromRaw(attrs); err != nil {
			panic(err)
		}
	}
}

var none = pcommon.SpanID{}

func translate(t *testing.T, opts Options, td ptrace.Traces) ([]segment.Segment, Stats) {
	t.Helper()
	segs, st := New(opts).Translate(nil, td)
	if st.Stored+sum(st.Rejected) != st.Spans {
		t.Fatalf("spans %d != stored %d + rejected %v", st.Spans, st.Stored, st.Rejected)
	}
	if len(st.Rejected) > 0 {
		t.Fatalf("rejected: %v", st.Rejected)
	}
	checkDigest(t, segs)
	return segs, st
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// entity finds the entity with the given span ID.
func entity(t *testing.T, segs []segment.Segment, id pcommon.SpanID) (*segment.Segment, *segment.Entity) {
	t.Helper()
	for i := range segs {
		for j := range segs[i].Entities {
			if e := &segs[i].Entities[j]; e.ID.String() == hexID(id) {
				return &segs[i], e
			}
		}
	}
	t.Fatalf("no entity %x in %d documents", id, len(segs))
	return nil, nil
}

func hexID(id pcommon.SpanID) string { return id.String() }

// rawEntity decodes the raw JSON of the entity with the given ID.
func rawEntity(t *testing.T, segs []segment.Segment, id pcommon.SpanID) map[string]any {
	t.Helper()
	var find func(m map[string]any) map[string]any
	find = func(m map[string]any) map[string]any {
		if m["id"] == hexID(id) {
			return m
		}
		subs, _ := m["subsegments"].([]any)
		for _, s := range subs {
			if r := find(s.(map[string]any)); r != nil {
				return r
			}
		}
		return nil
	}
	for _, s := range segs {
		var m map[string]any
		if err := json.Unmarshal(s.Raw, &m); err != nil {
			t.Fatalf("raw document is not JSON: %v\n%s", err, s.Raw)
		}
		if r := find(m); r != nil {
			return r
		}
	}
	t.Fatalf("no raw entity %s", hexID(id))
	return nil
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

// Each case is one row of docs/otlp.md's table.
func TestMapping(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		td    ptrace.Traces
		check func(t *testing.T, segs []segment.Segment, st Stats)
	}{
		{"trace ID: 1- + first 8 hex + - + 24 hex", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if got := segs[0].TraceID.String(); got != xrTID {
					t.Errorf("trace ID %s, want %s", got, xrTID)
				}
				if got := segs[0].ID().String(); got != "0a00000000000001" {
					t.Errorf("segment ID %s", got)
				}
			}},
		{"server span: segment named after service.name", Options{}, build(nil,
			span(sidA, sidC, ptrace.SpanKindServer, "GET /cart", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				s := segs[0]
				if s.Independent || s.Root().Name != "checkout" || s.ParentID.String() != hexID(sidC) {
					t.Errorf("segment %+v name %q parent %s", s.Independent, s.Root().Name, s.ParentID)
				}
				if s.Root().Start != 1602493952 || s.Root().End != 1602493952.15 {
					t.Errorf("times %f %f", s.Root().Start, s.Root().End)
				}
			}},
		{"consumer span: segment", Options{}, build(nil,
			span(sidA, sidC, ptrace.SpanKindConsumer, "orders process", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if segs[0].Independent || segs[0].Root().Name != "checkout" {
					t.Errorf("consumer span: independent %v name %q", segs[0].Independent, segs[0].Root().Name)
				}
			}},
		{"internal local root: segment", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindInternal, "job", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if segs[0].Independent || segs[0].Root().Name != "checkout" {
					t.Errorf("root: independent %v name %q", segs[0].Independent, segs[0].Root().Name)
				}
			}},
		{"aws.span.kind LOCAL_ROOT: segment", Options{}, build(nil,
			span(sidA, sidC, ptrace.SpanKindInternal, "job", map[string]any{"aws.span.kind": "LOCAL_ROOT"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if segs[0].Independent {
					t.Error("LOCAL_ROOT span became a subsegment")
				}
			}},
		{"client child in batch: nested subsegment", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil),
			span(sidB, sidA, ptrace.SpanKindInternal, "compute", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if len(segs) != 1 || len(segs[0].Entities) != 2 {
					t.Fatalf("%d documents, want 1 with 2 entities", len(segs))
				}
				if e := segs[0].Entities[1]; e.Name != "compute" || e.Parent != 0 || e.Namespace != "" {
					t.Errorf("nested %+v", e)
				}
			}},
		{"parent elsewhere: independent subsegment", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindInternal, "compute", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				s := segs[0]
				if !s.Independent || s.ParentID.String() != hexID(sidA) || s.TraceID.String() != xrTID {
					t.Errorf("independent %v parent %s", s.Independent, s.ParentID)
				}
			}},
		{"client local root: service segment + subsegment", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindClient, "DynamoDB.GetItem", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem",
				"aws.dynamodb.table_names": []any{"orders"}})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				s := segs[0]
				if len(s.Entities) != 2 || s.Root().Name != "checkout" || s.Independent {
					t.Fatalf("document %+v", s.Entities)
				}
				if e := s.Entities[1]; e.ID.String() != hexID(sidA) || e.Name != "DynamoDB" || e.Namespace != "aws" {
					t.Errorf("dependency %+v", e)
				}
			}},
		{"origin: aws_lambda → AWS::Lambda::Function", Options{}, build(map[string]any{
			"service.name": "fn", "cloud.provider": "aws", "cloud.platform": "aws_lambda",
			"cloud.region": "us-east-1", "faas.name": "fn", "cloud.resource_id": "arn:aws:lambda:us-east-1:123456789012:function:fn"},
			span(sidA, none, ptrace.SpanKindServer, "fn", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				r := segs[0].Root()
				if r.Origin != OriginLambda || r.AWS.FunctionARN == "" || r.AWS.Region != "us-east-1" {
					t.Errorf("origin %q aws %+v", r.Origin, r.AWS)
				}
			}},
		{"Lambda invocation: request ID and function ARN from the span", Options{}, build(map[string]any{
			"service.name": "fn", "cloud.provider": "aws", "cloud.platform": "aws_lambda", "faas.name": "fn"},
			span(sidA, none, ptrace.SpanKindServer, "fn", map[string]any{"faas.invocation_id": "req-1",
				"cloud.resource_id": "arn:aws:lambda:us-east-1:123456789012:function:fn"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				r := segs[0].Root()
				if r.AWS.RequestID != "req-1" || r.AWS.FunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:fn" || r.AWS.FunctionName != "fn" {
					t.Errorf("aws %+v", r.AWS)
				}
			}},
		{"origin: aws_ec2 → AWS::EC2::Instance with instance", Options{}, build(map[string]any{
			"service.name": "web", "cloud.provider": "aws", "cloud.platform": "aws_ec2",
			"host.id": "i-0123", "cloud.availability_zone": "us-east-1a", "cloud.account.id": "123456789012"},
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				r := segs[0].Root()
				if r.Origin != OriginEC2 || r.AWS.InstanceID != "i-0123" || r.AWS.AvailabilityZone != "us-east-1a" || r.AWS.AccountID != "123456789012" {
					t.Errorf("origin %q aws %+v", r.Origin, r.AWS)
				}
			}},
		{"origin: aws_ecs → AWS::ECS::Container", Options{}, build(map[string]any{
			"service.name": "web", "cloud.provider": "aws", "cloud.platform": "aws_ecs", "container.name": "web-1"},
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if o := segs[0].Root().Origin; o != OriginECS {
					t.Errorf("origin %q", o)
				}
			}},
		{"origin: aws_eks → AWS::EKS::Container", Options{}, build(map[string]any{
			"service.name": "web", "cloud.provider": "aws", "cloud.platform": "aws_eks", "k8s.cluster.name": "prod"},
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if o := segs[0].Root().Origin; o != OriginEKS {
					t.Errorf("origin %q", o)
				}
			}},
		{"origin: other cloud → none", Options{}, build(map[string]any{
			"service.name": "web", "cloud.provider": "gcp", "cloud.platform": "gcp_compute_engine"},
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if o := segs[0].Root().Origin; o != "" {
					t.Errorf("origin %q", o)
				}
			}},
		{"aws-api DynamoDB: aws block, namespace aws, table node", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil),
			span(sidB, sidA, ptrace.SpanKindClient, "DynamoDB.PutItem", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "PutItem",
				"aws.dynamodb.table_names": []any{"orders"}, "aws.request_id": "R1", "aws.region": "eu-west-1"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if e.Name != "DynamoDB" || e.Namespace != "aws" || e.AWS.Operation != "PutItem" || e.AWS.TableName != "orders" ||
					e.AWS.RequestID != "R1" || e.AWS.Region != "eu-west-1" {
					t.Errorf("entity %+v", e)
				}
				n, ok := segment.InferNode(e)
				if !ok || n.Name != "orders" || n.Type != "AWS::DynamoDB::Table" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"aws-api S3: bucket node", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindClient, "S3.GetObject", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": "GetObject", "aws.s3.bucket": "assets"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if n, ok := segment.InferNode(e); !ok || n.Name != "assets" || n.Type != "AWS::S3::Bucket" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"aws-api SQS: queue node from messaging.destination.name", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindProducer, "orders send", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "SQS", "rpc.method": "SendMessage",
				"messaging.system": "aws_sqs", "messaging.destination.name": "orders-queue"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if n, ok := segment.InferNode(e); !ok || n.Name != "orders-queue" || n.Type != "AWS::SQS::Queue" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"aws-api SQS: aws.queue_url", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindClient, "SQS.ReceiveMessage", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "SQS", "aws.queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if n, ok := segment.InferNode(e); !ok || n.Name != "jobs" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"aws-api SNS: topic, AWS::SNS node", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindProducer, "SNS.Publish", map[string]any{
				"rpc.system": "aws-api", "rpc.service": "SNS", "aws.sns.topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if e.AWS.TopicARN == "" {
					t.Errorf("no topic: %+v", e.AWS)
				}
				if n, ok := segment.InferNode(e); !ok || n.Type != "AWS::SNS" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"db.* SQL: sql block, name db@host", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindClient, "SELECT orders", map[string]any{
				"db.system": "postgresql", "db.name": "shop", "server.address": "db.internal", "server.port": 5432,
				"db.statement": "SELECT * FROM orders WHERE id = ?", "db.user": "app"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if e.Name != "shop@db.internal" || e.SQL == nil || e.SQL.DatabaseType != "postgresql" ||
					e.SQL.SanitizedQuery != "SELECT * FROM orders WHERE id = ?" || e.SQL.URL != "db.internal:5432/shop" || e.SQL.User != "app" {
					t.Errorf("entity %q sql %+v", e.Name, e.SQL)
				}
				if n, ok := segment.InferNode(e); !ok || n.Type != "Database::SQL" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"http old semconv: request/response, remote host", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindClient, "HTTP GET", map[string]any{
				"http.method": "GET", "http.url": "https://api.example.com/v1/items", "http.status_code": 200})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				_, e := entity(t, segs, sidB)
				if e.Name != "api.example.com" || e.Namespace != "remote" || e.HTTP.Method != "GET" ||
					e.HTTP.URL != "https://api.example.com/v1/items" || e.HTTP.Status != 200 {
					t.Errorf("entity %q %q %+v", e.Name, e.Namespace, e.HTTP)
				}
				if n, ok := segment.InferNode(e); !ok || n.Type != "remote" || n.Name != "api.example.com" {
					t.Errorf("inferred node %+v %v", n, ok)
				}
			}},
		{"http new semconv: server request from parts, client IP", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "GET /cart", map[string]any{
				"http.request.method": "GET", "url.scheme": "https", "server.address": "shop.example.com", "url.path": "/cart",
				"url.query": "a=1", "http.response.status_code": 201, "client.address": "10.0.0.1",
				"user_agent.original": "curl/8", "http.response.body.size": 42})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				h := segs[0].Root().HTTP
				if h.Method != "GET" || h.URL != "https://shop.example.com/cart?a=1" || h.Status != 201 || h.ClientIP != "10.0.0.1" ||
					!h.XForwardedFor || h.UserAgent != "curl/8" || h.ContentLength != 42 {
					t.Errorf("http %+v", h)
				}
			}},
		{"peer.service names the subsegment", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindClient, "call", map[string]any{"peer.service": "inventory", "http.method": "GET", "server.address": "10.1.1.1"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if _, e := entity(t, segs, sidB); e.Name != "inventory" || e.Namespace != "remote" {
					t.Errorf("name %q ns %q", e.Name, e.Namespace)
				}
			}},
		{"status error, no HTTP: fault", Options{}, build(nil,
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindServer, "x", nil)(sp)
				sp.Status().SetCode(ptrace.StatusCodeError)
				sp.Status().SetMessage("boom")
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				r := segs[0].Root()
				if !r.Fault || r.Error || len(r.Cause.Exceptions) != 1 || r.Cause.Exceptions[0].Message != "boom" {
					t.Errorf("flags %v %v cause %+v", r.Fault, r.Error, r.Cause)
				}
			}},
		{"HTTP 404: error", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "x", map[string]any{"http.request.method": "GET", "http.response.status_code": 404})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if r := segs[0].Root(); !r.Error || r.Fault || r.Throttle {
					t.Errorf("flags %v %v %v", r.Error, r.Fault, r.Throttle)
				}
			}},
		{"HTTP 429: throttle + error", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "x", map[string]any{"http.request.method": "GET", "http.response.status_code": 429})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if r := segs[0].Root(); !r.Error || r.Fault || !r.Throttle {
					t.Errorf("flags %v %v %v", r.Error, r.Fault, r.Throttle)
				}
			}},
		{"HTTP 503: fault even with status error", Options{}, build(nil,
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindServer, "x", map[string]any{"http.request.method": "GET", "http.response.status_code": 503})(sp)
				sp.Status().SetCode(ptrace.StatusCodeError)
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if r := segs[0].Root(); r.Error || !r.Fault {
					t.Errorf("flags %v %v", r.Error, r.Fault)
				}
			}},
		{"exception events: cause.exceptions with Java stack", Options{}, build(map[string]any{"service.name": "svc", "telemetry.sdk.language": "java"},
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindServer, "x", nil)(sp)
				sp.Status().SetCode(ptrace.StatusCodeError)
				ev := sp.Events().AppendEmpty()
				ev.SetName("exception")
				_ = ev.Attributes().FromRaw(map[string]any{"exception.type": "java.lang.IllegalStateException", "exception.message": "bad state",
					"exception.stacktrace": "java.lang.IllegalStateException: bad state\n\tat com.example.Svc.handle(Svc.java:42)\n\tat com.example.Main.main(Main.java:7)\n"})
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				ex := segs[0].Root().Cause.Exceptions
				if len(ex) != 1 || ex[0].Type != "java.lang.IllegalStateException" || ex[0].Message != "bad state" || len(ex[0].Stack) != 2 {
					t.Fatalf("exceptions %+v", ex)
				}
				if f := ex[0].Stack[0]; f.Label != "com.example.Svc.handle" || f.Path != "Svc.java" || f.Line != 42 {
					t.Errorf("frame %+v", f)
				}
			}},
		{"exception stacks: Python, JavaScript, Go, .NET", Options{}, build(nil,
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindServer, "x", nil)(sp)
				for _, st := range []string{
					"Traceback (most recent call last):\n  File \"/app/main.py\", line 12, in handler\n    raise ValueError()\nValueError",
					"Error: x\n    at handler (/var/task/index.js:10:5)\n    at /var/task/lib.js:3:1",
					"goroutine 1 [running]:\nmain.handler(0x1)\n\t/app/main.go:42 +0x1d",
					"System.Exception: x\n   at App.Svc.Run() in /src/Svc.cs:line 12",
				} {
					ev := sp.Events().AppendEmpty()
					ev.SetName("exception")
					ev.Attributes().PutStr("exception.stacktrace", st)
				}
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				ex := segs[0].Root().Cause.Exceptions
				if len(ex) != 4 {
					t.Fatalf("exceptions %+v", ex)
				}
				want := []segment.StackFrame{{Path: "/app/main.py", Line: 12, Label: "handler"}, {Path: "/var/task/index.js", Line: 10, Label: "handler"},
					{Path: "/app/main.go", Line: 42, Label: "main.handler"}, {Path: "/src/Svc.cs", Line: 12, Label: "App.Svc.Run()"}}
				for i, w := range want {
					if len(ex[i].Stack) == 0 || ex[i].Stack[0] != w {
						t.Errorf("exception %d stack %+v, want first %+v", i, ex[i].Stack, w)
					}
				}
				if len(ex[1].Stack) != 2 || ex[1].Stack[1].Path != "/var/task/lib.js" {
					t.Errorf("anonymous JS frame: %+v", ex[1].Stack)
				}
			}},
		{"aws.xray.annotations and Options.Annotations → annotations (keys sanitized)", Options{Annotations: []string{"tier"}}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "x", map[string]any{"aws.xray.annotations": []any{"customer.id", "vip"},
				"customer.id": "c-42", "vip": true, "tier": 3, "other": "not indexed"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				got := map[string]segment.Annotation{}
				for _, a := range segs[0].Root().Annotations {
					got[a.Key] = a
				}
				if len(got) != 3 || got["customer_id"].String != "c-42" || !got["vip"].Bool || got["tier"].Number != 3 {
					t.Errorf("annotations %+v", got)
				}
			}},
		{"aws.local.service and aws.remote.service name the entities", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "GET /", map[string]any{"aws.local.service": "cart-api"}),
			span(sidB, sidA, ptrace.SpanKindClient, "call", map[string]any{"aws.remote.service": "AWS::DynamoDB", "rpc.system": "aws-api",
				"peer.service": "ignored"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if n := segs[0].Root().Name; n != "cart-api" {
					t.Errorf("segment %q", n)
				}
				if _, e := entity(t, segs, sidB); e.Name != "DynamoDB" || e.Namespace != "aws" {
					t.Errorf("subsegment %q %q", e.Name, e.Namespace)
				}
			}},
		{"internal span without remote attributes: named after the span, no namespace", Options{}, build(nil,
			span(sidB, sidA, ptrace.SpanKindInternal, "compute totals", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if _, e := entity(t, segs, sidB); e.Name != "compute totals" || e.Namespace != "" {
					t.Errorf("%q %q", e.Name, e.Namespace)
				}
				if _, ok := segment.InferNode(segs[0].Root()); ok {
					t.Error("an internal span makes an inferred node")
				}
			}},
		{"resource: service.version, SDK, ECS container, log groups", Options{}, build(map[string]any{
			"service.name": "web", "service.version": "2.1", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "java",
			"telemetry.sdk.version": "1.40", "cloud.provider": "aws", "cloud.platform": "aws_ecs", "aws.ecs.launchtype": "fargate",
			"container.name": "web-1", "container.id": "c0ffee", "aws.log.group.names": []any{"/ecs/web"}},
			span(sidA, none, ptrace.SpanKindServer, "GET /", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				r := segs[0].Root()
				if r.Origin != OriginECSFargate || len(r.AWS.LogGroups) != 1 || r.AWS.LogGroups[0] != "/ecs/web" {
					t.Errorf("origin %q aws %+v", r.Origin, r.AWS)
				}
				m := rawEntity(t, segs, sidA)
				if path(m, "service", "version") != "2.1" || path(m, "aws", "xray", "sdk") != "opentelemetry for java" ||
					path(m, "aws", "ecs", "container") != "web-1" || path(m, "aws", "ecs", "container_id") != "c0ffee" {
					t.Errorf("segment %v", m)
				}
			}},
		{"more than 20 links: 20 in links, all in metadata", Options{}, build(nil,
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindConsumer, "x", nil)(sp)
				for i := range 25 {
					l := sp.Links().AppendEmpty()
					l.SetTraceID(tid)
					l.SetSpanID(pcommon.SpanID{1, 1, 1, 1, 1, 1, 1, byte(i + 1)})
				}
			}),
			func(t *testing.T, segs []segment.Segment, st Stats) {
				links, _ := path(rawEntity(t, segs, sidA), "metadata", "otel", "links").([]any)
				if len(segs[0].Links) != segment.MaxLinks || len(links) != 25 || st.Fixed[FixLinks] != 1 {
					t.Errorf("%d links, %d in metadata, fixed %v", len(segs[0].Links), len(links), st.Fixed)
				}
			}},
		{"enduser.id → user", Options{}, build(nil,
			span(sidA, none, ptrace.SpanKindServer, "x", map[string]any{"enduser.id": "alice"})),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if u := segs[0].Root().User; u != "alice" {
					t.Errorf("user %q", u)
				}
			}},
		{"links → X-Ray links", Options{}, build(nil,
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindConsumer, "x", nil)(sp)
				l := sp.Links().AppendEmpty()
				l.SetTraceID(pcommon.TraceID{0x5f, 0x84, 0x1a, 0x01, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
				l.SetSpanID(sidC)
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if l := segs[0].Links; len(l) != 1 || l[0].TraceID.String() != "1-5f841a01-090909090909090909090909" || l[0].ID.String() != hexID(sidC) {
					t.Errorf("links %+v", l)
				}
			}},
		{"lossless: metadata.otel keeps attributes, events, links, kind, status, scope, resource, trace state", Options{}, build(
			map[string]any{"service.name": "checkout", "deployment.environment": "prod"},
			func(sp ptrace.Span) {
				span(sidA, none, ptrace.SpanKindServer, "GET /", map[string]any{"n": 1, "f": 1.5, "list": []any{"a", int64(2)}, "kv": map[string]any{"k": "v"}})(sp)
				sp.TraceState().FromRaw("vendor=x")
				sp.Status().SetCode(ptrace.StatusCodeOk)
				ev := sp.Events().AppendEmpty()
				ev.SetName("cache miss")
				ev.Attributes().PutStr("key", "k1")
				l := sp.Links().AppendEmpty()
				l.SetTraceID(tid)
				l.SetSpanID(sidC)
				l.Attributes().PutStr("why", "batch")
				sp.Attributes().PutEmptyBytes("raw").FromRaw([]byte{1, 2})
			}),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				m := rawEntity(t, segs, sidA)
				otel := path(m, "metadata", "otel").(map[string]any)
				for k, want := range map[string]any{"kind": "Server", "name": "GET /", "trace_state": "vendor=x",
					"trace_id": tid.String()} {
					if otel[k] != want {
						t.Errorf("metadata.otel.%s = %v, want %v", k, otel[k], want)
					}
				}
				if path(otel, "status", "code") != "Ok" || path(otel, "attributes", "n") != 1.0 || path(otel, "attributes", "raw") != "AQI=" ||
					path(otel, "attributes", "kv", "k") != "v" || path(otel, "scope", "name") != "test-scope" ||
					path(otel, "resource", "attributes", "deployment.environment") != "prod" {
					t.Errorf("metadata.otel %v", otel)
				}
				evs, _ := otel["events"].([]any)
				links, _ := otel["links"].([]any)
				if len(evs) != 1 || path(evs[0].(map[string]any), "attributes", "key") != "k1" || len(links) != 1 ||
					path(links[0].(map[string]any), "attributes", "why") != "batch" {
					t.Errorf("events %v links %v", evs, links)
				}
			}},
		{"odd fields fixed, not dropped: zero IDs, missing times, end before start", Options{Now: func() time.Time { return t0 }}, build(nil,
			func(sp ptrace.Span) {
				span(none, none, ptrace.SpanKindServer, "x", nil)(sp)
				sp.SetTraceID(pcommon.TraceID{})
				sp.SetStartTimestamp(0)
				sp.SetEndTimestamp(0)
			},
			func(sp ptrace.Span) {
				span(sidB, none, ptrace.SpanKindServer, "y", nil)(sp)
				sp.SetEndTimestamp(1)
			}),
			func(t *testing.T, segs []segment.Segment, st Stats) {
				if len(segs) != 2 || st.Fixed[FixTraceID] != 1 || st.Fixed[FixSpanID] != 1 || st.Fixed[FixTimestamps] != 2 {
					t.Errorf("%d documents, fixed %v", len(segs), st.Fixed)
				}
				if r := segs[0].Root(); r.Start != float64(t0.Unix()) || r.End != r.Start {
					t.Errorf("times %f %f", r.Start, r.End)
				}
			}},
		{"random W3C trace ID (implausible epoch) kept as is", Options{}, func() ptrace.Traces {
			td := build(nil, span(sidA, none, ptrace.SpanKindServer, "x", nil))
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.TraceID{0xff, 0xee, 0xdd, 0xcc, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
			return td
		}(),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if got := segs[0].TraceID.String(); got != "1-ffeeddcc-0102030405060708090a0b0c" {
					t.Errorf("trace ID %s", got)
				}
			}},
		{"invalid name characters removed", Options{}, build(map[string]any{"service.name": "shop<api>!"},
			span(sidA, none, ptrace.SpanKindServer, "x", nil)),
			func(t *testing.T, segs []segment.Segment, _ Stats) {
				if n := segs[0].Root().Name; n != "shopapi" {
					t.Errorf("name %q", n)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			segs, st := translate(t, c.opts, c.td)
			if len(segs) == 0 {
				t.Fatal("no segments")
			}
			c.check(t, segs, st)
		})
	}
}

// A parent chain that loops, a deep chain and a duplicate span ID all come
// out as documents, none lost.
func TestTreeShapes(t *testing.T) {
	// loop: A's parent B, B's parent A, both internal.
	td := build(nil,
		span(sidA, sidB, ptrace.SpanKindInternal, "a", nil),
		span(sidB, sidA, ptrace.SpanKindInternal, "b", nil),
		span(sidB, sidA, ptrace.SpanKindInternal, "b again", nil))
	segs, st := translate(t, Options{}, td)
	if st.Stored != 3 || len(segs) < 2 {
		t.Errorf("loop: stored %d in %d documents", st.Stored, len(segs))
	}
	// A chain of 100 spans nests 16 deep per document.
	var fns []func(ptrace.Span)
	for i := 1; i <= 100; i++ {
		id := pcommon.SpanID{0, 0, 0, 0, 0, 0, 1, byte(i)}
		parent := pcommon.SpanID{0, 0, 0, 0, 0, 0, 1, byte(i - 1)}
		if i == 1 {
			parent = none
		}
		fns = append(fns, span(id, parent, ptrace.SpanKindInternal, "s", nil))
	}
	segs, st = translate(t, Options{}, build(nil, fns...))
	if st.Stored != 100 || len(segs) < 100/maxNesting {
		t.Errorf("chain: stored %d in %d documents", st.Stored, len(segs))
	}
	if !strings.Contains(string(segs[1].Raw), `"type":"subsegment"`) {
		t.Errorf("split document is not an independent subsegment: %.200s", segs[1].Raw)
	}
}

// A span too large for one document is stored with its long values cut; the
// spans that shared its document are stored on their own.
func TestOversizedSpan(t *testing.T) {
	td := build(nil,
		span(sidA, none, ptrace.SpanKindServer, "GET /", nil),
		span(sidB, sidA, ptrace.SpanKindInternal, "big", map[string]any{"blob": strings.Repeat("x", MaxDocumentSize+1)}),
		span(sidC, sidA, ptrace.SpanKindInternal, "small", nil))
	segs, st := translate(t, Options{}, td)
	if st.Stored != 3 || len(segs) != 3 || st.Fixed[FixTruncated] != 1 || st.Fixed[FixSplitRefused] != 1 {
		t.Fatalf("stored %d in %d documents, fixed %v", st.Stored, len(segs), st.Fixed)
	}
	m := rawEntity(t, segs, sidB)
	if v, _ := path(m, "metadata", "otel", "attributes", "blob").(string); len(v) > trimBytes+8 || !strings.HasPrefix(v, "xxxx") {
		t.Errorf("blob kept %d bytes", len(v))
	}
	if _, e := entity(t, segs, sidC); e.Name != "small" {
		t.Errorf("sibling %q", e.Name)
	}
}
