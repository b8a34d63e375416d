package loadgen

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// docView is one generated document, decoded by the server's own decoder
// (which validates it as ingest will) and by encoding/json for the members
// the digest does not keep.
type docView struct {
	raw []byte
	at  time.Time
	seg segment.Segment
	m   map[string]any
}

func (d *docView) root() *segment.Entity { return d.seg.Root() }

// traceView is a generated trace with its entities indexed by ID.
type traceView struct {
	id   xrayid.TraceID
	docs []docView
	ents map[xrayid.SegmentID]entRef
}

type entRef struct {
	doc int // index in docs
	ent int // index in docs[doc].seg.Entities
}

func (tv *traceView) entity(r entRef) *segment.Entity { return &tv.docs[r.doc].seg.Entities[r.ent] }

// viewTrace checks what every generated document must satisfy and indexes
// the trace: valid JSON under 64 KiB accepted by segment.Decoder, the
// trace's ID, required fields, emission times in order.
func viewTrace(t testing.TB, dec *segment.Decoder, tr Trace) *traceView {
	t.Helper()
	tv := &traceView{id: tr.ID, ents: map[xrayid.SegmentID]entRef{}}
	if len(tr.Docs) == 0 {
		t.Fatalf("trace %s has no documents", tr.ID)
	}
	for k, d := range tr.Docs {
		if len(d.JSON) > MaxDocSize {
			t.Fatalf("trace %s doc %d: %d bytes, over 64 KiB", tr.ID, k, len(d.JSON))
		}
		if !json.Valid(d.JSON) {
			t.Fatalf("trace %s doc %d: invalid JSON: %s", tr.ID, k, d.JSON)
		}
		if k > 0 && d.At.Before(tr.Docs[k-1].At) {
			t.Fatalf("trace %s doc %d: emitted at %v, before the previous document (%v)", tr.ID, k, d.At, tr.Docs[k-1].At)
		}
		segs, err := dec.Decode(nil, bytes.Clone(d.JSON))
		if err != nil {
			t.Fatalf("trace %s doc %d rejected by segment.Decoder: %v\n%s", tr.ID, k, err, d.JSON)
		}
		if len(segs) != 1 {
			t.Fatalf("trace %s doc %d: decoded into %d segments", tr.ID, k, len(segs))
		}
		v := docView{raw: d.JSON, at: d.At, seg: segs[0]}
		if err := json.Unmarshal(d.JSON, &v.m); err != nil {
			t.Fatal(err)
		}
		if v.seg.TraceID != tr.ID {
			t.Fatalf("trace %s doc %d has trace_id %s", tr.ID, k, v.seg.TraceID)
		}
		for _, f := range []string{"name", "id", "start_time", "trace_id"} {
			if _, ok := v.m[f]; !ok {
				t.Fatalf("trace %s doc %d lacks %q: %s", tr.ID, k, f, d.JSON)
			}
		}
		_, hasEnd := v.m["end_time"]
		if hasEnd == (v.m["in_progress"] == true) {
			t.Fatalf("trace %s doc %d: needs exactly one of end_time and in_progress:true: %s", tr.ID, k, d.JSON)
		}
		if v.seg.Independent && v.seg.ParentID == 0 {
			t.Fatalf("trace %s doc %d: independent subsegment without parent_id", tr.ID, k)
		}
		tv.docs = append(tv.docs, v)
		for e := range v.seg.Entities {
			ref := entRef{doc: len(tv.docs) - 1, ent: e}
			if old, dup := tv.ents[v.seg.Entities[e].ID]; dup {
				// Only an in-progress document may be sent again, complete.
				if e != 0 || !tv.entity(old).InProgress {
					t.Fatalf("trace %s: id %s used twice", tr.ID, v.seg.Entities[e].ID)
				}
			}
			tv.ents[v.seg.Entities[e].ID] = ref
		}
	}
	return tv
}

// parentOf returns the entity a document's parent_id names.
func (tv *traceView) parentOf(t testing.TB, d *docView) (*segment.Entity, entRef) {
	t.Helper()
	ref, ok := tv.ents[d.seg.ParentID]
	if !ok {
		t.Fatalf("trace %s: %s (%s) names parent %s, which no document of the trace contains",
			tv.id, d.root().Name, d.seg.ID(), d.seg.ParentID)
	}
	return tv.entity(ref), ref
}

// subNames lists the names of an entity's direct subsegments.
func subNames(s *segment.Segment, parent int) []string {
	var names []string
	for k := range s.Entities {
		if s.Entities[k].Parent == int32(parent) {
			names = append(names, s.Entities[k].Name)
		}
	}
	return names
}

// sub returns a document's direct subsegment with that name.
func sub(s *segment.Segment, name string) *segment.Entity {
	for k := range s.Entities {
		if s.Entities[k].Parent == 0 && s.Entities[k].Name == name {
			return &s.Entities[k]
		}
	}
	return nil
}
