package doccodec_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/otlp/translate"
	"github.com/counterspy/counterspy/internal/store/doccodec"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var (
	tid = xrayid.MustParseTraceID("1-5f841a00-0102030405060708090a0b0c")
	row = doccodec.Row{TraceID: tid, SegmentID: 0x53995c3f42cd8ad8}
)

// roundTrip splits doc and joins it back, failing unless the bytes are
// the same; it returns the parts.
func roundTrip(t testing.TB, doc []byte, r doccodec.Row) *doccodec.Parts {
	t.Helper()
	var p doccodec.Parts
	doccodec.Split(&p, doc, r)
	got, err := doccodec.Join(nil, &p, r)
	if err != nil {
		t.Fatalf("Join(Split(%q)): %v", doc, err)
	}
	if !bytes.Equal(got, doc) {
		t.Fatalf("Join(Split(%q)) = %q", doc, got)
	}
	// The ClickHouse backend tells split rows from raw ones by a
	// non-empty skeleton.
	if len(doc) > 0 && len(p.Skeleton) == 0 {
		t.Fatalf("Split(%q): empty skeleton", doc)
	}
	return &p
}

// rowOf reads the row identity of a document the way ingest does: its
// trace_id and id.
func rowOf(t testing.TB, doc []byte) doccodec.Row {
	t.Helper()
	var d struct {
		TraceID string `json:"trace_id"`
		ID      string `json:"id"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	r := doccodec.Row{}
	r.TraceID, _ = xrayid.ParseTraceID(d.TraceID) // an independent subsegment may lack one: zero
	r.SegmentID, _ = xrayid.ParseSegmentID(d.ID)
	return r
}

// SDK documents as each SDK writes them (field order and spacing of the
// X-Ray SDKs for Go, Python, Java and Node.js, and of Lambda).
var sdkDocs = []string{
	// Go (encoding/json: compact, shortest float times).
	`{"trace_id":"1-5f841a00-0102030405060708090a0b0c","id":"53995c3f42cd8ad8","name":"checkout","start_time":1602493952.0412471,"end_time":1602493952.1934,"http":{"request":{"method":"GET","url":"https://example.com/cart?id=7","client_ip":"10.0.0.1"},"response":{"status":200,"content_length":1234}},"aws":{"xray":{"sdk":"X-Ray for Go","sdk_version":"1.8.5"}},"subsegments":[{"id":"a1b2c3d4e5f60718","name":"dynamodb","start_time":1602493952.05,"end_time":1602493952.09,"namespace":"aws","aws":{"operation":"GetItem","request_id":"UBQNSO5AEM8T4FDA4RQDEB94OVTDRVV4K4HIRGVJF66Q9ASUAAJG","table_name":"carts"}}],"Dummy":false}`,
	// Python (json.dumps: ", " and ": " separators, in_progress, escapes).
	`{"id": "53995c3f42cd8ad8", "name": "orders \u00e9t\u00e9", "start_time": 1602493952.041247, "in_progress": false, "trace_id": "1-5f841a00-0102030405060708090a0b0c", "end_time": 1602493952.193412, "metadata": {"default": {"q": "say \"hi\"\n", "n": -0, "e": 1e5, "big": 123456789012345678901234567890, "z": 007, "neg": -12.50, "f": 0.0}}, "service": {"runtime": "CPython", "runtime_version": "3.12.1"}, "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.14.0"}}}`,
	// Java (Jackson: compact, times in exponent form from some writers).
	`{"name":"Scorekeep","id":"53995c3f42cd8ad8","start_time":1.602493952041E9,"trace_id":"1-5f841a00-0102030405060708090a0b0c","end_time":1.602493952193E9,"http":{"request":{"method":"POST","client_ip":"0:0:0:0:0:0:0:1","url":"http://localhost:5000/api/session","user_agent":"Mozilla/5.0"},"response":{"status":200}},"aws":{"xray":{"sdk_version":"2.15.0","sdk":"X-Ray for Java"},"ecs":{"container":"ip-10-0-1-5"}},"service":{"runtime":"OpenJDK 64-Bit Server VM","runtime_version":"17.0.9"},"subsegments":[{"id":"0B3C51EE1A3D6B0C","name":"S3","start_time":1.602493952050E9,"end_time":1.602493952090E9,"fault":true,"cause":{"working_directory":"/app","exceptions":[{"id":"4f1e2a6b8c0d2e4f","message":"Access Denied","type":"AmazonS3Exception","stack":[{"path":"S3.java","line":42,"label":"get"}]}]}}]}`,
	// Node.js (millisecond times, "traced", a null line).
	`{"id":"53995c3f42cd8ad8","name":"api","start_time":1602493952.041,"end_time":1602493952.193,"trace_id":"1-5f841a00-0102030405060708090a0b0c","traced":true,"aws":{"xray":{"sdk":"X-Ray for Node.js","sdk_version":"3.5.3","package":"aws-xray-sdk"}},"cause":{"exceptions":[{"message":"boom","type":"Error","stack":[{"path":"index.js","line":null,"label":"handler"}]}]},"error":true}`,
	// Lambda: the function segment with a UUID request ID.
	`{"id":"53995c3f42cd8ad8","name":"my-fn","start_time":1602493952.041,"trace_id":"1-5f841a00-0102030405060708090a0b0c","end_time":1602493952.2,"parent_id":"1f2e3d4c5b6a7988","aws":{"request_id":"3d0e5b4c-2a1f-4e6d-9c8b-7a6f5e4d3c2b","function_arn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn","cloudwatch_logs":[{"log_group":"/aws/lambda/my-fn"}]},"origin":"AWS::Lambda::Function"}`,
	// An independent subsegment (no trace text of the row: a parent ID).
	`{"type":"subsegment","id":"a1b2c3d4e5f60718","parent_id":"53995c3f42cd8ad8","trace_id":"1-5f841a00-0102030405060708090a0b0c","name":"later","start_time":1602493952.3,"in_progress":true}`,
}

func TestSDKDocuments(t *testing.T) {
	for _, d := range sdkDocs {
		p := roundTrip(t, []byte(d), row)
		if len(p.Skeleton) >= len(d) {
			t.Errorf("skeleton of %d bytes for a %d-byte document: nothing taken out", len(p.Skeleton), len(d))
		}
		// Times in every SDK's form are taken out, and the keys of
		// the table.
		if bytes.Contains(p.Skeleton, []byte("16024939")) || bytes.Contains(p.Skeleton, []byte(`"start_time"`)) {
			t.Errorf("skeleton still holds a time or a known key: %q", p.Skeleton)
		}
	}
	// The Go document: the row's IDs are markers, the subsegment ID and
	// the request ID are taken out.
	p := roundTrip(t, []byte(sdkDocs[0]), row)
	for _, s := range []string{"5f841a00", "53995c3f42cd8ad8", "a1b2c3d4e5f60718", "UBQNSO5AEM8T4FDA4RQDEB94OVTDRVV4K4HIRGVJF66Q9ASUAAJG", "1602493952"} {
		if bytes.Contains(p.Skeleton, []byte(s)) {
			t.Errorf("skeleton still holds %q: %q", s, p.Skeleton)
		}
	}
	if len(p.IDs) != 8 {
		t.Errorf("IDs hold %d bytes, want the subsegment's 8 (the segment's own ID is the row's)", len(p.IDs))
	}
	if !bytes.Contains(p.Strs[doccodec.StrHot], []byte("UBQNSO5AEM8T4FDA4RQDEB94OVTDRVV4K4HIRGVJF66Q9ASUAAJG")) {
		t.Errorf("request ID not in the hot strings: %q", p.Strs[doccodec.StrHot])
	}
	if !bytes.Contains(p.Strs[doccodec.StrURL], []byte("https://example.com/cart?id=7")) {
		t.Errorf("URL not in the URL strings: %q", p.Strs[doccodec.StrURL])
	}
	// A different row's identity: the same document still round-trips,
	// with its IDs as binary instead of markers.
	other := doccodec.Row{TraceID: xrayid.MustParseTraceID("1-6b15f700-7b5b4c50c63aa1c6fb19f7f9"), SegmentID: 1}
	if q := roundTrip(t, []byte(sdkDocs[0]), other); len(q.IDs) != 8+8 {
		t.Errorf("IDs hold %d bytes under another row, want 16 (both segment IDs)", len(q.IDs))
	}
}

// TestLiterals covers what stays literal: numbers that would not format
// back the same, escaped and unterminated strings, raw control bytes and
// marker bytes, uppercase hex, non-JSON.
func TestLiterals(t *testing.T) {
	for _, d := range []string{
		``, `{}`, `"`, `"abc`, `{"a":"b\"`, `{"a":"\\"}`, `{"a": "x\u0000y"}`,
		"{\"a\":\"\x00\x01\x02\x07\x10\x1f\x7f\xff\"}", "\x01\x02\x03\x04\x05\x06\x07\x10\x11\x12\x13",
		"{\"a\":1}\x01\x06", `-`, `--1`, `1-`, `1.`, `.5`, `-.5`, `00`, `-0`, `-0.0`, `0.0`, `0`, `-1`,
		`1e5`, `1E+5`, `1.5e-3`, `12345678901234567890`, `1234567890123456789`, `123456789012345678`,
		`0.000000000000000001`, `0.1234567890123456789`, `-9223372036854775808`, `9223372036854775807`,
		`1602493952.0412471`, `1602493952.0412471 1602493952.0412470 1602493952.1 99999999999.1 -1602493952.5`,
		`[1,2.50,-3.125,"x",true,null,false]`,
		`1.602493952E9 1.602493952041E9 1.6024939520410E9 1.0E9 1.00E9 1.602493952E10 1.5E-3 1.E9 1.6E09 1.602493952e9 1.602493952E+9 -1.602493952E9`,
		`1.6024939520412345E9 1.602493952041234567E9 1.602493952041234567891E9 1.602493952E999 1.602493952E9E9 16.02493952E8`,
		`1602493952.1 1602493952.10 1602493952.1234567 1602493952.123456 1602493952.12345678 1602493952.0000001 1602493952.000`, `{"id":"0123456789ABCDEF"}`, `{"id":"0123456789abcde"}`,
		`{"id":"0123456789abcdef0"}`, `{"u":"3D0E5B4C-2A1F-4E6D-9C8B-7A6F5E4D3C2B"}`, `{"u":"3d0e5b4c-2a1f-4e6d-9c8b-7a6f5e4d3c2"}`,
		`{"t":"1-5f841a00-0102030405060708090a0b0c","t2":"1-5f841a00-0102030405060708090a0b0d"}`,
		`{"id":"0000000000000000"}`, `{"ké":"v","id" :1,"id":"x","Id":2,"":3}`, "{\"id\":\"\x80\xff\"}\x80\xfe\x7f", `{"id\u0000":1}`, `{"k" : "v" , "k2"` + "\t:\n\"v2\"}", `{"url":"` + strings.Repeat("a", 300) + `"}`,
		`{"h":"` + strings.Repeat("ab", 255) + `","h2":"` + strings.Repeat("ab", 256) + `"}`, `not json at all 12 "x" 3.5`,
	} {
		roundTrip(t, []byte(d), row)
		roundTrip(t, []byte(d), doccodec.Row{})
	}
}

// TestLoadgenDocuments round-trips every dialect the load generator
// writes (Go, Python, Node.js, AWS services) in both scenarios.
func TestLoadgenDocuments(t *testing.T) {
	for _, name := range loadgen.Names() {
		sc, err := loadgen.New(name, 7)
		if err != nil {
			t.Fatal(err)
		}
		n, in, skel := 0, 0, 0
		for i := range 200 {
			for _, d := range sc.Trace(i, time.Unix(1796601600, 0)).Docs {
				p := roundTrip(t, d.JSON, rowOf(t, d.JSON))
				n, in, skel = n+1, in+len(d.JSON), skel+len(p.Skeleton)
			}
		}
		t.Logf("%s: %d documents, %d bytes, skeletons %d bytes", name, n, in, skel)
		// Keys and punctuation are about half of a document.
		if skel*10 > in*6 {
			t.Errorf("%s: skeletons are %d of %d bytes: the values were not taken out", name, skel, in)
		}
	}
}

// TestOTLPDocuments round-trips documents translated from OTLP spans.
func TestOTLPDocuments(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if err := rs.Resource().Attributes().FromRaw(map[string]any{"service.name": "checkout", "cloud.provider": "aws"}); err != nil {
		t.Fatal(err)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	t0 := time.Unix(1602493952, 123456789)
	for i, kind := range []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient} {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{0x5f, 0x84, 0x1a, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(8 + i)})
		if i > 0 {
			sp.SetParentSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		}
		sp.SetKind(kind)
		sp.SetName("GET /cart")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(150 * time.Millisecond)))
		if err := sp.Attributes().FromRaw(map[string]any{"http.method": "GET", "http.url": "https://example.com/cart?q=\"x\"", "http.status_code": 200, "ratio": 0.25, "note": "tab\there ü"}); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := translate.New(translate.Options{}).Translate(nil, td)
	if len(segs) == 0 {
		t.Fatal("no documents translated")
	}
	for _, s := range segs {
		roundTrip(t, s.Raw, doccodec.Row{TraceID: s.TraceID, SegmentID: s.Entities[0].ID})
	}
}

// TestKeyTable: stored skeletons name keys by their position in the
// table, so its entries must never change (appending is possible while
// there is room: none left at 128). Every entry is found.
func TestKeyTable(t *testing.T) {
	sum := sha256.Sum256([]byte(strings.Join(doccodec.KeyTable(), "\n")))
	if got, want := hex.EncodeToString(sum[:8]), "eeda359d5936b1c1"; got != want {
		t.Errorf("key table changed (sum %s, was %s): documents stored before would read back with other keys", got, want)
	}
	for i, k := range doccodec.KeyTable() {
		p := roundTrip(t, []byte(`{"`+k+`":1}`), row)
		if want := []byte{'{', byte(0x80 + i), ':', 0x06, 0, '}'}; !bytes.Equal(p.Skeleton, want) {
			t.Errorf("key %q: skeleton %q, want %q", k, p.Skeleton, want)
		}
	}
}

// TestCorrupt: parts not made by Split give ErrCorrupt, never a panic.
func TestCorrupt(t *testing.T) {
	p := roundTrip(t, []byte(sdkDocs[0]), row)
	cases := map[string]func(q *doccodec.Parts){
		"ids cut":         func(q *doccodec.Parts) { q.IDs = q.IDs[:len(q.IDs)-1] },
		"ids left over":   func(q *doccodec.Parts) { q.IDs = append(q.IDs, 1) },
		"numbers cut":     func(q *doccodec.Parts) { q.Nums = q.Nums[:0] },
		"strings cut":     func(q *doccodec.Parts) { q.Strs[doccodec.StrURL] = q.Strs[doccodec.StrURL][:3] },
		"unknown marker":  func(q *doccodec.Parts) { q.Skeleton = append(q.Skeleton, 0x1f) },
		"escape at end":   func(q *doccodec.Parts) { q.Skeleton = append(q.Skeleton, 0x01) },
		"strings left":    func(q *doccodec.Parts) { q.Strs[doccodec.StrCommon] = append(q.Strs[doccodec.StrCommon], 1, 'x') },
		"marker at end":   func(q *doccodec.Parts) { q.Skeleton = append(q.Skeleton, 0x06) },
		"hex len at end":  func(q *doccodec.Parts) { q.Skeleton = append(q.Skeleton, 0x04) },
		"time scale zero": func(q *doccodec.Parts) { q.Skeleton = append(q.Skeleton, 0x07, 0); q.Nums = append(q.Nums, 0) },
	}
	for name, mutate := range cases {
		q := clone(p)
		mutate(q)
		if _, err := doccodec.Join(nil, q, row); !errors.Is(err, doccodec.ErrCorrupt) {
			t.Errorf("%s: Join error %v, want ErrCorrupt", name, err)
		}
	}
}

func clone(p *doccodec.Parts) *doccodec.Parts {
	q := &doccodec.Parts{Skeleton: bytes.Clone(p.Skeleton), IDs: bytes.Clone(p.IDs), Nums: bytes.Clone(p.Nums)}
	for i, s := range p.Strs {
		q.Strs[i] = bytes.Clone(s)
	}
	return q
}

func FuzzRoundTrip(f *testing.F) {
	for _, d := range sdkDocs {
		f.Add([]byte(d), uint64(0x53995c3f42cd8ad8), uint32(0x5f841a00))
	}
	f.Add([]byte("{\"a\":\"\x01\x06\",\"n\":-0.5e3,\"t\":\"1-00000000-000000000000000000000000\"}"), uint64(0), uint32(0))
	f.Fuzz(func(t *testing.T, doc []byte, seg uint64, epoch uint32) {
		r := row
		r.SegmentID = xrayid.SegmentID(seg)
		r.TraceID[0], r.TraceID[1], r.TraceID[2], r.TraceID[3] = byte(epoch>>24), byte(epoch>>16), byte(epoch>>8), byte(epoch)
		roundTrip(t, doc, r)
	})
}

// FuzzJoin: Join of arbitrary parts returns an error or a document, never
// panics.
func FuzzJoin(f *testing.F) {
	p := roundTrip(f, []byte(sdkDocs[0]), row)
	f.Add(p.Skeleton, p.IDs, p.Nums, p.Strs[0])
	f.Fuzz(func(t *testing.T, skel, ids, nums, strs []byte) {
		q := &doccodec.Parts{Skeleton: skel, IDs: ids, Nums: nums}
		for i := range q.Strs {
			q.Strs[i] = strs
		}
		_, _ = doccodec.Join(nil, q, row)
	})
}

func BenchmarkSplit(b *testing.B) {
	docs, size := benchDocs(b)
	var p doccodec.Parts
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			doccodec.Split(&p, d.doc, d.row)
		}
	}
}

func BenchmarkJoin(b *testing.B) {
	docs, size := benchDocs(b)
	parts := make([]doccodec.Parts, len(docs))
	for i, d := range docs {
		doccodec.Split(&parts[i], d.doc, d.row)
	}
	var buf []byte
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for i, d := range docs {
			var err error
			if buf, err = doccodec.Join(buf[:0], &parts[i], d.row); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type benchDoc struct {
	doc []byte
	row doccodec.Row
}

// benchDocs are the documents of the first 100 traces of the large
// scenario.
func benchDocs(b *testing.B) ([]benchDoc, int) {
	sc, err := loadgen.New("large", 1)
	if err != nil {
		b.Fatal(err)
	}
	var docs []benchDoc
	size := 0
	for i := range 100 {
		for _, d := range sc.Trace(i, time.Unix(1796601600, 0)).Docs {
			docs = append(docs, benchDoc{d.JSON, rowOf(b, d.JSON)})
			size += len(d.JSON)
		}
	}
	return docs, size
}
