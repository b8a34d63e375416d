package summary

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scenarios are the traces of the build tests, for the codec.
func scenarios(t testing.TB) map[string]*Summary {
	t.Helper()
	failingDynamo := strings.Replace(lambdaDynamo, `"name":"DynamoDB"`, `"fault":true,"name":"DynamoDB"`, 1)
	return map[string]*Summary{
		"two services": build(t, webDoc, apiDoc),
		"callee later": build(t, webDoc),
		"lambda":       build(t, lambdaDynamo, lambdaFunction, lambdaService),
		"lambda fault": build(t, lambdaFailing, lambdaService),
		"dynamo fault": build(t, failingDynamo, lambdaFunction, lambdaService),
		"in progress":  build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":10,"in_progress":true}`),
		"orphan only":  build(t, `{"type":"subsegment","trace_id":"$T","id":"00000000000000c1","parent_id":"0000000000000999","name":"x","start_time":1,"end_time":2}`),
		"real times":   Build(testTraceID, realisticTrace(t), 7),
		"empty":        Build(testTraceID, nil, 0),
		"annotations":  build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":2,"annotations":{"s":"x","n":-0.0,"m":3.25,"b":true,"f":false,"e":""}}`),
		"odd values": build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":0,"end_time":0,"http":{"response":{"status":99999999999}},
			"subsegments":[{"id":"00000000000000b1","name":"x","start_time":1e-300,"end_time":1e300,"namespace":"remote","http":{"response":{"status":-1}}}]}`),
		"shared string": build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"same","start_time":1,"end_time":2,"user":"same","annotations":{"same":"same"}}`),
	}
}

// realisticTrace is the two-service trace with real epoch times and
// microsecond precision, as SDKs send them.
func realisticTrace(t testing.TB) []Doc {
	r := strings.NewReplacer(`"start_time":10,`, `"start_time":1478293361.271,`, `"end_time":10.1,`, `"end_time":1478293361.449,`,
		`"start_time":10.01,`, `"start_time":1478293361.280112,`, `"end_time":10.09`, `"end_time":1478293361.440371`,
		`"start_time":10.02,`, `"start_time":1478293361.284563,`, `"end_time":10.085,`, `"end_time":1.4782933614353266E9,`)
	return decodeDocs(t, r.Replace(webDoc), r.Replace(apiDoc))
}

func TestRoundTrip(t *testing.T) {
	for name, s := range scenarios(t) {
		b := s.AppendBinary(nil)
		var got Summary
		if err := got.UnmarshalBinary(b); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d := diff(withoutCallIDs(s), &got); d != "" {
			t.Errorf("%s: round trip differs (-want +got):\n%s", name, d)
		}
		// Appending keeps what dst held.
		if b2 := s.AppendBinary([]byte("xyz")); !bytes.Equal(b2[3:], b) || string(b2[:3]) != "xyz" {
			t.Errorf("%s: AppendBinary to a non-empty dst", name)
		}
	}
}

// TestDecodeReuse decodes every scenario into the same Summary, in an order
// that shrinks and grows every list, and checks each against a fresh decode.
func TestDecodeReuse(t *testing.T) {
	sc := scenarios(t)
	var encs [][]byte
	for _, s := range sc {
		encs = append(encs, s.AppendBinary(nil))
	}
	r := rand.New(rand.NewPCG(1, 2))
	var reused Summary
	for range 200 {
		b := encs[r.IntN(len(encs))]
		if err := reused.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if got := reused.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("reused decode re-encodes differently:\n got %x\nwant %x", got, b)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Build(testTraceID, realisticTrace(t), 0).AppendBinary(nil)
	f := func(b []byte, want string) {
		t.Helper()
		var s Summary
		err := s.UnmarshalBinary(b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
	f(nil, "corrupt encoding: empty")
	f([]byte{3}, "unknown format version 3 (this build reads versions 1 and 2)")
	f([]byte{0}, "unknown format version 0")
	f(good[:len(good)-1], "corrupt encoding")
	f(append(good[:len(good):len(good)], 0), "trailing bytes")
	f([]byte{1, 0xff}, "bad varint")
	f([]byte{1, 100}, "list longer than the encoding")
	f([]byte{1, 1, 50, 'x'}, "string longer than the encoding")

	var s Summary
	if err := s.UnmarshalBinary(good[:20]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want ErrCorrupt", err)
	}
	// A node index past the nodes is refused: filters index Nodes with it.
	bad := (&Summary{Entry: 3}).AppendBinary(nil)
	f(bad, "entry node out of range")
	bad = (&Summary{Entry: -1, Nodes: []Node{{Name: "a"}}, Edges: []Edge{{From: -1, To: 1}}}).AppendBinary(nil)
	f(bad, "node index out of range")
	bad = (&Summary{Entry: -1, Users: []User{{Name: "u", Nodes: []int32{0}}}}).AppendBinary(nil)
	f(bad, "node index out of range")
}

// TestEncodingSize reports the size of typical summaries and keeps it from
// growing unnoticed.
func TestEncodingSize(t *testing.T) {
	f := func(name string, s *Summary, max int) {
		t.Helper()
		n := len(s.AppendBinary(nil))
		t.Logf("%s: %d bytes (%d nodes, %d edges, %d annotations)", name, n, len(s.Nodes), len(s.Edges), len(s.Annotations))
		if n > max {
			t.Errorf("%s: %d bytes, more than %d", name, n, max)
		}
	}
	sc := scenarios(t)
	f("two services, real times", sc["real times"], 460)
	f("lambda", sc["lambda"], 380)
	f("lambda fault", sc["lambda fault"], 400)
	f("ten documents", Build(testTraceID, benchTrace(t), 3), 1050)
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range scenarios(f) {
		f.Add(s.AppendBinary(nil))
	}
	f.Add([]byte{1})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Summary
		if s.UnmarshalBinary(b) != nil {
			return
		}
		// Whatever decodes re-encodes to an encoding that decodes to the
		// same thing (compared as bytes: NaNs are not DeepEqual).
		enc := s.AppendBinary(nil)
		var s2 Summary
		if err := s2.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded summary does not decode: %v", err)
		}
		if enc2 := s2.AppendBinary(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable:\n%x\n%x", enc, enc2)
		}
		// Decoding into a used Summary gives the same result.
		var reused Summary
		if reused.UnmarshalBinary(enc) != nil || reused.UnmarshalBinary(b) != nil {
			t.Fatal("second decode failed")
		}
		if enc3 := reused.AppendBinary(nil); !bytes.Equal(enc, enc3) {
			t.Fatalf("reused decode differs:\n%x\n%x", enc, enc3)
		}
	})
}

// FuzzBuild feeds documents (one per line) through the decoder and Build,
// which must not panic, then checks the round trip of the result.
func FuzzBuild(f *testing.F) {
	for _, jsons := range [][]string{{webDoc, apiDoc}, {lambdaDynamo, lambdaFunction, lambdaService}, {lambdaFailing, lambdaService}} {
		var b strings.Builder
		for _, j := range jsons {
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(j, "\n", ""), "$T", testTrace))
			b.WriteString("\n")
		}
		f.Add([]byte(b.String()))
	}
	// Small fixtures only: the fuzzing engine minimizes every new input it
	// finds, for up to -fuzzminimizetime (60 s unless bounded, as
	// scripts/fuzz does), and a multi-kilobyte start makes that the whole
	// of a short run.
	if paths, _ := filepath.Glob("../assemble/testdata/*.jsonl"); len(paths) > 0 {
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil && len(data) <= 1024 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := decodeLines(data)
		s := Build(testTraceID, docs, 0)
		checkInvariants(t, s)
		enc := s.AppendBinary(nil)
		var got Summary
		if err := got.UnmarshalBinary(enc); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !bytes.Equal(got.AppendBinary(nil), enc) {
			t.Fatal("round trip differs")
		}
	})
}

func TestRandomTraces(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	var shared Builder
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		var b bytes.Buffer
		for _, d := range randomTrace(r) {
			b.Write(d)
			b.WriteByte('\n')
		}
		docs := decodeLines(b.Bytes())
		s := new(Builder).Build(testTraceID, docs, 0)
		checkInvariants(t, s)
		// A Builder's leftovers from other traces change nothing.
		if d := diff(s, shared.Build(testTraceID, docs, 0)); d != "" {
			t.Fatalf("seed %d: reused Builder differs (-want +got):\n%s", seed, d)
		}
		var got Summary
		if err := got.UnmarshalBinary(s.AppendBinary(nil)); err != nil {
			t.Fatalf("seed %d: round trip: %v", seed, err)
		}
		if d := diff(withoutCallIDs(s), &got); d != "" {
			t.Fatalf("seed %d: round trip differs (-want +got):\n%s", seed, d)
		}
	}
}

// TestFirstByte pins the first byte of an encoding: the version. The Pebble
// store tells a summary stored after its field header from one stored
// without (by earlier versions) by that byte: an encoded summary must never
// start with its header marker, 0xF5 (internal/store/pebblestore,
// fieldheader.go). A new format version must keep clear of it.
func TestFirstByte(t *testing.T) {
	for _, s := range []*Summary{{}, Build(testTraceID, realisticTrace(t), 0)} {
		if b := s.AppendBinary(nil); b[0] != FormatVersion {
			t.Errorf("encoding starts with %#x, want the version %d", b[0], FormatVersion)
		}
	}
	if FormatVersion == 0xF5 {
		t.Error("FormatVersion collides with the Pebble store's field header marker")
	}
}

// withoutCallIDs is a copy of s with every call's ID zero: what a decoded
// encoding holds (format version 2 stores no call IDs).
func withoutCallIDs(s *Summary) *Summary {
	c := *s
	c.Nodes = slices.Clone(s.Nodes)
	for i := range c.Nodes {
		c.Nodes[i].Requests = slices.Clone(c.Nodes[i].Requests)
		for j := range c.Nodes[i].Requests {
			c.Nodes[i].Requests[j].ID = 0
		}
	}
	c.Edges = slices.Clone(s.Edges)
	for i := range c.Edges {
		c.Edges[i].Calls = slices.Clone(c.Edges[i].Calls)
		for j := range c.Edges[i].Calls {
			c.Edges[i].Calls[j].ID = 0
		}
	}
	return &c
}

// TestDecodeVersion1 reads encodings written by format version 1 (the
// scenarios encoded by the code before version 2, testdata/v1-*.bin): a
// store written by an earlier build keeps reading, call IDs included.
func TestDecodeVersion1(t *testing.T) {
	sc := scenarios(t)
	for name, file := range map[string]string{"real times": "v1-real-times.bin", "lambda fault": "v1-lambda-fault.bin", "two services": "v1-two-services.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != formatWithCallIDs {
			t.Fatalf("%s: version %d, want %d", file, b[0], formatWithCallIDs)
		}
		var got Summary
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d := diff(sc[name], &got); d != "" {
			t.Errorf("%s: differs from the scenario (-want +got):\n%s", file, d)
		}
		// Re-encoded, it is version 2 and decodes to the same summary
		// without its call IDs, and is shorter by 8 bytes a stored call.
		enc := got.AppendBinary(nil)
		var again Summary
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		if d := diff(withoutCallIDs(sc[name]), &again); d != "" {
			t.Errorf("%s re-encoded: differs (-want +got):\n%s", file, d)
		}
		if len(enc) >= len(b) {
			t.Errorf("%s: version 2 is %d bytes, version 1 %d", file, len(enc), len(b))
		}
	}
}
