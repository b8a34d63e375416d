package summary

import (
	"slices"

	"github.com/counterspy/counterspy/internal/resolve"
	"github.com/counterspy/counterspy/internal/segment"
)

// Which documents make the trace and where each hangs is the rule of package
// resolve, which assemble.Compile applies to the stored bytes too: the
// summary describes exactly the trace BatchGetTraces returns. The Builder
// describes its decoded documents to b.rs (load) and derives from its answer
// what the summary needs: which entities are in the trace (render) and what
// each hangs under (link).

// ent is what the summary adds to the resolution of one entity (b.rs.Ents and
// b.rs.ES hold the rest, same index).
type ent struct {
	e *segment.Entity
	// skip: not part of the resolved trace (replaced subtree, or a
	// document that lost). It differs from b.rs.ES[g].Hidden only when a
	// parent loop undoes a replacement: the copy is rendered again,
	// unindexed.
	skip bool
	// up is the entity this one hangs under in the resolved trace: the
	// enclosing entity, the attach point of an independent subsegment, or
	// for a real segment the entity its parent_id names (-1: none).
	up int32
	// node owns the entity (-1: none; -2: not yet known).
	node int32
	// segChild: some real segment names this entity as its parent_id.
	segChild bool
}

// doc is one input document (b.rs.Docs and b.rs.DS hold its resolution).
type doc struct {
	seg      *segment.Segment
	received int64
}

// load flattens the documents into b.docs, b.ents and the resolver's input.
func (b *Builder) load(docs []Doc) {
	r := &b.rs
	r.Reset()
	n := 0
	for i := range docs {
		if s := docs[i].Seg; s != nil {
			n += len(s.Entities)
		}
	}
	// Both entity arrays are sized once and written in place.
	b.ents = slices.Grow(b.ents[:0], n)[:n]
	r.Ents = slices.Grow(r.Ents, n)[:n]
	g := int32(0)
	for i := range docs {
		d := &docs[i]
		b.firstSeen(d.Received)
		s := d.Seg
		if s == nil || len(s.Entities) == 0 {
			continue
		}
		root := g
		b.docs = append(b.docs, doc{seg: s, received: d.Received})
		r.Docs = append(r.Docs, resolve.Doc{Root: root, N: int32(len(s.Entities)), ParentID: s.ParentID,
			Independent: s.Independent, LambdaFn: !s.Independent && s.Entities[0].Origin == "AWS::Lambda::Function"})
		di := int32(len(b.docs) - 1)
		for j := range s.Entities {
			e := &s.Entities[j]
			p := e.Parent
			if j == 0 || p < 0 || int(p) >= j {
				p = -1 // only pre-order parents are trusted: no loops
				if j != 0 {
					p = root
				}
			} else {
				p += root
			}
			b.ents[g] = ent{e: e, up: -1, node: -2}
			// Decoding requires start_time, so every entity has a start.
			r.Ents[g] = resolve.Ent{ID: e.ID, Start: e.Start, End: e.End, Doc: di, Parent: p,
				HasStart: true, Complete: !e.InProgress, Invocation: e.Name == "Invocation"}
			g++
		}
	}
}

func (b *Builder) firstSeen(t int64) {
	if !b.seen {
		b.first, b.last, b.seen = t, t, true
		return
	}
	b.first, b.last = min(b.first, t), max(b.last, t)
}

func (b *Builder) resolve() {
	b.rs.Resolve(len(b.docs))
	b.render()
	b.link()
}

// render decides which entities the resolved trace holds, and marks those
// that a real segment names as its parent_id.
func (b *Builder) render() {
	r := &b.rs
	for d := range r.Docs {
		dv, live := &r.Docs[d], r.DS[d].Live
		for g := dv.Root; g < dv.Root+dv.N; g++ {
			b.ents[g].skip = !live || g != dv.Root && (r.ES[g].ReplacedBy >= 0 || b.ents[r.Ents[g].Parent].skip)
		}
	}
	// Compile keys this by ID: with an ID rendered twice, both copies count.
	for d := range r.Docs {
		if dv := &r.Docs[d]; r.DS[d].Live && !dv.Independent && dv.ParentID != 0 {
			if g, ok := r.Lookup(dv.ParentID); ok {
				b.ents[g].segChild = true
			}
		}
	}
	if !r.DupIDs {
		return
	}
	marked := b.marked[:0]
	for d := range r.Docs {
		if dv := &r.Docs[d]; r.DS[d].Live && !dv.Independent && dv.ParentID != 0 {
			marked = append(marked, dv.ParentID)
		}
	}
	slices.Sort(marked)
	for g := range b.ents {
		if ev := &b.ents[g]; !ev.skip {
			_, ev.segChild = slices.BinarySearch(marked, r.Ents[g].ID)
		}
	}
	b.marked = marked
}

// link sets every resolved entity's up pointer.
func (b *Builder) link() {
	r := &b.rs
	for d := range r.Docs {
		dv, ds := &r.Docs[d], &r.DS[d]
		if !ds.Live {
			continue
		}
		for g := dv.Root + 1; g < dv.Root+dv.N; g++ {
			if ev := &b.ents[g]; !ev.skip {
				ev.up = r.Ents[g].Parent
			}
		}
		rv := &b.ents[dv.Root]
		switch {
		case !dv.Independent:
			// A segment naming itself or its own subsegment as parent
			// would loop; it is treated as having no parent.
			if p, ok := r.Lookup(dv.ParentID); ok && dv.ParentID != 0 && r.Ents[p].Doc != int32(d) {
				rv.up = p
			}
		case ds.Attach >= 0:
			rv.up = ds.Attach
		case ds.Repl >= 0:
			rv.up = r.Ents[ds.Repl].Parent
		}
	}
}

// orphan reports whether live document d is an independent subsegment whose
// parent never arrived (or whose parents loop): it hangs under nothing.
func (b *Builder) orphan(d int32) bool {
	ds := &b.rs.DS[d]
	return b.rs.Docs[d].Independent && ds.Attach < 0 && ds.Repl < 0
}
