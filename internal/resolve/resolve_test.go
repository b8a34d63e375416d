package resolve

import (
	"testing"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// The rule is also checked end to end: assemble's golden files render what
// it decides, and summary's TestResolveMatchesCompile* compare what the
// summary derives from it with what Compile renders from it.

// tent is a test entity: an ID, a time range (end 0: in progress), a name
// and nested entities.
type tent struct {
	id         xrayid.SegmentID
	name       string
	start, end float64
	kids       []tent
}

// tdoc is a test document.
type tdoc struct {
	independent, lambda bool
	parent              xrayid.SegmentID
	root                tent
}

// load describes docs to a new Resolver; ents[id] lists the entity numbers
// of every copy of id, in arrival order.
func load(docs ...tdoc) (*Resolver, map[xrayid.SegmentID][]int32) {
	r := new(Resolver)
	ents := map[xrayid.SegmentID][]int32{}
	for d, dv := range docs {
		root := int32(len(r.Ents))
		var add func(e tent, parent int32)
		add = func(e tent, parent int32) {
			g := int32(len(r.Ents))
			r.Ents = append(r.Ents, Ent{ID: e.id, Start: e.start, End: e.end, Doc: int32(d), Parent: parent,
				HasStart: true, Complete: e.end != 0, Invocation: e.name == "Invocation"})
			ents[e.id] = append(ents[e.id], g)
			for _, k := range e.kids {
				add(k, g)
			}
		}
		add(dv.root, -1)
		r.Docs = append(r.Docs, Doc{Root: root, N: int32(len(r.Ents)) - root, ParentID: dv.parent,
			Independent: dv.independent, LambdaFn: dv.lambda && !dv.independent})
	}
	return r, ents
}

func resolveAll(docs ...tdoc) (*Resolver, map[xrayid.SegmentID][]int32) {
	r, ents := load(docs...)
	r.Resolve(len(r.Docs))
	return r, ents
}

func live(r *Resolver) []bool {
	out := make([]bool, len(r.DS))
	for i := range r.DS {
		out[i] = r.DS[i].Live
	}
	return out
}

func wantLive(t *testing.T, r *Resolver, want ...bool) {
	t.Helper()
	got := live(r)
	if len(got) != len(want) {
		t.Fatalf("live = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("live = %v, want %v", got, want)
		}
	}
}

func TestDuplicatesCollapseLaterWins(t *testing.T) {
	s := tdoc{root: tent{id: 1, start: 1, end: 2}}
	r, _ := resolveAll(s, s, s)
	wantLive(t, r, false, false, true)
	if r.DS[2].First != 0 {
		t.Errorf("First = %d, want 0: a resend ranks as the first arrival", r.DS[2].First)
	}
}

func TestCompleteBeatsInProgressInAnyOrder(t *testing.T) {
	done := tdoc{root: tent{id: 1, start: 1, end: 2}}
	open := tdoc{root: tent{id: 1, start: 1}}
	r, _ := resolveAll(done, open)
	wantLive(t, r, true, false)
	r, _ = resolveAll(open, done)
	wantLive(t, r, false, true)
	if r.DS[1].First != 0 {
		t.Errorf("First = %d, want 0", r.DS[1].First)
	}
}

func TestIndependentCopyOfEmbeddedSubsegment(t *testing.T) {
	seg := func(subEnd float64) tdoc {
		return tdoc{root: tent{id: 1, start: 1, end: 5, kids: []tent{{id: 2, start: 2, end: subEnd}}}}
	}
	ind := func(end float64) tdoc {
		return tdoc{independent: true, parent: 1, root: tent{id: 2, start: 2, end: end}}
	}

	// The independent, complete copy replaces the embedded in-progress one.
	r, ents := resolveAll(seg(0), ind(3))
	wantLive(t, r, true, true)
	emb := ents[2][0]
	if r.DS[1].Repl != emb || r.ES[emb].ReplacedBy != 1 || r.DS[1].Host != 0 || r.DS[1].Attach != -1 {
		t.Errorf("DS[1] = %+v, ES[embedded] = %+v: want the independent copy in the embedded one's place", r.DS[1], r.ES[emb])
	}
	if !r.ES[emb].Hidden {
		t.Error("the replaced embedded copy is indexed")
	}
	if g, ok := r.Lookup(2); !ok || g != r.Docs[1].Root {
		t.Errorf("Lookup(2) = %d, %v, want the independent copy %d", g, ok, r.Docs[1].Root)
	}

	// An in-progress independent copy loses to a complete embedded one.
	r, ents = resolveAll(seg(3), ind(0))
	wantLive(t, r, true, false)
	if emb := ents[2][0]; r.ES[emb].ReplacedBy != -1 || r.ES[emb].Hidden {
		t.Errorf("ES[embedded] = %+v, want it kept", r.ES[emb])
	}

	// The segment is resent without the subsegment: the embedded copy is
	// not rendered, so the independent one stays, nested by parent_id.
	resent := tdoc{root: tent{id: 1, start: 1, end: 5}}
	r, _ = resolveAll(seg(3), ind(0), resent)
	wantLive(t, r, false, true, true)
	if r.DS[1].Repl != -1 || r.DS[1].Attach != r.Docs[2].Root || r.DS[1].Host != 2 {
		t.Errorf("DS[1] = %+v, want it nested under the resent segment", r.DS[1])
	}
}

func TestNestingAtAnyDepth(t *testing.T) {
	seg := tdoc{root: tent{id: 1, start: 1, end: 9, kids: []tent{{id: 2, start: 2, end: 8, kids: []tent{{id: 3, start: 3, end: 7}}}}}}
	a := tdoc{independent: true, parent: 3, root: tent{id: 4, start: 4, end: 5}}
	b := tdoc{independent: true, parent: 4, root: tent{id: 5, start: 4, end: 5}} // under another independent one
	orphan := tdoc{independent: true, parent: 99, root: tent{id: 6, start: 4, end: 5}}
	r, ents := resolveAll(b, seg, a, orphan)
	wantLive(t, r, true, true, true, true)
	if r.DS[2].Attach != ents[3][0] || r.DS[2].Host != 1 {
		t.Errorf("a: %+v, want under entity 3 of the segment", r.DS[2])
	}
	if r.DS[0].Attach != r.Docs[2].Root || r.DS[0].Host != 2 {
		t.Errorf("b: %+v, want under a", r.DS[0])
	}
	if r.DS[3].Attach != -1 || r.DS[3].Host != -1 {
		t.Errorf("orphan: %+v, want top-level", r.DS[3])
	}
}

func TestLambdaInvocation(t *testing.T) {
	fn := tdoc{lambda: true, root: tent{id: 1, name: "fn", start: 10, end: 30, kids: []tent{
		{id: 2, name: "Initialization", start: 10, end: 12},
		{id: 3, name: "Invocation", start: 12, end: 20},
	}}}
	in := tdoc{independent: true, parent: 1, root: tent{id: 4, name: "DynamoDB", start: 15, end: 16}}
	after := tdoc{independent: true, parent: 1, root: tent{id: 5, name: "S3", start: 25, end: 26}}
	r, ents := resolveAll(fn, in, after)
	if r.DS[1].Attach != ents[3][0] || r.DS[1].Host != 0 {
		t.Errorf("within Invocation: %+v, want under Invocation (entity %d)", r.DS[1], ents[3][0])
	}
	if r.DS[2].Attach != r.Docs[0].Root {
		t.Errorf("after Invocation: %+v, want under the function segment's root", r.DS[2])
	}

	// Not a Lambda function segment: no move.
	fn.lambda = false
	r, _ = resolveAll(fn, in)
	if r.DS[1].Attach != r.Docs[0].Root {
		t.Errorf("plain segment: %+v, want under its root", r.DS[1])
	}
}

func TestParentCycleIsBroken(t *testing.T) {
	a := tdoc{independent: true, parent: 2, root: tent{id: 1, start: 1, end: 2}}
	b := tdoc{independent: true, parent: 1, root: tent{id: 2, start: 1, end: 2}}
	r, _ := resolveAll(a, b)
	wantLive(t, r, true, true)
	top := 0
	for d := range r.DS {
		if r.DS[d].Host < 0 {
			top++
		}
	}
	if top != 1 {
		t.Errorf("DS = %+v: want exactly one of the loop made top-level", r.DS)
	}
}

func TestPrefixIgnoresLaterArrivals(t *testing.T) {
	open := tdoc{root: tent{id: 1, start: 1}}
	done := tdoc{root: tent{id: 1, start: 1, end: 2, kids: []tent{{id: 2, start: 1, end: 2}}}}
	r, _ := load(open, done)
	r.Resolve(1)
	wantLive(t, r, true)
	if len(r.ES) != 1 {
		t.Errorf("len(ES) = %d, want the first document's 1 entity", len(r.ES))
	}
	r.Resolve(2)
	wantLive(t, r, false, true)
}

func TestGhostsAreNeverIndexed(t *testing.T) {
	r, ents := load(tdoc{root: tent{id: 1, start: 1, end: 2, kids: []tent{{id: 2, start: 1, end: 2}}}})
	r.Ents[ents[2][0]].Ghost = true
	r.Resolve(1)
	if _, ok := r.Lookup(2); ok || !r.ES[ents[2][0]].Hidden {
		t.Error("a ghost entity is indexed")
	}
}
