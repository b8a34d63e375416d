package translate

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
	"github.com/counterspy/counterspy/internal/segment"
)

// checkDigest fails unless every segment is exactly what the segment
// decoder makes of its Raw: the translator's digest (digest.go) must never
// differ from the decoder, which defines it.
func checkDigest(t testing.TB, segs []segment.Segment) {
	t.Helper()
	dec := segment.NewDecoder(MaxDocumentSize)
	for i := range segs {
		want, err := dec.DecodeWritten(nil, segs[i].Raw)
		if err != nil {
			t.Fatalf("document %d does not decode: %v\n%s", i, err, segs[i].Raw)
		}
		if len(want) != 1 || !reflect.DeepEqual(want[0], segs[i]) {
			t.Fatalf("document %d: the translator's digest differs from the decoder's (-decoder +digest):\n%s\n%s",
				i, cmp.Diff(want, segs[i:i+1]), segs[i].Raw)
		}
	}
}

// translateBoth translates td with the digest and without it (every
// document decoded) and fails unless both give the same segments and stats.
func translateBoth(t *testing.T, opts Options, td ptrace.Traces) []segment.Segment {
	t.Helper()
	fast := New(opts)
	slow := New(opts)
	slow.noDigest = true
	got, gst := fast.Translate(nil, td)
	want, wst := slow.Translate(nil, td)
	if !reflect.DeepEqual(gst, wst) {
		t.Fatalf("stats with the digest %+v, decoded %+v", gst, wst)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("segments with the digest differ from decoded ones (-decoded +digest):\n%s", cmp.Diff(want, got))
	}
	checkDigest(t, got)
	return got
}

// TestDigestMatchesDecoder translates the load generator's scenarios (every
// mapping the "large" one exercises: AWS calls, SQL, HTTP, errors, Lambda
// and container origins, annotations) and spans with odd values, and checks
// the digest against the decoder.
func TestDigestMatchesDecoder(t *testing.T) {
	start := time.Unix(1765000000, 123456789)
	for _, name := range otlpgen.Names() {
		sc, err := otlpgen.New(name, 7)
		if err != nil {
			t.Fatal(err)
		}
		b := otlpgen.NewBatch()
		for i := range 60 {
			sc.Trace(b, i, start.Add(time.Duration(i)*time.Millisecond))
		}
		segs := translateBoth(t, Options{Annotations: []string{"worker", "otel.resource.service.name"}}, b.Traces())
		if len(segs) == 0 {
			t.Fatalf("%s: no segments", name)
		}
	}

	bad := string([]byte{'a', 0xff, 'b'})
	odd := build(map[string]any{"service.name": "svc" + bad, "cloud.provider": "aws", "cloud.platform": "aws_ec2",
		"cloud.region": "eu-west-1", "cloud.availability_zone": "eu-west-1a", "host.id": "i-1", "aws.log.group.names": []any{"g1", "g2"}},
		span(sidA, none, ptrace.SpanKindServer, "GET /", map[string]any{"http.method": "GET", "http.status_code": "429",
			"client.address": "10.0.0.1", "url.full": "http://h/x", "aws.xray.annotations": []any{"n", "f", "b", "a.b", "a_b", "inf", "s"},
			"n": 12, "f": 1.5, "b": true, "a.b": "first", "a_b": "second", "inf": math.Inf(1), "s": "tab\there\x00", "enduser.id": "u"}),
		span(sidB, sidA, ptrace.SpanKindClient, "DynamoDB.Query", map[string]any{"rpc.system": "aws-api", "rpc.service": "DynamoDB",
			"rpc.method": "Query", "aws.dynamodb.table_names": []any{"t1", "t2"}, "aws.request_id": "r" + bad}),
		span(sidC, sidB, ptrace.SpanKindClient, "SELECT", map[string]any{"db.system": "postgresql", "db.statement": "SELECT \"x\"",
			"server.address": "db", "server.port": 5432, "db.name": "app", "db.user": "me"}),
		func(sp ptrace.Span) {
			// A call without a local entry span (a service segment), an
			// exception with a Java stack, links, and times past 2106.
			sp.SetSpanID(pcommon.SpanID{0xd, 0, 0, 0, 0, 0, 0, 4})
			sp.SetParentSpanID(pcommon.SpanID{0xe, 0, 0, 0, 0, 0, 0, 5})
			sp.SetKind(ptrace.SpanKindProducer)
			sp.SetName("send")
			sp.SetStartTimestamp(pcommon.Timestamp(math.MaxUint64 - 12345678))
			sp.SetEndTimestamp(pcommon.Timestamp(math.MaxUint64 - 345))
			sp.Attributes().PutStr("messaging.system", "aws_sqs")
			sp.Attributes().PutStr("messaging.destination.name", "q")
			sp.Status().SetCode(ptrace.StatusCodeError)
			ev := sp.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.type", "java.lang.IllegalStateException")
			ev.Attributes().PutStr("exception.message", "boom"+bad)
			ev.Attributes().PutStr("exception.stacktrace", "java.lang.IllegalStateException: boom\n\tat com.example.Foo.bar(Foo.java:42)\n\tat com.example.Main.main(Main.java)\n")
			for i := range 3 {
				l := sp.Links().AppendEmpty()
				l.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)})
				l.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)})
			}
		},
		func(sp ptrace.Span) {
			// An independent subsegment with links and a failed status.
			sp.SetSpanID(pcommon.SpanID{0xf, 0, 0, 0, 0, 0, 0, 6})
			sp.SetParentSpanID(pcommon.SpanID{0xe, 0, 0, 0, 0, 0, 0, 7})
			sp.SetKind(ptrace.SpanKindInternal)
			sp.SetName(strings.Repeat("long name ", 30))
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("failed")
			l := sp.Links().AppendEmpty()
			l.SetTraceID(pcommon.TraceID{9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			l.SetSpanID(pcommon.SpanID{9, 2, 3, 4, 5, 6, 7, 8})
		})
	for _, bad := range []bool{false, true} {
		td := odd
		if !bad {
			// The same without invalid UTF-8, so the digest is used.
			td = ptrace.NewTraces()
			odd.CopyTo(td)
			clean(td)
		}
		translateBoth(t, Options{}, td)
	}
}

// clean replaces invalid UTF-8 in every string attribute and event.
func clean(td ptrace.Traces) {
	fix := func(m pcommon.Map) {
		m.Range(func(k string, v pcommon.Value) bool {
			if v.Type() == pcommon.ValueTypeStr {
				v.SetStr(strings.ToValidUTF8(v.Str(), "?"))
			}
			return true
		})
	}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		fix(rss.At(i).Resource().Attributes())
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				fix(spans.At(k).Attributes())
				evs := spans.At(k).Events()
				for e := range evs.Len() {
					fix(evs.At(e).Attributes())
				}
			}
		}
	}
}
