package assemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/counterspy/counterspy/internal/jsonlex"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestCompileFixtures(t *testing.T) {
	f := func(fixture, want string) {
		t.Helper()
		c := mustCompile(t, traceOf(fixtureDocs(t, fixture)...), CompileOptions{})
		if got := outline(t, c); got != want {
			t.Errorf("%s:\n got %s\nwant %s", fixture, got, want)
		}
		if c.LimitExceeded || c.Skipped != 0 {
			t.Errorf("%s: LimitExceeded %v, Skipped %d", fixture, c.LimitExceeded, c.Skipped)
		}
	}
	f("inprogress.jsonl", "web")
	// Go SDK streaming: 22 children and a grandchild (sent before its
	// parent) arrive first, the segment last and without them.
	f("go_streaming.jsonl", "api(s01 s02 s03 s04 s05(s23-child-of-s05) s06 s07 s08 s09 s10 s11 "+
		"s12 s13 s14 s15 s16 s17 s18 s19 s20 s21 s22) | s07~")
	// An independent subsegment of an embedded subsegment, and one of that.
	f("nested_parent.jsonl", "orders(handler(validate(charge(audit))))")
	f("orphan.jsonl", "web | lost-child")
	// The function's SDK subsegment goes under Invocation; one that started
	// before Invocation stays under the function segment.
	f("lambda.jsonl", "todo-postTask | todo-postTask(Initialization Invocation(DynamoDB) Overhead init-config) | DynamoDB~")
	// Newer Lambda format: Invocation arrives as its own document.
	f("lambda_split.jsonl", "fn(Overhead Invocation(S3)) | S3~")
	// Inferred segments for aws, remote and sql calls at any depth, none for
	// a local one or for the call whose callee sent its own segment.
	f("inferred.jsonl", "shop(DynamoDB SQS S3 SNS api.example.com orders@db.example.com compute inventory.internal handler(deep.example.com)) | "+
		"DynamoDB~ | SQS~ | S3~ | SNS~ | api.example.com~ | orders@db.example.com~ | inventory | deep.example.com~")
}

// TestGolden pins the exact bytes of every fixture's output.
func TestGolden(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range fixtures {
		name := filepath.Base(path)
		c := mustCompile(t, traceOf(fixtureDocs(t, name)...), CompileOptions{})
		var got bytes.Buffer
		for _, s := range c.Segments {
			got.Write(s.Document)
			got.WriteByte('\n')
		}
		golden := strings.TrimSuffix(path, ".jsonl") + ".golden"
		if *updateGolden {
			if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from %s:\n%s", name, golden, got.Bytes())
		}
	}
}

func TestInProgressAndComplete(t *testing.T) {
	docs := fixtureDocs(t, "inprogress.jsonl")
	// The Go SDK's "Dummy" is not returned (TestReserialized).
	inProgress, complete := docs[0], bytes.Replace(docs[1], []byte(`,"Dummy":false`), nil, 1)
	f := func(order ...[]byte) {
		t.Helper()
		c := mustCompile(t, traceOf(order...), CompileOptions{})
		if len(c.Segments) != 1 || !bytes.Equal(c.Segments[0].Document, complete) {
			t.Errorf("got %q, want only the complete document", c.Segments)
		}
	}
	f(inProgress, complete)
	f(complete, inProgress)
	f(inProgress, complete, inProgress)
}

func TestDuplicates(t *testing.T) {
	f := func(want string, docs ...string) {
		t.Helper()
		if got := outline(t, mustCompile(t, traceOfStrings(docs...), CompileOptions{})); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	v := func(name string) string {
		return `{"name":"` + name + `","id":"70de5b6f19ff9a0a","trace_id":"` + testTraceID + `","start_time":1,"end_time":2}`
	}
	f("v1", v("v1"), v("v1"), v("v1"))
	f("v2", v("v1"), v("v2")) // both complete: the last written wins
	f("v1", v("v2"), v("v1"))
}

// TestEmbeddedAndIndependent covers a subsegment that arrives both inside its
// parent and on its own: it is kept once, the complete copy preferred.
func TestEmbeddedAndIndependent(t *testing.T) {
	parent := func(sub string) string {
		return `{"name":"p","id":"aaaaaaaaaaaaaaaa","trace_id":"` + testTraceID + `","start_time":1,"end_time":5,"subsegments":[` + sub + `]}`
	}
	embPartial := parent(`{"name":"x-partial","id":"bbbbbbbbbbbbbbbb","start_time":2,"in_progress":true}`)
	embFull := parent(`{"name":"x-embedded","id":"bbbbbbbbbbbbbbbb","start_time":2,"end_time":3}`)
	indep := func(name, id, parent, end string) string {
		return `{"name":"` + name + `","id":"` + id + `","trace_id":"` + testTraceID + `","parent_id":"` + parent +
			`","type":"subsegment","start_time":2,` + end + `}`
	}
	xFull := indep("x-full", "bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", `"end_time":3`)
	xPartial := indep("x-indep-partial", "bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", `"in_progress":true`)
	y := indep("y", "cccccccccccccccc", "bbbbbbbbbbbbbbbb", `"end_time":2.5`)

	f := func(want string, docs ...string) {
		t.Helper()
		if got := outline(t, mustCompile(t, traceOfStrings(docs...), CompileOptions{})); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	f("p(x-full)", embPartial, xFull)
	f("p(x-full)", xFull, embPartial)
	f("p(x-embedded)", embFull, xPartial)
	f("p(x-embedded)", xPartial, embFull)
	f("p(x-full)", embFull, xFull) // both complete: the later one wins
	f("p(x-embedded)", xFull, embFull)
	f("p(x-full(y))", embPartial, y, xFull)
	f("p(x-embedded(y))", y, xFull, embFull)

	// The replaced copy loses its independent-only members in place.
	c := mustCompile(t, traceOfStrings(embPartial, xFull), CompileOptions{})
	want := `{"name":"p","id":"aaaaaaaaaaaaaaaa","trace_id":"` + testTraceID + `","start_time":1,"end_time":5,"subsegments":[` +
		`{"name":"x-full","id":"bbbbbbbbbbbbbbbb","start_time":2,"end_time":3}]}`
	if got := string(c.Segments[0].Document); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A winning embedded copy leaves its document as stored.
	c = mustCompile(t, traceOfStrings(embFull, xPartial), CompileOptions{})
	if got := string(c.Segments[0].Document); got != embFull {
		t.Errorf("got %s, want the stored document", got)
	}
}

// TestByteIdentical checks that documents needing no change are returned
// exactly as stored.
func TestByteIdentical(t *testing.T) {
	f := func(fixture string, line int, name string) {
		t.Helper()
		docs := fixtureDocs(t, fixture)
		c := mustCompile(t, traceOf(docs...), CompileOptions{})
		if got := docByName(t, c, name); !bytes.Equal(got, docs[line]) {
			t.Errorf("%s %s:\n got %s\nwant %s", fixture, name, got, docs[line])
		}
	}
	f("inferred.jsonl", 0, "shop")
	f("inferred.jsonl", 1, "inventory")
	f("orphan.jsonl", 0, "web")
	f("orphan.jsonl", 1, "lost-child")
	f("lambda.jsonl", 0, "todo-postTask") // the AWS::Lambda segment: first by start
}

// TestReserialized checks that a document that received nested subsegments
// keeps every byte it was sent with, number text and unknown fields included,
// except the SDK-internal "Dummy" (not in X-Ray's segment schema), and that
// nested documents lose only type, trace_id, parent_id and Dummy.
func TestReserialized(t *testing.T) {
	docs := fixtureDocs(t, "go_streaming.jsonl")
	c := mustCompile(t, traceOf(docs...), CompileOptions{})
	api := string(docByName(t, c, "api"))
	orig := string(docs[len(docs)-1])
	orig = strings.Replace(orig, `,"Dummy":false`, "", 1)
	if !strings.HasPrefix(api, orig[:len(orig)-1]+`,"subsegments":[`) {
		t.Errorf("the stored members are not kept verbatim:\n%s", api)
	}
	for _, s := range []string{`"start_time":1.7E9`, `"end_time":1.7000000003e+09`, `"weird":"tab\u000bhere \u00e9\/x"`} {
		if !strings.Contains(api, s) {
			t.Errorf("lost %s", s)
		}
	}
	if n := strings.Count(api, `"Dummy"`); n != 0 {
		t.Errorf(`"Dummy" appears %d times, want 0`, n)
	}
	if n := strings.Count(api, `"trace_id"`); n != 1 {
		t.Errorf(`"trace_id" appears %d times, want 1 (the segment's own)`, n)
	}
	if strings.Contains(api, `"type"`) || strings.Contains(api, `"parent_id"`) {
		t.Errorf("nested documents kept type or parent_id")
	}
	strip := regexp.MustCompile(`"trace_id":"[^"]*",|,"parent_id":"[^"]*","type":"subsegment"|,"Dummy":false`)
	for _, d := range docs[:len(docs)-1] {
		if bytes.Contains(d, []byte(`"name":"s05"`)) {
			continue // it received a child
		}
		if want := strip.ReplaceAllString(string(d), ""); !strings.Contains(api, want) {
			t.Errorf("nested document not found verbatim: %s", want)
		}
	}
}

func TestInferredSegments(t *testing.T) {
	c := mustCompile(t, traceOf(fixtureDocs(t, "inferred.jsonl")...), CompileOptions{})
	f := func(name, subID, origin string, want map[string]string) {
		t.Helper()
		doc := docByName(t, c, name)
		var got map[string]json.RawMessage
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatal(err)
		}
		sub, _ := xrayid.ParseSegmentID(subID)
		want["id"] = `"` + segment.InferredSegmentID(sub).String() + `"`
		want["parent_id"] = `"` + subID + `"`
		want["inferred"] = `true`
		want["trace_id"] = `"` + testTraceID + `"`
		want["origin"] = `"` + origin + `"`
		for k, v := range want {
			if string(got[k]) != v {
				t.Errorf("%s: %s = %s, want %s", name, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok && k != "name" {
				t.Errorf("%s: unexpected %s", name, k)
			}
		}
	}
	f("DynamoDB~", "0000000000000d01", "AWS::DynamoDB::Table", map[string]string{
		"start_time": "1700000000.1", "end_time": "1700000000.2",
		"http": `{"response":{"status":200}}`, "aws": `{"operation":"PutItem","table_name":"orders"}`})
	f("SQS~", "0000000000000d02", "AWS::SQS::Queue", map[string]string{
		"start_time": "1700000000.2", "end_time": "1700000000.3",
		"aws": `{"operation":"SendMessage","queue_url":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}`})
	f("S3~", "0000000000000d03", "AWS::S3::Bucket", map[string]string{
		"start_time": "1700000000.3", "end_time": "1700000000.4", "aws": `{"operation":"PutObject","bucket_name":"assets"}`})
	f("SNS~", "0000000000000d04", "AWS::SNS", map[string]string{
		"start_time": "1700000000.4", "end_time": "1700000000.5", "throttle": "true", "error": "true",
		"aws": `{"operation":"Publish","topic_arn":"arn:aws:sns:us-east-1:123456789012:news"}`})
	f("api.example.com~", "0000000000000d05", "remote", map[string]string{
		"start_time": "1700000000.5", "end_time": "1700000000.6", "error": "true",
		"http":  `{"request":{"method":"POST","url":"https://api.example.com/v1"},"response":{"status":404}}`,
		"cause": `{"working_directory":"/app","exceptions":[{"id":"e1e1e1e1e1e1e1e1","message":"not found","remote":true}]}`})
	f("orders@db.example.com~", "0000000000000d06", "Database::SQL", map[string]string{
		"start_time": "1700000000.6", "end_time": "1700000000.65",
		"sql": `{"url":"db.example.com:5432/orders","database_type":"PostgreSQL","sanitized_query":"SELECT 1"}`})
	f("deep.example.com~", "0000000000000d0a", "remote", map[string]string{
		"start_time": "1700000000.91", "in_progress": "true"})
}

func TestInferredIDsDeterministic(t *testing.T) {
	docs := fixtureDocs(t, "go_streaming.jsonl")
	a := mustCompile(t, traceOf(docs...), CompileOptions{})
	reversed := slices.Clone(docs)
	slices.Reverse(reversed)
	b := mustCompile(t, traceOf(reversed...), CompileOptions{})
	if !slices.EqualFunc(a.Segments, b.Segments, func(x, y Segment) bool { return x.ID == y.ID }) {
		t.Errorf("IDs depend on arrival order: %v vs %v", a.Segments, b.Segments)
	}
	// The inferred ID is a fixed function of the subsegment's ID.
	sub, _ := xrayid.ParseSegmentID("5d3a0000070711c3") // s07
	if got := docByName(t, a, "s07~"); !bytes.Contains(got, []byte(`"id":"`+segment.InferredSegmentID(sub).String()+`"`)) {
		t.Errorf("inferred id is not segment.InferredSegmentID(s07): %s", got)
	}
}

// TestInferredEscapes checks that escaped names and namespaces are read
// decoded and written as sent.
func TestInferredEscapes(t *testing.T) {
	c := mustCompile(t, traceOfStrings(
		`{"name":"web","id":"70de5b6f19ff9a0a","start_time":1,"end_time":2,"subsegments":[`+
			`{"name":"S\"N\u0053","id":"0000000000000d01","namespace":"a\u0077s","start_time":1.5,"end_time":2}]}`,
	), CompileOptions{})
	var got struct{ Name, Origin string }
	if len(c.Segments) != 2 || json.Unmarshal(c.Segments[1].Document, &got) != nil {
		t.Fatalf("got %q", c.Segments)
	}
	if got.Name != `S"NS` || got.Origin != `AWS::S"NS` {
		t.Errorf("got name %q origin %q", got.Name, got.Origin)
	}
}

func TestDuration(t *testing.T) {
	f := func(want float64, docs ...[]byte) {
		t.Helper()
		if got := mustCompile(t, traceOf(docs...), CompileOptions{}).Duration; got != want {
			t.Errorf("Duration = %v, want %v", got, want)
		}
	}
	// Subtract at run time: constant arithmetic would be exact.
	sub := func(a, b float64) float64 { return a - b }
	nested := fixtureDocs(t, "nested_parent.jsonl")
	f(sub(1700000003.25, 1700000000.5), nested...)
	// An in-progress subsegment counts with its start.
	late := []byte(`{"name":"late","id":"e0e0e0e0e0e0e0e0","trace_id":"` + testTraceID +
		`","parent_id":"a0a0a0a0a0a0a0a0","type":"subsegment","start_time":1700000004,"in_progress":true}`)
	f(sub(1700000004, 1700000000.5), append(slices.Clone(nested), late)...)
	f(sub(1.681574431021e9, 1.681574429596e9), fixtureDocs(t, "lambda.jsonl")...)
	f(0, fixtureDocs(t, "inprogress.jsonl")[0]) // only a start
}

func TestLimitExceeded(t *testing.T) {
	docs := fixtureDocs(t, "go_streaming.jsonl")
	full := mustCompile(t, traceOf(docs...), CompileOptions{})
	size := func(c *Compiled) (n int) {
		for _, s := range c.Segments {
			n += len(s.Document)
		}
		return n
	}
	total := size(full)
	f := func(limit int) {
		t.Helper()
		c := mustCompile(t, traceOf(docs...), CompileOptions{MaxTraceBytes: limit})
		if c.LimitExceeded != (total > limit) {
			t.Errorf("limit %d: LimitExceeded = %v for a %d-byte trace", limit, c.LimitExceeded, total)
		}
		if size(c) > limit {
			t.Errorf("limit %d: compiled size %d", limit, size(c))
		}
		// The result is the trace as it stood after some prefix of arrivals.
		got := outline(t, c)
		for k := len(docs); k >= 0; k-- {
			if k == 0 {
				if len(c.Segments) != 0 {
					t.Errorf("limit %d: %s is no prefix of the arrivals", limit, got)
				}
				break
			}
			if outline(t, mustCompile(t, traceOf(docs[:k]...), CompileOptions{})) == got {
				break
			}
		}
	}
	f(total)
	f(total - 1) // the segment, which arrived last, goes; its children stay, top-level
	f(total / 2)
	f(300)
	f(1)
	c := mustCompile(t, traceOf(docs...), CompileOptions{MaxTraceBytes: total - 1})
	if strings.Contains(outline(t, c), "api") {
		t.Errorf("the latest arrival was kept: %s", outline(t, c))
	}
}

func TestOddData(t *testing.T) {
	good := `{"name":"web","id":"70de5b6f19ff9a0a","trace_id":"` + testTraceID + `","start_time":1,"end_time":2}`
	bad := []string{
		``, `null`, `42`, `[` + good + `]`, `{"id":`, `{"name":"x"}`, `{"id":"zz"}`,
		`{"id":"0000000000000000"}`, good + ` x`, `{"id":"70de5b6f19ff9a0a","start_time":01}`,
		`{"id":"70de5b6f19ff9a0a","n":"` + "\x01" + `"}`, `{"id":"70de5b6f19ff9a0a","n":"\q"}`,
		`{"id":"70de5b6f19ff9a0a","subsegments":[{"id":"1111111111111111"},]}`,
		strings.Repeat(`[`, jsonlex.MaxNesting+5),
	}
	c, err := Compile(traceOfStrings(append(slices.Clone(bad), good)...), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Skipped != len(bad) || outline(t, c) != "web" {
		t.Errorf("Skipped %d (want %d), segments %s", c.Skipped, len(bad), outline(t, c))
	}
	if _, err := Compile(traceOfStrings(bad...), CompileOptions{}); !errors.Is(err, ErrNoDocuments) {
		t.Errorf("all unreadable: err = %v, want ErrNoDocuments", err)
	}
	if _, err := Compile(traceOf(), CompileOptions{}); !errors.Is(err, ErrNoDocuments) {
		t.Errorf("no records: err = %v, want ErrNoDocuments", err)
	}
	if _, err := Compile(nil, CompileOptions{}); err == nil {
		t.Errorf("nil trace: no error")
	}
	// Odd but readable: wrong types, repeated keys, non-object subsegments.
	odd := []string{
		`{"name":"odd","id":"1010101010101010","trace_id":"` + testTraceID + `","start_time":"1","end_time":null,"in_progress":1,` +
			`"subsegments":[{"name":"no-id"},{"id":"2020202020202020","name":"twice","subsegments":[{"id":"3030303030303030","name":"ghost"}],` +
			`"subsegments":[{"id":"4040404040404040","name":"kept","namespace":"remote","start_time":5}]}]}`,
		`{"name":"to-ghost","id":"5050505050505050","trace_id":"` + testTraceID + `","parent_id":"3030303030303030","type":"subsegment","start_time":3,"end_time":4}`,
		`{"name":"to-kept","id":"6060606060606060","trace_id":"` + testTraceID + `","parent_id":"4040404040404040","type":"subsegment","start_time":5,"end_time":6}`,
		`{"name":"self","id":"7070707070707070","trace_id":"` + testTraceID + `","parent_id":"7070707070707070","type":"subsegment","start_time":7,"end_time":8}`,
	}
	c = mustCompile(t, traceOfStrings(odd...), CompileOptions{})
	if got, want := outline(t, c), "odd(no-id twice(kept(to-kept))) | to-ghost | kept~ | self"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Elements that are not objects are kept as they are.
	c = mustCompile(t, traceOfStrings(
		`{"name":"p","id":"1010101010101010","start_time":1,"end_time":2,"subsegments":[ 1 , null ,"x" ] }`,
		`{"name":"k","id":"2020202020202020","parent_id":"1010101010101010","type":"subsegment","start_time":1,"end_time":2}`,
	), CompileOptions{})
	want := `{"name":"p","id":"1010101010101010","start_time":1,"end_time":2,"subsegments":[ 1 , null ,"x",` +
		`{"name":"k","id":"2020202020202020","start_time":1,"end_time":2} ] }`
	if len(c.Segments) != 1 || string(c.Segments[0].Document) != want {
		t.Errorf("got %q\nwant %s", c.Segments, want)
	}
}

func TestCycle(t *testing.T) {
	sub := func(name, id, parent string) string {
		return `{"name":"` + name + `","id":"` + id + `","trace_id":"` + testTraceID + `","parent_id":"` + parent +
			`","type":"subsegment","start_time":1,"end_time":2}`
	}
	c := mustCompile(t, traceOfStrings(sub("a", "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"), sub("b", "bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")), CompileOptions{})
	if got := outline(t, c); got != "a(b)" {
		t.Errorf("got %s, want a(b)", got)
	}
}

// TestCompilerReuse checks that a reused Compiler gives the same results and
// that a result does not change when the Compiler is used again.
func TestCompilerReuse(t *testing.T) {
	var comp Compiler
	names := []string{"go_streaming.jsonl", "lambda.jsonl", "inferred.jsonl", "nested_parent.jsonl", "go_streaming.jsonl"}
	var kept []*Compiled
	var copies [][][]byte
	for _, name := range names {
		tr := traceOf(fixtureDocs(t, name)...)
		got, err := comp.Compile(tr, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := mustCompile(t, tr, CompileOptions{}); outline(t, got) != outline(t, want) {
			t.Errorf("%s: reused compiler gave %s, want %s", name, outline(t, got), outline(t, want))
		}
		kept = append(kept, got)
		var cp [][]byte
		for _, s := range got.Segments {
			cp = append(cp, slices.Clone(s.Document))
		}
		copies = append(copies, cp)
	}
	for i, c := range kept {
		for j, s := range c.Segments {
			if !bytes.Equal(s.Document, copies[i][j]) {
				t.Errorf("%s: segment %d changed after later compilations", names[i], j)
			}
		}
	}
}

func TestCompileConcurrent(t *testing.T) {
	tr := traceOf(fixtureDocs(t, "lambda.jsonl")...)
	want := outline(t, mustCompile(t, tr, CompileOptions{}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				c, err := Compile(tr, CompileOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if got := outline(t, c); got != want {
					t.Errorf("got %s, want %s", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestArrivalOrder checks that the output does not depend on the order in
// which documents arrived when no two of them compete.
func TestArrivalOrder(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/*.jsonl")
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, path := range fixtures {
		docs := fixtureDocs(t, filepath.Base(path))
		want := mustCompile(t, traceOf(docs...), CompileOptions{})
		for range 20 {
			shuffled := slices.Clone(docs)
			rnd.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got := mustCompile(t, traceOf(shuffled...), CompileOptions{})
			if !slices.EqualFunc(got.Segments, want.Segments, func(a, b Segment) bool { return bytes.Equal(a.Document, b.Document) }) ||
				got.Duration != want.Duration {
				t.Fatalf("%s: arrival order changed the output:\n%s\nvs\n%s", path, outline(t, got), outline(t, want))
			}
		}
	}
}

// TestSDKInternalMembers: what the SDKs send outside X-Ray's segment schema
// does not come back. The Python SDK repeats trace_id, parent_id and type
// in embedded subsegments and writes "in_progress": false next to end_time;
// an in-progress embedded subsegment keeps its in_progress.
func TestSDKInternalMembers(t *testing.T) {
	doc := `{"id":"70de5b6f19ff9a0a","name":"py","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.5,"end_time":2.5,"in_progress":false,` +
		`"subsegments":[{"id":"a000000000000001","name":"db","start_time":1.6,"end_time":1.7,"trace_id":"1-581cf771-a006649127e371903a2de979","parent_id":"70de5b6f19ff9a0a","type":"subsegment","in_progress":false,"namespace":"remote",` +
		`"subsegments":[{"id":"a000000000000002","name":"inner","start_time":1.61,"in_progress":true,"trace_id":"1-581cf771-a006649127e371903a2de979","Dummy":false}]}]}`
	c := mustCompile(t, traceOfStrings(doc), CompileOptions{})
	want := `{"id":"70de5b6f19ff9a0a","name":"py","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.5,"end_time":2.5,` +
		`"subsegments":[{"id":"a000000000000001","name":"db","start_time":1.6,"end_time":1.7,"namespace":"remote",` +
		`"subsegments":[{"id":"a000000000000002","name":"inner","start_time":1.61,"in_progress":true}]}]}`
	if got := string(docByName(t, c, "py")); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
