package assemble

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const testTraceID = "1-581cf771-a006649127e371903a2de979"

// fixtureDocs returns the documents of testdata/name, one per line, in write
// order.
func fixtureDocs(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// traceOf makes a stored trace of docs in write order.
func traceOf(docs ...[]byte) *store.Trace {
	tr := &store.Trace{ID: xrayid.MustParseTraceID(testTraceID)}
	for i, d := range docs {
		tr.Records = append(tr.Records, store.Record{TraceID: tr.ID, Received: int64(i), Doc: d})
	}
	return tr
}

func traceOfStrings(docs ...string) *store.Trace {
	bs := make([][]byte, len(docs))
	for i, d := range docs {
		bs[i] = []byte(d)
	}
	return traceOf(bs...)
}

func mustCompile(t testing.TB, tr *store.Trace, opts CompileOptions) *Compiled {
	t.Helper()
	c, err := Compile(tr, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

// entityJSON is the part of a compiled document that outlines show.
type entityJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Inferred    bool         `json:"inferred"`
	Subsegments []entityJSON `json:"subsegments"`
}

// outline renders the shape of a compiled trace: segments in output order
// separated by " | ", children in parentheses, inferred segments marked "~".
// It fails the test on invalid JSON, on a Segment.ID that differs from the
// document's id, and on an ID that appears twice.
func outline(t testing.TB, c *Compiled) string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(e entityJSON) string
	walk = func(e entityJSON) string {
		if seen[e.ID] {
			t.Errorf("id %s appears twice", e.ID)
		}
		seen[e.ID] = true
		s := e.Name
		if e.Inferred {
			s += "~"
		}
		if len(e.Subsegments) > 0 {
			kids := make([]string, len(e.Subsegments))
			for i, k := range e.Subsegments {
				kids[i] = walk(k)
			}
			s += "(" + strings.Join(kids, " ") + ")"
		}
		return s
	}
	parts := make([]string, len(c.Segments))
	for i, s := range c.Segments {
		var e entityJSON
		if err := json.Unmarshal(s.Document, &e); err != nil {
			t.Fatalf("segment %d: invalid JSON %v: %s", i, err, s.Document)
		}
		if e.ID != s.ID.String() {
			t.Errorf("segment %d: Segment.ID %s, document id %q", i, s.ID, e.ID)
		}
		parts[i] = walk(e)
	}
	return strings.Join(parts, " | ")
}

// docByName returns the compiled top-level document named name (inferred
// ones with the "~" suffix, as in outlines).
func docByName(t testing.TB, c *Compiled, name string) []byte {
	t.Helper()
	for _, s := range c.Segments {
		var e entityJSON
		if json.Unmarshal(s.Document, &e) == nil {
			if n := e.Name + map[bool]string{true: "~"}[e.Inferred]; n == name {
				return s.Document
			}
		}
	}
	t.Fatalf("no segment %q in %s", name, outline(t, c))
	return nil
}
