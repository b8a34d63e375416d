package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/xrayid"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeFixture decodes a fixture that must hold exactly one document.
func decodeFixture(t *testing.T, name string) Segment {
	t.Helper()
	segs, err := NewDecoder(0).Decode(nil, readFixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(segs) != 1 {
		t.Fatalf("%s: got %d segments, want 1", name, len(segs))
	}
	return segs[0]
}

// checkEntities compares entity by entity, so a failure names the entity.
func checkEntities(t *testing.T, got, want []Entity) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d entities, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if d := diff(want[i], got[i]); d != "" {
			t.Errorf("entity %d (%s) (-want +got):\n%s", i, want[i].Name, d)
		}
	}
}

func TestDecodeGoSDKSegment(t *testing.T) {
	s := decodeFixture(t, "go_segment.json")
	if s.TraceID != xrayid.MustParseTraceID("1-6b06c6ee-08dcfb3d34a400e9225ea5dd") || s.ParentID != 0 || s.Independent || s.Links != nil {
		t.Errorf("header: trace %s parent %s independent %v links %v", s.TraceID, s.ParentID, s.Independent, s.Links)
	}
	checkEntities(t, s.Entities, []Entity{
		{ID: mustID("742208970178e397"), Parent: -1, Name: "orders-api", Start: 1795606254.7837281, End: 1795606254.7864091, User: "user-8812",
			HTTP: HTTP{Method: "GET", URL: "http://127.0.0.1:33721/orders/42", ClientIP: "127.0.0.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0", Status: 200},
			Annotations: []Annotation{
				{Key: "customer_tier", Type: AnnotationString, String: "gold"},
				{Key: "express", Type: AnnotationBool, Bool: true},
				{Key: "items", Type: AnnotationNumber, Number: 3},
			}},
		{ID: mustID("3b305dd86c971163"), Parent: 0, Name: "DynamoDB", Namespace: "aws", Start: 1795606254.7838411, End: 1795606254.7848182,
			HTTP: HTTP{Status: 200, ContentLength: 53},
			AWS:  AWS{Operation: "GetItem", Region: "eu-west-1", TableName: "orders", RequestID: "V4KQNSO5AEMVJF66Q9ASUAAJG7Q9ASUAAJG"}},
		{ID: mustID("fc3355773301249d"), Parent: 0, Name: "127.0.0.1:34039", Namespace: "remote", Start: 1795606254.7848248, End: 1795606254.7851746,
			HTTP: HTTP{Method: "GET", URL: "http://127.0.0.1:34039/inventory/sku/A-1", Status: 200, ContentLength: 11}},
		{ID: mustID("29558d1809246d08"), Parent: 2, Name: "connect", Start: 1795606254.7848334, End: 1795606254.7850578},
		{ID: mustID("1f143746afaf81db"), Parent: 3, Name: "dial", Start: 1795606254.7848518, End: 1795606254.7850516},
		{ID: mustID("7b2844368e2b857f"), Parent: 2, Name: "request", Start: 1795606254.7850657, End: 1795606254.7851217},
		{ID: mustID("727ab33954255d27"), Parent: 2, Name: "response", Start: 1795606254.7851229, End: 1795606254.7851696},
		{ID: mustID("6e03bcab77cc33e7"), Parent: 0, Name: "orders@db.internal", Namespace: "remote", Start: 1795606254.7851813, End: 1795606254.7862844,
			SQL: &SQL{URL: "postgres://db.internal:5432/orders", DatabaseType: "PostgreSQL", DatabaseVersion: "16.2", DriverVersion: "github.com/lib/pq",
				User: "orders_rw", Preparation: "statement", SanitizedQuery: "SELECT * FROM orders WHERE id = $1"}},
		{ID: mustID("f5370144c74d910c"), Parent: 0, Name: "render", Start: 1795606254.7864041, End: 1795606254.7864046},
	})
}

func TestDecodeGoSDKFault(t *testing.T) {
	s := decodeFixture(t, "go_fault.json")
	root, sub := s.Entities[0], s.Entities[1]
	if !root.Fault || root.Error || root.HTTP.Status != 502 {
		t.Errorf("root flags: fault %v error %v status %d", root.Fault, root.Error, root.HTTP.Status)
	}
	if !sub.Fault || sub.Cause.WorkingDirectory != "/tmp/sdkcap" || len(sub.Cause.Exceptions) != 1 {
		t.Fatalf("subsegment cause: %+v", sub.Cause)
	}
	x := sub.Cause.Exceptions[0]
	if x.ID != "b2360022f975f712" || x.Type != "errors.errorString" || x.Message != "card declined: insufficient funds" || len(x.Stack) != 10 {
		t.Errorf("exception: %+v", x)
	}
	if want := (StackFrame{Path: "goprog/main.go", Line: 79, Label: "main.func3"}); x.Stack[1] != want {
		t.Errorf("stack[1] = %+v, want %+v", x.Stack[1], want)
	}
}

func TestDecodeGoSDKStreamedSubsegment(t *testing.T) {
	s := decodeFixture(t, "go_streamed_subsegment.json")
	if !s.Independent || s.ParentID != mustID("2da378e4ec18102e") || s.TraceID != xrayid.MustParseTraceID("1-6b06c6ef-473b02a12bc6d780e3bda778") {
		t.Errorf("header: independent %v parent %s trace %s", s.Independent, s.ParentID, s.TraceID)
	}
	checkEntities(t, s.Entities, []Entity{
		{ID: mustID("5c598961f76845a5"), Parent: -1, Name: "step-00", Start: 1795606255.1976504, End: 1795606255.197651},
	})
}

func TestDecodeLambdaServiceSegment(t *testing.T) {
	s := decodeFixture(t, "lambda_service.json")
	if s.TraceID != xrayid.MustParseTraceID("1-643aca1d-02e095f7341508e00b9b6d2b") || s.ParentID != mustID("4c17ecc1b6cd296a") || s.Independent {
		t.Errorf("header: trace %s parent %s independent %v", s.TraceID, s.ParentID, s.Independent)
	}
	checkEntities(t, s.Entities, []Entity{
		{ID: mustID("5f8d1a23aa89bd66"), Parent: -1, Name: "todo-list-app-dev-postTask", Origin: "AWS::Lambda",
			Start: 1.681574429596e9, End: 1.681574431021e9,
			ResourceARN: "arn:aws:lambda:us-east-1:263792328682:function:todo-list-app-dev-postTask",
			HTTP:        HTTP{Status: 200},
			AWS:         AWS{RequestID: "372607be-98bc-4960-bcb8-352704034263"}},
	})
}

func TestDecodeLambdaFunctionSegment(t *testing.T) {
	const arn = "arn:aws:lambda:us-east-1:263792328682:function:todo-list-app-dev-postTask"
	s := decodeFixture(t, "lambda_function.json")
	if s.ParentID != mustID("5f8d1a23aa89bd66") || s.Independent {
		t.Errorf("header: parent %s independent %v", s.ParentID, s.Independent)
	}
	checkEntities(t, s.Entities, []Entity{
		{ID: mustID("03e476fc59b9eecd"), Parent: -1, Name: "todo-list-app-dev-postTask", Origin: "AWS::Lambda::Function",
			Start: 1.681574430822835e9, End: 1.6815744310206673e9,
			AWS: AWS{AccountID: "263792328682", FunctionARN: arn, ResourceNames: []string{"todo-list-app-dev-postTask"},
				LogGroups: []string{"/aws/lambda/todo-list-app-dev-postTask"}},
			Annotations: []Annotation{
				{Key: "aws:responseLatency", Type: AnnotationNumber, Number: 197.86},
				{Key: "aws:runtimeOverhead", Type: AnnotationNumber, Number: 0.527},
				{Key: "aws:extensionOverhead", Type: AnnotationNumber, Number: 0.08},
				{Key: "aws:responseDuration", Type: AnnotationNumber, Number: 0.051},
			}},
		{ID: mustID("8a2b10d894511fc9"), Parent: 0, Name: "Initialization", Start: 1.681574429970087e9, End: 1.6815744308215926e9, AWS: AWS{FunctionARN: arn}},
		{ID: mustID("9a00f74249b3df61"), Parent: 0, Name: "Invocation", Start: 1.6815744308230484e9, End: 1.6815744310199275e9, AWS: AWS{FunctionARN: arn}},
		{ID: mustID("b1e7a4c0d2f39e11"), Parent: 2, Name: "DynamoDB", Namespace: "aws", Start: 1.68157443085e9, End: 1.68157443101e9,
			HTTP: HTTP{Status: 200, ContentLength: 2},
			AWS: AWS{Operation: "PutItem", Region: "us-east-1", RequestID: "UBQNSO5AEM8T4FDA4RQDEB94OVTDRVV4K4HIRGVJF66Q9ASUAAJG",
				TableName: "todos", ResourceNames: []string{"todos"}}},
		{ID: mustID("03cea9c3be41a0ba"), Parent: 0, Name: "Overhead", Start: 1.6815744310199893e9, End: 1.6815744310205321e9, AWS: AWS{FunctionARN: arn}},
	})
}

func TestDecodeNodeSegment(t *testing.T) {
	s := decodeFixture(t, "node_segment.json")
	e := s.Entities
	if len(e) != 4 {
		t.Fatalf("got %d entities, want 4", len(e))
	}
	// Millisecond times.
	if e[0].Start != 1795606271.897 || e[0].End != 1795606271.91 {
		t.Errorf("root times %v..%v", e[0].Start, e[0].End)
	}
	if want := (HTTP{Method: "POST", URL: "http://shop.example.com/checkout", UserAgent: "node-fetch/1.0", ClientIP: "203.0.113.9", XForwardedFor: true}); e[0].HTTP != want {
		t.Errorf("root http %+v, want %+v", e[0].HTTP, want)
	}
	// traced at the subsegment's top level.
	if !e[1].Traced || e[1].Namespace != "remote" || e[1].HTTP.Status != 200 || e[1].HTTP.ContentLength != 5 {
		t.Errorf("subsegment 1: %+v", e[1])
	}
	if !e[2].Error || e[2].HTTP.Status != 404 {
		t.Errorf("subsegment 2: error %v status %d", e[2].Error, e[2].HTTP.Status)
	}
	// "line": null in a stack frame.
	x := e[3].Cause.Exceptions
	if len(x) != 1 || len(x[0].Stack) != 3 || x[0].Stack[1] != (StackFrame{Path: "<anonymous>", Label: "Array.map"}) || x[0].ID != "3223609a290c72f9" {
		t.Errorf("subsegment 3 cause: %+v", e[3].Cause)
	}
	if !e[0].Fault || len(e[0].Annotations) != 1 || e[0].Annotations[0] != (Annotation{Key: "cart_size", Type: AnnotationNumber, Number: 2}) {
		t.Errorf("root: fault %v annotations %+v", e[0].Fault, e[0].Annotations)
	}
}

func TestDecodePythonSegment(t *testing.T) {
	s := decodeFixture(t, "python_segment.json")
	e := s.Entities
	if len(e) != 4 {
		t.Fatalf("got %d entities, want 4", len(e))
	}
	// "in_progress": false next to end_time; embedded "type":"subsegment"
	// and namespace "local"; a cause that is only an exception ID.
	if e[0].InProgress || e[0].End != 1795606279.17553 || s.Independent || e[0].User != "ops@example.com" {
		t.Errorf("root: %+v", e[0])
	}
	if e[1].Name != "process" || e[1].Parent != 0 || e[1].Namespace != "local" || e[1].Cause.ExceptionID != "f9d905bec7c6407d" || !e[1].Fault {
		t.Errorf("process: %+v", e[1])
	}
	if e[2].Name != "load_invoice" || e[2].Parent != 1 || e[3].Name != "validate" || e[3].Parent != 1 {
		t.Errorf("nesting: %s<-%d %s<-%d", e[2].Name, e[2].Parent, e[3].Name, e[3].Parent)
	}
	if x := e[3].Cause.Exceptions; len(x) != 1 || x[0].ID != "f9d905bec7c6407d" || x[0].Type != "ValueError" || len(x[0].Stack) != 3 {
		t.Errorf("validate cause: %+v", e[3].Cause)
	}
	want := []Annotation{{Key: "invoice_id", Type: AnnotationString, String: "INV-2291"}, {Key: "amount", Type: AnnotationNumber, Number: 129.95}}
	if !reflect.DeepEqual(e[0].Annotations, want) {
		t.Errorf("annotations %+v, want %+v", e[0].Annotations, want)
	}
}

func TestDecodeInProgress(t *testing.T) {
	s := decodeFixture(t, "in_progress.json")
	for i, e := range s.Entities {
		if !e.InProgress || e.End != 0 {
			t.Errorf("entity %d: in progress %v, end %v", i, e.InProgress, e.End)
		}
	}
	if len(s.Entities) != 2 {
		t.Errorf("got %d entities, want 2", len(s.Entities))
	}
}

func TestDecodeSubsegmentArray(t *testing.T) {
	doc := readFixture(t, "subsegment_array.json")
	segs, err := NewDecoder(0).Decode(nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("got %d segments, want 2", len(segs))
	}
	// Each element keeps its exact bytes, aliasing the document.
	for i, id := range []string{"6c3bf1a0e7d24f59", "7d4c02b1f8e35a60"} {
		s := segs[i]
		start := bytes.Index(doc, []byte(`{"name":"`+[]string{"SQS", "publish"}[i]))
		raw := doc[start : start+len(s.Raw)]
		if &s.Raw[0] != &doc[start] || !bytes.Equal(s.Raw, raw) || s.Raw[len(s.Raw)-1] != '}' || bytes.Count(s.Raw, []byte("{")) != bytes.Count(s.Raw, []byte("}")) {
			t.Errorf("segment %d: Raw is %q", i, s.Raw)
		}
		if s.ID() != mustID(id) || !s.Independent || s.ParentID != mustID("2da378e4ec18102e") {
			t.Errorf("segment %d: id %s independent %v parent %s", i, s.ID(), s.Independent, s.ParentID)
		}
	}
	if a := segs[0].Root().AWS; a.QueueURL != "https://sqs.eu-west-1.amazonaws.com/123456789012/orders" || a.Operation != "SendMessage" {
		t.Errorf("SQS aws: %+v", a)
	}
	if e := segs[1].Entities; !e[0].InProgress || len(e) != 2 || e[1].AWS.TopicARN != "arn:aws:sns:eu-west-1:123456789012:order-events" || e[1].Parent != 0 {
		t.Errorf("publish: %+v", e)
	}
}

func TestDecodeRawAliasesObjectDocument(t *testing.T) {
	doc := readFixture(t, "go_segment.json")
	segs, err := NewDecoder(0).Decode(nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	if raw := segs[0].Raw; len(raw) != len(doc) || &raw[0] != &doc[0] {
		t.Errorf("Raw does not alias the document")
	}
}

func TestDecodeAccepts(t *testing.T) {
	d := NewDecoder(0) // one decoder for all: state must not leak between documents
	acceptCases(func(doc string, got func(s []Segment) any, want any) {
		t.Helper()
		segs, err := d.Decode(nil, []byte(doc))
		if err != nil {
			t.Errorf("%.200s: %v", doc, err)
			return
		}
		if g := got(segs); !reflect.DeepEqual(g, want) {
			t.Errorf("%.200s:\n got %#v\nwant %#v", doc, g, want)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	d := NewDecoder(0)
	rejectCases(func(doc, code, msg string) {
		t.Helper()
		dst := make([]Segment, 1, 4)
		got, err := d.Decode(dst, []byte(doc))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%.200s: got %v, want a *Error", doc, err)
			return
		}
		if e.Code != code || e.Message != msg {
			t.Errorf("%.200s:\n got %s: %s\nwant %s: %s", doc, e.Code, e.Message, code, msg)
		}
		if len(got) != 1 || &got[0] != &dst[0] || !reflect.DeepEqual(got[0], Segment{}) {
			t.Errorf("%.200s: dst changed to %d segments", doc, len(got))
		}
	})
}

func TestDecodeSizeLimit(t *testing.T) {
	f := func(limit, size int, wantErr string) {
		t.Helper()
		pad := size - len(obj(complete, `"metadata":{"p":""}`))
		doc := []byte(obj(complete, `"metadata":{"p":"`+strings.Repeat("x", pad)+`"}`))
		if len(doc) != size {
			t.Fatalf("built a %d-byte document, want %d", len(doc), size)
		}
		_, err := NewDecoder(limit).Decode(nil, doc)
		if wantErr == "" {
			if err != nil {
				t.Errorf("limit %d, size %d: %v", limit, size, err)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeSegmentTooLarge || e.Message != wantErr {
			t.Errorf("limit %d, size %d: got %v, want %s", limit, size, err, wantErr)
		}
	}
	f(0, 70123, "document is 70123 bytes; the limit is 65536")
	f(0, 65536, "")
	f(-1, 65537, "document is 65537 bytes; the limit is 65536")
	f(1000, 1000, "")
	f(1000, 1001, "document is 1001 bytes; the limit is 1000")
	f(100000, 70123, "")

	var zero Decoder
	if _, err := zero.Decode(nil, readFixture(t, "go_segment.json")); err != nil {
		t.Errorf("zero Decoder: %v", err)
	}
}

func TestDecodeErrorID(t *testing.T) {
	f := func(doc, wantID string) {
		t.Helper()
		_, err := NewDecoder(0).Decode(nil, []byte(doc))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%.200s: got %v, want a *Error", doc, err)
		}
		if e.ID != wantID {
			t.Errorf("%.200s: ID %q, want %q (%v)", doc, e.ID, wantID, e)
		}
	}
	f(obj(complete, `"in_progress":1`), testRootID)
	f(obj(`"in_progress":1`, complete), testRootID) // id comes after the bad field
	f(obj(strings.Replace(complete, testRootID, "70DE5B6F19FF9A0A", 1)), "70DE5B6F19FF9A0A")
	f(obj(`"name":"a","id":7,"start_time":1,"end_time":2`), "")
	f(obj(`"name":"a","id":"`+strings.Repeat("a", 65)+`","start_time":1,"end_time":2`), "")
	f(`[`+obj(independent)+`,`+strings.Replace(obj(independent), "53995c3f42cd8ad8", "63995c3f42cd8ad8", 1)[:len(obj(independent))-1]+`,"in_progress":1}]`, "63995c3f42cd8ad8")
	f(`{"id":"70de5b6f19ff9a0a",`, "")
	f(`["x"]`, "")
}

// TestDecodeDigestOwnsItsStrings checks that a digest survives both the
// caller reusing the document's buffer (only Raw aliases it) and the
// decoder moving on to other documents.
func TestDecodeDigestOwnsItsStrings(t *testing.T) {
	names := []string{"go_segment.json", "go_fault.json", "node_segment.json", "python_segment.json", "lambda_function.json", "subsegment_array.json"}
	d := NewDecoder(0)
	for _, name := range names {
		doc := readFixture(t, name)
		buf := bytes.Clone(doc)
		got, err := d.Decode(nil, buf)
		if err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 'x'
		}
		for _, other := range names {
			if _, err := d.Decode(nil, readFixture(t, other)); err != nil {
				t.Fatal(err)
			}
		}
		want, err := NewDecoder(0).Decode(nil, doc)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].Raw, want[i].Raw = nil, nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: digest changed after its buffer was reused", name)
		}
	}
}

// TestDecodeAppends checks Decode's append contract on success.
func TestDecodeAppends(t *testing.T) {
	d := NewDecoder(0)
	var segs []Segment
	var err error
	for _, name := range []string{"go_segment.json", "subsegment_array.json", "lambda_service.json"} {
		if segs, err = d.Decode(segs, readFixture(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, s := range segs {
		got = append(got, s.Root().Name)
	}
	if want := []string{"orders-api", "SQS", "publish", "todo-list-app-dev-postTask"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A rejected array leaves what was appended before it alone.
	n := len(segs)
	bad := `[` + obj(independent) + `,` + obj(complete) + `]`
	if segs, err = d.Decode(segs, []byte(bad)); err == nil || len(segs) != n || segs[n-1].Root().Name != "todo-list-app-dev-postTask" {
		t.Errorf("after a rejected array: %d segments, err %v", len(segs), err)
	}
	if full := segs[:cap(segs)]; len(full) > n && !reflect.DeepEqual(full[n], Segment{}) {
		t.Errorf("a rejected array left a segment behind in dst's spare capacity")
	}
}

func TestDecodeFixturesAreValid(t *testing.T) {
	// Every fixture decodes, so the fuzz corpus starts from good documents.
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 9 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	d := NewDecoder(0)
	for _, f := range files {
		if _, err := d.Decode(nil, readFixture(t, filepath.Base(f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func ExampleDecoder_Decode() {
	d := NewDecoder(0)
	doc := []byte(`{"name":"example.com","id":"70de5b6f19ff9a0a","start_time":1.478293361271E9,` +
		`"trace_id":"1-581cf771-a006649127e371903a2de979","end_time":1.478293361449E9}`)
	segs, err := d.Decode(nil, doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	root := segs[0].Root()
	fmt.Println(segs[0].TraceID, root.ID, root.Name, root.End-root.Start > 0.17)

	_, err = d.Decode(nil, []byte(`{"name":"example.com","id":"70de5b6f19ff9a0a","start_time":1}`))
	fmt.Println(err)
	// Output:
	// 1-581cf771-a006649127e371903a2de979 70de5b6f19ff9a0a example.com true
	// MissingRequiredField: trace_id is required
}

// TestDecodeRepairs: a malformed optional field is normalized or dropped,
// the rest kept; the stored document is the repaired one with a note, and
// it decodes again as it is, with nothing left to repair.
func TestDecodeRepairs(t *testing.T) {
	d := NewDecoder(0)
	repairCases(func(doc, path, action string) {
		t.Helper()
		segs, err := d.Decode(nil, []byte(doc))
		if err != nil {
			t.Errorf("%.200s: rejected: %v", doc, err)
			return
		}
		s := segs[0]
		if len(s.Repairs) != 1 || s.Repairs[0].Path != path || s.Repairs[0].Action != action || s.Repairs[0].Reason == "" {
			t.Errorf("%.200s: repairs %+v; want %s %s", doc, s.Repairs, action, path)
			return
		}
		var raw map[string]any
		if err := unmarshalNumbers(s.Raw, &raw); err != nil {
			t.Fatalf("repaired document is not JSON: %v: %s", err, s.Raw)
		}
		note, _ := raw["metadata"].(map[string]any)[MetadataNamespace].(map[string]any)["ingest_repairs"].([]any)
		if len(note) != 1 || note[0].(map[string]any)["path"] != path || note[0].(map[string]any)["action"] != action {
			t.Errorf("%.200s: note %v", doc, raw["metadata"])
		}
		// Every field of the original but the repaired one is kept.
		var orig map[string]any
		if err := unmarshalNumbers([]byte(doc), &orig); err != nil {
			t.Fatal(err)
		}
		top := strings.TrimPrefix(path, "subsegments[0].")
		if i := strings.IndexAny(top, ".["); i > 0 {
			top = top[:i]
		}
		for k, v := range orig {
			if k == "metadata" || k == top && !strings.HasPrefix(path, "subsegments") {
				continue
			}
			if !reflect.DeepEqual(raw[k], v) && !strings.HasPrefix(path, "subsegments") {
				t.Errorf("%.200s: %s changed to %v", doc, k, raw[k])
			}
		}
		again, err := NewDecoder(0).Decode(nil, s.Raw)
		if err != nil || len(again[0].Repairs) != 0 {
			t.Errorf("%.200s: the repaired document decodes to %v, %+v", doc, err, again)
			return
		}
		again[0].Raw, s.Raw, s.Repairs = nil, nil, nil
		if d := diff(s, again[0]); d != "" {
			t.Errorf("%.200s: the repaired document's digest differs (-first +repaired):\n%s", doc, d)
		}
	})
}

// TestNodeFailedCallKeepsEverythingElse: the X-Ray SDK for Node records an
// HTTP call that failed with a network error with an empty status
// (aws-xray-sdk-node, lib/segments/attributes/remote_request_data.js: the
// status of a response that never came). The subsegment and every valid
// field of it are kept; only the status goes.
func TestNodeFailedCallKeepsEverythingElse(t *testing.T) {
	doc := `{"id":"a0b1c2d3e4f50617","name":"api","start_time":1700000000.1,"end_time":1700000000.9,"trace_id":"1-6553f100-0123456789abcdef01234567","service":{"version":"1.0.0"},"aws":{"xray":{"sdk":"X-Ray for Node.js","sdk_version":"3.5.1","package":"aws-xray-sdk"}},"http":{"request":{"method":"GET","url":"http://api/x"},"response":{"status":502}},"fault":true,"subsegments":[{"id":"b0b1c2d3e4f50617","name":"backend.internal","start_time":1700000000.2,"end_time":1700000000.8,"namespace":"remote","http":{"request":{"url":"http://backend.internal/items","method":"GET"},"response":{"status":""}},"fault":true,"cause":{"working_directory":"/app","exceptions":[{"message":"connect ECONNREFUSED 10.0.0.1:80","type":"Error","stack":[{"path":"net.js","line":1146,"label":"TCPConnectWrap.afterConnect"}]}]}}]}`
	segs, err := NewDecoder(0).Decode(nil, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := segs[0]
	if len(s.Entities) != 2 || len(s.Repairs) != 1 || s.Repairs[0].Path != "subsegments[0].http.response.status" || s.Repairs[0].Field != "http.response.status" {
		t.Fatalf("entities %d, repairs %+v", len(s.Entities), s.Repairs)
	}
	sub := s.Entities[1]
	if sub.HTTP.Method != "GET" || sub.HTTP.URL != "http://backend.internal/items" || sub.HTTP.Status != 0 || !sub.Fault ||
		sub.Namespace != "remote" || len(sub.Cause.Exceptions) != 1 || sub.Cause.Exceptions[0].Message != "connect ECONNREFUSED 10.0.0.1:80" {
		t.Errorf("subsegment digest %+v", sub)
	}
	var raw map[string]any
	if err := json.Unmarshal(s.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	rs := raw["subsegments"].([]any)[0].(map[string]any)
	if _, ok := rs["http"].(map[string]any)["response"].(map[string]any)["status"]; ok {
		t.Error("the empty status is still there")
	}
	if rs["cause"] == nil || rs["http"].(map[string]any)["request"] == nil || raw["service"] == nil || raw["aws"] == nil {
		t.Errorf("valid fields were lost: %s", s.Raw)
	}
}

func unmarshalNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// TestDroppedSubsegmentKeepsIDs: dropping a subsegment forgets only the
// IDs it added, so a later duplicate of a kept ID is still caught.
func TestDroppedSubsegmentKeepsIDs(t *testing.T) {
	doc := obj(complete, subs(sub(testRootID), sub(s1, subs(sub(s2))), sub(s2), sub(s3)))
	segs, err := NewDecoder(0).Decode(nil, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := segs[0]
	var paths []string
	for _, r := range s.Repairs {
		paths = append(paths, r.Path)
	}
	if len(s.Entities) != 4 || strings.Join(paths, " ") != "subsegments[0] subsegments[2]" {
		t.Fatalf("%d entities, repairs %v; want root, s1, its child, s3 and the duplicates of root and s2 dropped", len(s.Entities), paths)
	}
}
