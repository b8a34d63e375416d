package render

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseEntityTolerates(t *testing.T) {
	f := func(doc string, want Entity) {
		t.Helper()
		got, err := ParseEntity([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", doc, *got, want)
		}
	}
	base := `"id":"a1","name":"svc","start_time":1.5`
	f(`{`+base+`,"end_time":2.5}`, Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2.5})
	// Numbers as strings, content_length as a string, unknown fields, nulls.
	f(`{"id":"a1","name":"svc","start_time":"1.5","end_time":"2.5","Dummy":false,"user":null,"origin":null,
		"http":{"request":{"method":"GET","url":null},"response":{"status":"404","content_length":"12"}},"error":"true"}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2.5, Error: true, HTTP: HTTP{Method: "GET", Status: 404}})
	// Wrongly typed values are ignored, the rest is kept.
	f(`{`+base+`,"end_time":2,"http":"nope","fault":1,"subsegments":{"id":"x"},"namespace":["aws"],"cause":[1]}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2})
	f(`{`+base+`,"end_time":2,"http":{"response":{"status":200.0}},"throttle":true}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Throttle: true, HTTP: HTTP{Status: 200}})
	// No end_time: in progress, whatever in_progress says.
	f(`{`+base+`,"in_progress":true}`, Entity{ID: "a1", Name: "svc", Start: 1.5, InProgress: true})
	f(`{`+base+`}`, Entity{ID: "a1", Name: "svc", Start: 1.5, InProgress: true})
	f(`{`+base+`,"in_progress":true,"end_time":3}`, Entity{ID: "a1", Name: "svc", Start: 1.5, End: 3})
	// Causes: an exception ID, {id}, or exceptions (null and odd frames included).
	f(`{`+base+`,"end_time":2,"cause":"0123456789abcdef"}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Cause: Cause{ExceptionID: "0123456789abcdef"}})
	f(`{`+base+`,"end_time":2,"cause":{"id":"0123456789abcdef"}}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Cause: Cause{ExceptionID: "0123456789abcdef"}})
	f(`{`+base+`,"end_time":2,"cause":{"working_directory":"/","exceptions":[null,{"id":"e1","type":"E","message":"m","remote":true,
		"stack":[{"path":"a.go","line":"7","label":"main"},{"path":"b.go","line":null},"x"]}]}}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Cause: Cause{Exceptions: []Exception{
			{},
			{ID: "e1", Type: "E", Message: "m", Remote: true, Stack: []Frame{{Path: "a.go", Line: 7, Label: "main"}, {Path: "b.go"}, {}}},
		}}})
	// Subsegments at any depth; null and non-object entries dropped.
	f(`{`+base+`,"end_time":2,"subsegments":[null,7,{"id":"b","name":"inner","start_time":1.6,"end_time":1.7,"namespace":"aws",
		"subsegments":[{"id":"c","name":"deeper","start_time":1.61,"end_time":1.62}]}]}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Subsegments: []*Entity{
			{ID: "b", Name: "inner", Start: 1.6, End: 1.7, Namespace: "aws", Subsegments: []*Entity{
				{ID: "c", Name: "deeper", Start: 1.61, End: 1.62},
			}},
		}})
	// Inferred segments.
	f(`{`+base+`,"end_time":2,"inferred":true,"origin":"AWS::DynamoDB::Table","parent_id":"p"}`,
		Entity{ID: "a1", Name: "svc", Start: 1.5, End: 2, Inferred: true, Origin: "AWS::DynamoDB::Table", ParentID: "p"})
}

func TestParseEntityRejects(t *testing.T) {
	for _, doc := range []string{``, `null`, `[]`, `"x"`, `{"id":`, `{"id":"a"} x`} {
		if _, err := ParseEntity([]byte(doc)); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}

func TestParseTrace(t *testing.T) {
	tr, err := ParseTrace("1-00000001-000000000000000000000001", 2, false, []Segment{
		{ID: "s2", Document: `{"id":"s2","name":"late","start_time":20,"end_time":21}`},
		{ID: "x1", Document: `{"id":"x1","name":"streamed","type":"subsegment","parent_id":"b1","start_time":11.5,"end_time":11.6}`},
		{ID: "s1", Document: `{"id":"s1","name":"early","start_time":10,"end_time":12,"subsegments":[
			{"id":"b2","name":"second","start_time":11,"end_time":11.9},
			{"id":"b1","name":"first","start_time":10.5,"end_time":11.8}]}`},
		{ID: "x2", Document: `{"id":"x2","name":"orphan","type":"subsegment","parent_id":"ffff","start_time":10.1,"end_time":10.2}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(es []*Entity, depth int)
	walk = func(es []*Entity, depth int) {
		for _, e := range es {
			got = append(got, strings.Repeat(".", depth)+e.Name)
			walk(e.Subsegments, depth+1)
		}
	}
	walk(tr.Segments, 0)
	want := []string{"early", ".first", "..streamed", ".second", "orphan", "late"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outline %q, want %q", got, want)
	}

	_, err = ParseTrace("1-00000001-000000000000000000000001", 0, false, []Segment{{ID: "abc", Document: `[1]`}})
	if err == nil || !strings.Contains(err.Error(), "segment abc") {
		t.Errorf("bad document: error %v, want one naming segment abc", err)
	}
}

// The span kind comes from metadata.otel.kind (docs/otlp.md); X-Ray SDK
// metadata, odd kinds and odd metadata give none, never an error.
func TestParseEntitySpanKind(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"id":"a","metadata":{"otel":{"kind":"Server"}}}`, "server"},
		{`{"id":"a","metadata":{"otel":{"kind":"Producer","attributes":{"x":1}}}}`, "producer"},
		{`{"id":"a","metadata":{"otel":{"kind":"Unspecified"}}}`, ""},
		{`{"id":"a","metadata":{"otel":{"kind":"Sideways"}}}`, ""},
		{`{"id":"a","metadata":{"otel":{"kind":7}}}`, ""},
		{`{"id":"a","metadata":{"otel":"Server"}}`, ""},
		{`{"id":"a","metadata":"otel"}`, ""},
		{`{"id":"a","metadata":{"default":{"kind":"Server"}}}`, ""},
		{`{"id":"a"}`, ""},
	} {
		e, err := ParseEntity([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: %v", c.doc, err)
			continue
		}
		if e.Kind != c.want || e.ID != "a" {
			t.Errorf("%s: kind %q id %q, want kind %q", c.doc, e.Kind, e.ID, c.want)
		}
	}
}
