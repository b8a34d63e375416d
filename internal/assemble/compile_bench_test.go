package assemble

import (
	"slices"
	"testing"
)

// benchTrace is a typical trace of 11 documents: a Lambda invocation with a
// streamed SDK subsegment, a service with downstream calls and the callee's
// own segment, an in-progress segment and its update, and a chain of
// streamed subsegments.
func benchTrace(b *testing.B) [][]byte {
	var docs [][]byte
	for _, name := range []string{"lambda.jsonl", "inferred.jsonl", "inprogress.jsonl", "nested_parent.jsonl"} {
		docs = append(docs, fixtureDocs(b, name)...)
	}
	return docs
}

func BenchmarkCompile(b *testing.B) {
	docs := benchTrace(b)
	tr := traceOf(docs...)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	b.Run("pooled", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compile(tr, CompileOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		// Over the cap: the binary search compiles about log2(11) times.
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compile(tr, CompileOptions{MaxTraceBytes: size / 2}); err != nil {
				b.Fatal(err)
			}
		}
	})
	stream := fixtureDocs(b, "go_streaming.jsonl")
	b.Run("streaming24", func(b *testing.B) {
		tr := traceOf(slices.Clone(stream)...)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compile(tr, CompileOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
