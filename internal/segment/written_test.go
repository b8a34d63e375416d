package segment

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDecodeWrittenMatchesDecode: skipping validation changes nothing for a
// valid document.
func TestDecodeWrittenMatchesDecode(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test documents: %v", err)
	}
	for _, p := range paths {
		doc, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewDecoder(0).Decode(nil, doc)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got, err := NewDecoder(0).DecodeWritten(nil, doc)
		if err != nil {
			t.Fatalf("%s: DecodeWritten: %v", p, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeWritten differs from Decode:\n%+v\n%+v", p, got, want)
		}
	}
}

func BenchmarkDecodeWritten(b *testing.B) {
	doc := benchDoc(b)
	d := NewDecoder(0)
	var segs []Segment
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		segs, err = d.DecodeWritten(segs[:0], doc)
		if err != nil {
			b.Fatal(err)
		}
	}
}
