package translate

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzTranslate decodes arbitrary bytes as an OTLP request body (protobuf
// or JSON, as the receivers do) and maps what decodes: no panic, and every
// span ends up in a document or counted as rejected.
func FuzzTranslate(f *testing.F) {
	seed := build(map[string]any{"service.name": "s", "cloud.provider": "aws", "cloud.platform": "aws_lambda"},
		span(sidA, none, ptrace.SpanKindServer, "GET /", map[string]any{"http.method": "GET", "http.status_code": 500}),
		span(sidB, sidA, ptrace.SpanKindClient, "DynamoDB.PutItem", map[string]any{"rpc.system": "aws-api", "rpc.service": "DynamoDB",
			"aws.dynamodb.table_names": []any{"t"}, "aws.xray.annotations": []any{"k"}, "k": "v"}),
		span(sidC, sidB, ptrace.SpanKindClient, "q", map[string]any{"db.system": "mysql", "db.statement": "SELECT 1"}))
	req := ptraceotlp.NewExportRequestFromTraces(seed)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	f.Add(pb, false)
	f.Add(js, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":"","name":"x","parentSpanId":"0102030405060708"}]}]}]}`), true)
	tr := New(Options{Annotations: []string{"k"}})
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		req := ptraceotlp.NewExportRequest()
		var err error
		if isJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			return
		}
		td := req.Traces()
		segs, st := tr.Translate(nil, td)
		if st.Spans != td.SpanCount() {
			t.Fatalf("saw %d spans of %d", st.Spans, td.SpanCount())
		}
		rejected := 0
		for _, n := range st.Rejected {
			rejected += n
		}
		if st.Stored+rejected != st.Spans {
			t.Fatalf("%d spans: %d stored + %d rejected", st.Spans, st.Stored, rejected)
		}
		entities := 0
		for _, s := range segs {
			entities += len(s.Entities)
			// The translator's documents skip the decoder's validation:
			// they must be strict JSON by construction.
			if !json.Valid(s.Raw) {
				t.Fatalf("document is not strict JSON: %q", s.Raw)
			}
		}
		if entities != st.Stored+st.Synthetic {
			t.Fatalf("%d entities for %d stored spans and %d service segments", entities, st.Stored, st.Synthetic)
		}
		checkDigest(t, segs)
		if st.Documents != len(segs) {
			t.Fatalf("%d documents counted, %d returned", st.Documents, len(segs))
		}
	})
}
