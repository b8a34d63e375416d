package summary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/assemble"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// The summary must describe the trace BatchGetTraces returns. Both sides
// take which copy wins and where it hangs from package resolve (tested
// there); these tests check what each derives from its answer: they compile
// the same documents with assemble.Compile and compare, entity by entity,
// which entities the trace holds, what each hangs under (the summary's up
// pointers against Compile's rendered nesting), and which calls got an
// inferred segment.

// compiledView lists a compiled trace as "id<parent name" lines (parent 0
// for top-level documents), inferred segments as "~subsegment-id".
func compiledView(t testing.TB, docs [][]byte) []string {
	t.Helper()
	tr := &store.Trace{ID: testTraceID}
	for i, d := range docs {
		tr.Records = append(tr.Records, store.Record{TraceID: testTraceID, Received: int64(i), Doc: d})
	}
	c, err := assemble.Compile(tr, assemble.CompileOptions{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	type entity struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		ParentID    string   `json:"parent_id"`
		Inferred    bool     `json:"inferred"`
		Subsegments []entity `json:"subsegments"`
	}
	var out []string
	var walk func(e entity, parent string)
	walk = func(e entity, parent string) {
		out = append(out, e.ID+"<"+parent+" "+e.Name)
		for _, s := range e.Subsegments {
			walk(s, e.ID)
		}
	}
	for _, s := range c.Segments {
		var e entity
		if err := json.Unmarshal(s.Document, &e); err != nil {
			t.Fatalf("compiled document: %v", err)
		}
		if e.Inferred {
			out = append(out, "~"+e.ParentID)
			continue
		}
		walk(e, "0000000000000000")
	}
	slices.Sort(out)
	return out
}

// resolvedView lists the Builder's resolution the same way.
func resolvedView(b *Builder) []string {
	var out []string
	for d := range b.rs.Docs {
		dv := &b.rs.Docs[d]
		if !b.rs.DS[d].Live {
			continue
		}
		for x := dv.Root; x < dv.Root+dv.N; x++ {
			ev := &b.ents[x]
			if ev.skip {
				continue
			}
			parent := "0000000000000000"
			if up := ev.up; up >= 0 && !b.isSegmentRoot(x) {
				parent = b.ents[up].e.ID.String()
			}
			out = append(out, ev.e.ID.String()+"<"+parent+" "+ev.e.Name)
			if _, ok := segment.InferNode(ev.e); ok && !ev.segChild && !b.isSegmentRoot(x) {
				out = append(out, "~"+ev.e.ID.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkAgainstCompile decodes docs (dropping those the decoder rejects) and
// compares both resolutions; it returns false when nothing was decodable.
func checkAgainstCompile(t *testing.T, raw [][]byte, label string) bool {
	t.Helper()
	dec := segment.NewDecoder(0)
	var docs []Doc
	var kept [][]byte
	for _, r := range raw {
		segs, err := dec.Decode(nil, r)
		if err != nil || len(segs) != 1 {
			continue
		}
		kept = append(kept, r)
		docs = append(docs, Doc{Seg: &segs[0], Received: int64(len(docs))})
	}
	if len(docs) == 0 {
		return false
	}
	var b Builder
	b.Build(testTraceID, docs, 0)
	got, want := resolvedView(&b), compiledView(t, kept)
	if !slices.Equal(got, want) {
		t.Errorf("%s: resolution differs from Compile\n got %s\nwant %s\ndocuments:\n%s", label,
			strings.Join(got, " "), strings.Join(want, " "), bytes.Join(kept, []byte("\n")))
	}
	return true
}

func TestResolveMatchesCompileFixtures(t *testing.T) {
	fixtures, err := filepath.Glob("../assemble/testdata/*.jsonl")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no assemble fixtures under ../assemble/testdata (%v)", err)
	}
	for _, path := range fixtures {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !checkAgainstCompile(t, bytes.Split(bytes.TrimSpace(data), []byte("\n")), filepath.Base(path)) {
			t.Errorf("%s: nothing decodable", path)
		}
	}
}

// TestResolveMatchesCompileRandom throws random traces at both: a small pool
// of IDs so that copies collide, embedded and independent copies of the same
// subsegment, in-progress versions, Lambda Invocation nesting, parents that
// never arrive and parent loops.
func TestResolveMatchesCompileRandom(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		checkAgainstCompile(t, randomTrace(r), fmt.Sprintf("seed %d", seed))
	}
}

func randomTrace(r *rand.Rand) [][]byte {
	ids := make([]string, 4+r.IntN(10))
	for i := range ids {
		ids[i] = fmt.Sprintf("%016x", 0x100+i)
	}
	pick := func() string { return ids[r.IntN(len(ids))] }
	names := []string{"Invocation", "api", "DynamoDB", "x"}
	entity := func(id string, depth int) string {
		var b strings.Builder
		var ent func(id string, depth int, used map[string]bool)
		ent = func(id string, depth int, used map[string]bool) {
			used[id] = true
			start := 10 + r.Float64()
			fmt.Fprintf(&b, `"id":"%s","name":"%s","start_time":%.3f`, id, names[r.IntN(len(names))], start)
			if r.IntN(4) == 0 {
				b.WriteString(`,"in_progress":true`)
			} else {
				fmt.Fprintf(&b, `,"end_time":%.3f`, start+r.Float64())
			}
			switch r.IntN(4) {
			case 0:
				b.WriteString(`,"namespace":"aws","aws":{"table_name":"t"}`)
			case 1:
				b.WriteString(`,"namespace":"remote"`)
			}
			// What the summary reads beyond the structure.
			switch r.IntN(6) {
			case 0:
				b.WriteString(`,"fault":true,"cause":{"exceptions":[{"id":"1111111111111111","type":"E","message":"m"}]}`)
			case 1:
				b.WriteString(`,"error":true,"throttle":true,"cause":"1111111111111111"`)
			case 2:
				fmt.Fprintf(&b, `,"annotations":{"k%d":%d,"s":"v%d"},"user":"u%d"`, r.IntN(3), r.IntN(3), r.IntN(2), r.IntN(2))
			case 3:
				b.WriteString(`,"http":{"request":{"traced":true}}`)
			}
			if depth < 2 && r.IntN(2) == 0 {
				b.WriteString(`,"subsegments":[`)
				for i := range 1 + r.IntN(3) {
					sub := pick()
					if used[sub] {
						continue
					}
					if i > 0 && !strings.HasSuffix(b.String(), "[") {
						b.WriteString(",")
					}
					b.WriteString("{")
					ent(sub, depth+1, used)
					b.WriteString("}")
				}
				b.WriteString("]")
			}
		}
		ent(id, depth, map[string]bool{})
		return b.String()
	}
	var docs [][]byte
	for range 1 + r.IntN(8) {
		var d string
		switch r.IntN(3) {
		case 0: // segment, maybe a Lambda function, maybe with a parent
			extra := ""
			if r.IntN(2) == 0 {
				extra += `,"origin":"AWS::Lambda::Function"`
			}
			if r.IntN(2) == 0 {
				extra += `,"parent_id":"` + pick() + `"`
			}
			d = `{"trace_id":"` + testTrace + `",` + entity(pick(), 0) + extra + `}`
		default: // independent subsegment
			d = `{"type":"subsegment","trace_id":"` + testTrace + `","parent_id":"` + pick() + `",` + entity(pick(), 1) + `}`
		}
		docs = append(docs, []byte(d))
		if r.IntN(5) == 0 {
			docs = append(docs, []byte(d)) // a duplicate
		}
	}
	return docs
}
