package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
)

// pyNested emits one trace with the X-Ray SDK for Python over UDP: a
// segment with HTTP data, a user, annotations and metadata, holding nested
// subsegments (a remote call that failed with an exception, a local one
// inside it). It prints the trace ID.
const pyNested = `
import sys
from aws_xray_sdk.core import xray_recorder
xray_recorder.configure(daemon_address=sys.argv[1], context_missing='LOG_ERROR', sampling=False, service='py-orders')
seg = xray_recorder.begin_segment('py-orders')
seg.put_http_meta('method', 'POST')
seg.put_http_meta('url', 'http://orders.local/checkout')
seg.put_http_meta('user_agent', 'curl/8')
seg.set_user('alice')
seg.put_annotation('tier', 'gold')
seg.put_annotation('items', 3)
seg.put_metadata('cart', {'sku': ['a', 'b'], 'total': 12.5}, 'shop')
outer = xray_recorder.begin_subsegment('payment', namespace='remote')
outer.put_http_meta('method', 'POST')
outer.put_http_meta('url', 'https://pay.example.com/charge')
outer.put_annotation('attempt', 1)
inner = xray_recorder.begin_subsegment('sign')
inner.put_metadata('key', 'k1')
xray_recorder.end_subsegment()
try:
    raise ValueError('card declined')
except ValueError as e:
    outer.add_exception(e, __import__('traceback').extract_stack())
outer.put_http_meta('status', 502)
xray_recorder.end_subsegment()
seg.put_http_meta('status', 500)
xray_recorder.end_segment()
print(seg.trace_id)
`

// sdkInternal are the members an SDK sends that X-Ray's compiled documents
// leave out (see internal/assemble): they are not compared.
func sdkInternal(nested bool, k string, v any) bool {
	switch k {
	case "Dummy", "subsegments":
		return true
	case "trace_id", "parent_id", "type":
		return nested
	case "in_progress":
		return v == false
	}
	return false
}

func TestXRaySDKForPythonNestedRoundTrip(t *testing.T) {
	if err := exec.Command("python3", "-c", "import aws_xray_sdk").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with aws_xray_sdk is needed under CI: %v", err)
		}
		t.Skipf("no python3 with aws_xray_sdk: %v", err)
	}
	srv := startServer(t)
	rel := newRelay(t, srv.UDPAddr())
	script := filepath.Join(t.TempDir(), "nested.py")
	if err := os.WriteFile(script, []byte(pyNested), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", script, rel.Addr()).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	traceID := strings.TrimSpace(string(out))
	var sent []map[string]any
	waitFor(t, "the SDK's segment", func() bool {
		sent = sent[:0]
		for _, d := range rel.Documents() {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				t.Fatalf("the SDK sent %v: %s", err, d)
			}
			sent = append(sent, m)
		}
		return len(sent) > 0
	})
	// Every entity the SDK sent, by ID, and whether it was embedded.
	want := map[string]map[string]any{}
	nestedIDs := map[string]bool{}
	var collect func(m map[string]any, nested bool)
	collect = func(m map[string]any, nested bool) {
		want[m["id"].(string)] = m
		nestedIDs[m["id"].(string)] = nested
		subs, _ := m["subsegments"].([]any)
		for _, s := range subs {
			collect(s.(map[string]any), true)
		}
	}
	for _, m := range sent {
		collect(m, false)
	}
	if len(want) != 3 {
		t.Fatalf("the SDK sent %d entities, want 3 (segment, payment, sign)", len(want))
	}
	got := map[string]map[string]any{}
	waitFor(t, "the trace", func() bool {
		tr, err := xrayClient(srv).BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
		if err != nil || len(tr.Traces) != 1 {
			return false
		}
		clear(got)
		var index func(m map[string]any)
		index = func(m map[string]any) {
			got[m["id"].(string)] = m
			subs, _ := m["subsegments"].([]any)
			for _, s := range subs {
				index(s.(map[string]any))
			}
		}
		for _, s := range tr.Traces[0].Segments {
			var m map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(s.Document)), &m); err != nil {
				t.Fatal(err)
			}
			index(m)
		}
		return len(got) >= len(want)
	})
	for id, w := range want {
		g := got[id]
		if g == nil {
			t.Errorf("entity %s (%v) is missing", id, w["name"])
			continue
		}
		for k, v := range w {
			if sdkInternal(nestedIDs[id], k, v) {
				if _, ok := g[k]; ok && k != "subsegments" {
					t.Errorf("%v: SDK-internal %s came back", w["name"], k)
				}
				continue
			}
			if !reflect.DeepEqual(g[k], v) {
				t.Errorf("%v.%s: sent %v, got %v", w["name"], k, v, g[k])
			}
		}
	}
}

// TestXRaySDKForNodeFailedCallIsKept: the X-Ray SDK for Node's subsegment
// for an HTTP call that failed before any response (aws-xray-sdk-node,
// lib/segments/attributes/subsegment.js addRemoteRequestData with
// res.statusCode undefined → "status": "") is stored and returned with
// everything else it holds.
func TestXRaySDKForNodeFailedCallIsKept(t *testing.T) {
	srv := startServer(t)
	const trace = "1-6553f100-0123456789abcdef01234567"
	doc := `{"id":"a0b1c2d3e4f50617","name":"web","start_time":1700000000.1,"end_time":1700000000.9,"trace_id":"` + trace + `","aws":{"xray":{"sdk":"X-Ray for Node.js","sdk_version":"3.5.1","package":"aws-xray-sdk"}},"http":{"request":{"method":"GET","url":"http://web/x"},"response":{"status":502}},"fault":true,"subsegments":[{"id":"b0b1c2d3e4f50617","name":"backend.internal","start_time":1700000000.2,"end_time":1700000000.8,"namespace":"remote","http":{"request":{"url":"http://backend.internal/items","method":"GET"},"response":{"status":""}},"fault":true,"cause":{"working_directory":"/app","exceptions":[{"message":"connect ECONNREFUSED 127.0.0.1:80","type":"Error","remote":true}]}}]}`
	client := xrayClient(srv)
	out, err := client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{doc}})
	if err != nil || len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("put: %v %+v", err, out)
	}
	tr, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{trace}})
	if err != nil || len(tr.Traces) != 1 {
		t.Fatalf("get: %v %+v", err, tr)
	}
	var seg struct {
		Subsegments []struct {
			Name string
			HTTP struct {
				Request  map[string]any
				Response map[string]any
			}
			Cause struct{ Exceptions []map[string]any }
		}
		Metadata map[string]map[string][]map[string]string
	}
	var body string
	for _, s := range tr.Traces[0].Segments {
		if aws.ToString(s.Id) == "a0b1c2d3e4f50617" {
			body = aws.ToString(s.Document)
		}
	}
	if err := json.Unmarshal([]byte(body), &seg); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(seg.Subsegments) != 1 || seg.Subsegments[0].HTTP.Request["url"] != "http://backend.internal/items" ||
		len(seg.Subsegments[0].Cause.Exceptions) != 1 || seg.Subsegments[0].HTTP.Response == nil {
		t.Fatalf("the failed call lost data: %s", body)
	}
	if _, ok := seg.Subsegments[0].HTTP.Response["status"]; ok {
		t.Errorf("the empty status was kept: %s", body)
	}
	notes := seg.Metadata["counterspy"]["ingest_repairs"]
	if len(notes) != 1 || notes[0]["path"] != "subsegments[0].http.response.status" || notes[0]["action"] != "dropped" {
		t.Errorf("repair note %v", notes)
	}
}
