package otelspan

import (
	"encoding/json"
	"testing"
)

func TestFromDocument(t *testing.T) {
	doc := `{"id":"c930192eec6a49b4","trace_id":"1-6b16c3fb-ee1f4171abd2b878c2a761b5","name":"orders","origin":"AWS::EC2::Instance","start_time":1700000000.5,"end_time":1700000001.25,
"fault":true,"http":{"request":{"method":"POST","url":"http://orders/checkout"},"response":{"status":500}},"annotations":{"tier":"gold","items":3},"aws":{"xray":{"sdk":"X-Ray for Python","sdk_version":"2.15.0"}},
"subsegments":[{"id":"6bbc135d0db8353c","name":"DynamoDB","namespace":"aws","start_time":1700000000.6,"end_time":1700000000.7,"aws":{"operation":"GetItem","table_name":"items"},
"cause":{"exceptions":[{"type":"ValueError","message":"card declined"}]},"subsegments":[{"id":"f093800f048de3c9","name":"sign","start_time":1700000000.61,"in_progress":true}]}]}`
	spans, err := FromDocument(nil, []byte(doc), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 || spans[0].ID != "c930192eec6a49b4" || spans[2].ID != "f093800f048de3c9" {
		t.Fatalf("spans %d: %+v", len(spans), spans)
	}
	var root, call, inner map[string]any
	for i, m := range []*map[string]any{&root, &call, &inner} {
		if err := json.Unmarshal(spans[i].Document, m); err != nil {
			t.Fatal(err)
		}
	}
	attrs := root["attributes"].(map[string]any)
	if root["traceId"] != "6b16c3fbee1f4171abd2b878c2a761b5" || root["kind"] != "SERVER" || root["startTimeUnixNano"] != 1700000000.5e9 ||
		root["durationNano"] != 0.75e9 || root["status"].(map[string]any)["code"] != "ERROR" ||
		attrs["http.request.method"] != "POST" || attrs["http.response.status_code"] != 500.0 || attrs["aws.xray.annotations.tier"] != "gold" ||
		root["resource"].(map[string]any)["service.name"] != "orders" || root["resource"].(map[string]any)["telemetry.sdk.version"] != "2.15.0" {
		t.Errorf("segment span %s", spans[0].Document)
	}
	ca := call["attributes"].(map[string]any)
	if call["kind"] != "CLIENT" || call["parentSpanId"] != "c930192eec6a49b4" || ca["rpc.method"] != "GetItem" || ca["aws.table_name"] != "items" ||
		len(call["events"].([]any)) != 1 {
		t.Errorf("call span %s", spans[1].Document)
	}
	if inner["kind"] != "INTERNAL" || inner["parentSpanId"] != "6bbc135d0db8353c" || inner["endTimeUnixNano"] != nil {
		t.Errorf("in-progress span %s", spans[2].Document)
	}
	if l, _ := FromDocument(nil, []byte(doc), 2); len(l) != 2 {
		t.Errorf("limit 2: %d spans", len(l))
	}
	for _, bad := range []string{`[]`, `{"id":"a"}`, `{"id":"a","trace_id":"x"}`} {
		if _, err := FromDocument(nil, []byte(bad), 0); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzFromDocument(f *testing.F) {
	f.Add([]byte(`{"id":"a","trace_id":"1-6b16c3fb-ee1f4171abd2b878c2a761b5","name":"n","start_time":1,"end_time":2,"subsegments":[{"id":"b","name":"c","start_time":1e300}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		spans, err := FromDocument(nil, doc, 100)
		if err != nil {
			return
		}
		if len(spans) == 0 || len(spans) > 100 {
			t.Fatalf("%d spans", len(spans))
		}
		for _, s := range spans {
			if !json.Valid(s.Document) {
				t.Fatalf("span %s is not JSON", s.Document)
			}
		}
	})
}
