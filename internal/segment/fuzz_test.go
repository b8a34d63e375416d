package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		f.Add(readFixture(f, filepath.Base(name)))
	}
	acceptCases(func(doc string, _ func([]Segment) any, _ any) { f.Add([]byte(doc)) })
	rejectCases(func(doc, _, _ string) { f.Add([]byte(doc)) })
	repairCases(func(doc, _, _ string) { f.Add([]byte(doc)) })

	// Calls are sequential within a fuzz worker, so one long-lived decoder
	// can check that a reused decoder answers like a fresh one.
	reused := NewDecoder(0)
	f.Fuzz(func(t *testing.T, doc []byte) {
		segs, err := NewDecoder(0).Decode(nil, doc)
		checkDecoded(t, doc, segs, err)
		again, err2 := reused.Decode(nil, doc)
		if !reflect.DeepEqual(segs, again) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("a reused decoder disagrees with a fresh one:\n%v %+v\n%v %+v", err, segs, err2, again)
		}
	})
}

// checkDecoded asserts what must hold for any input.
func checkDecoded(t *testing.T, doc []byte, segs []Segment, err error) {
	t.Helper()
	valid := json.Valid(doc)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !slices.Contains(Codes, e.Code) || e.Message == "" {
			t.Fatalf("error %#v is not a *Error with a known code", err)
		}
		if segs != nil {
			t.Fatalf("rejected, yet %d segments were appended", len(segs))
		}
		// Our verdict on JSON validity matches encoding/json's, except that
		// encoding/json gives up at 10,000 levels, where we stopped at 300.
		deep := e.Code == CodeInvalidSegment && strings.Contains(e.Message, "nests too deeply")
		if (e.Code == CodeInvalidJSON) == valid && e.Code != CodeSegmentTooLarge && !deep {
			t.Fatalf("json.Valid is %v, yet the error is %v", valid, e)
		}
		return
	}
	if !valid {
		t.Fatalf("accepted a document that json.Valid rejects")
	}
	if len(segs) == 0 {
		t.Fatalf("accepted, yet no segments")
	}
	seen := map[uint64]bool{}
	for i := range segs {
		s := &segs[i]
		if len(s.Entities) == 0 || s.ID() == 0 || s.TraceID.IsZero() || (s.Independent && s.ParentID == 0) {
			t.Fatalf("segment %d: %d entities, id %s, trace %s, independent %v, parent %s",
				i, len(s.Entities), s.ID(), s.TraceID, s.Independent, s.ParentID)
		}
		if len(s.Raw) == 0 || s.Raw[0] != '{' || !json.Valid(s.Raw) || len(s.Repairs) == 0 && !bytes.Contains(doc, s.Raw) {
			t.Fatalf("segment %d: Raw %q is not an object of the document", i, s.Raw)
		}
		if len(s.Repairs) > 0 {
			// A repaired document is kept as repaired: it decodes as it
			// is, with nothing left to repair.
			again, err := NewDecoder(0).Decode(nil, s.Raw)
			if err != nil || len(again) != 1 || len(again[0].Repairs) != 0 || len(again[0].Entities) != len(s.Entities) {
				t.Fatalf("segment %d: repaired %q decodes to %v %+v", i, s.Raw, err, again)
			}
		}
		if len(s.Links) > MaxLinks {
			t.Fatalf("segment %d: %d links", i, len(s.Links))
		}
		for j := range s.Entities {
			checkEntity(t, i, j, &s.Entities[j])
			if seen[uint64(s.Entities[j].ID)] {
				t.Fatalf("segment %d entity %d: duplicate id %s", i, j, s.Entities[j].ID)
			}
			seen[uint64(s.Entities[j].ID)] = true
		}
	}
}

func checkEntity(t *testing.T, i, j int, e *Entity) {
	t.Helper()
	switch {
	case j == 0 && e.Parent != -1, j > 0 && (e.Parent < 0 || int(e.Parent) >= j):
		t.Fatalf("segment %d entity %d: parent %d", i, j, e.Parent)
	case e.ID == 0:
		t.Fatalf("segment %d entity %d: zero id", i, j)
	case e.Name == "" || utf8.RuneCountInString(e.Name) > MaxNameLength:
		t.Fatalf("segment %d entity %d: name %q", i, j, e.Name)
	case e.Start < 0 || math.IsInf(e.Start, 0) || math.IsNaN(e.Start) || math.IsInf(e.End, 0) || math.IsNaN(e.End):
		t.Fatalf("segment %d entity %d: times %v..%v", i, j, e.Start, e.End)
	case e.InProgress && e.End != 0, !e.InProgress && e.End < e.Start:
		t.Fatalf("segment %d entity %d: in progress %v, times %v..%v", i, j, e.InProgress, e.Start, e.End)
	}
	for _, a := range e.Annotations {
		if a.Key == "" || a.Type < AnnotationString || a.Type > AnnotationBool || math.IsInf(a.Number, 0) || math.IsNaN(a.Number) {
			t.Fatalf("segment %d entity %d: annotation %+v", i, j, a)
		}
	}
}
