package assemble

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzCompile builds record sets from newline-separated documents: the
// fuzzer mutates the documents, and seed picks, repeats and reorders them.
// Whatever the input, Compile must not panic, must return valid JSON that
// fits the cap, and must not depend on the Compiler's history.
func FuzzCompile(f *testing.F) {
	// Small fixtures only: the fuzzing engine minimizes every new input it
	// finds, for up to -fuzzminimizetime (60 s unless bounded, as
	// scripts/fuzz does), and a multi-kilobyte start makes that the whole
	// of a short run.
	fixtures, _ := filepath.Glob("testdata/*.jsonl")
	for i, path := range fixtures {
		if st, err := os.Stat(path); err != nil || st.Size() > 1024 {
			continue
		}
		docs := fixtureDocs(f, filepath.Base(path))
		f.Add(bytes.Join(docs, []byte("\n")), uint64(i), uint16(0))
		f.Add(bytes.Join(docs, []byte("\n")), uint64(i+100), uint16(700))
	}
	f.Add([]byte(`{"id":"aaaaaaaaaaaaaaaa","subsegments":[{"id":"bbbbbbbbbbbbbbbb"}]}`+"\n"+
		`{"id":"bbbbbbbbbbbbbbbb","type":"subsegment","parent_id":"aaaaaaaaaaaaaaaa","end_time":1}`), uint64(7), uint16(0))

	var reused Compiler
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, limit uint16) {
		lines := bytes.Split(data, []byte("\n"))
		rnd := rand.New(rand.NewPCG(seed, seed>>32))
		var docs [][]byte
		for range min(rnd.IntN(2*len(lines)+1), 64) {
			docs = append(docs, lines[rnd.IntN(len(lines))])
		}
		if seed%3 == 0 {
			docs = lines // also the lines as given, in order
		}
		tr := traceOf(docs...)
		opts := CompileOptions{MaxTraceBytes: int(limit)}
		got, err := reused.Compile(tr, opts)
		if err != nil {
			if !errors.Is(err, ErrNoDocuments) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		size := 0
		for _, s := range got.Segments {
			if !json.Valid(s.Document) {
				t.Fatalf("invalid JSON: %s", s.Document)
			}
			if s.ID == 0 {
				t.Fatalf("zero segment ID: %s", s.Document)
			}
			size += len(s.Document)
		}
		if limit > 0 && size > int(limit) {
			t.Fatalf("size %d over the %d cap", size, limit)
		}
		var fresh Compiler
		want, err := fresh.Compile(tr, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got.Segments, want.Segments, func(a, b Segment) bool {
			return a.ID == b.ID && bytes.Equal(a.Document, b.Document)
		}) || got.Duration != want.Duration || got.LimitExceeded != want.LimitExceeded {
			t.Fatalf("a reused compiler differs from a fresh one")
		}
	})
}
