package summary

import (
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The resolution below is the one assemble.Compile applies to the stored
// bytes (internal/assemble/compile_resolve.go), redone on decoded documents:
// the summary must describe exactly the trace BatchGetTraces returns. Keep
// the two in step; TestResolveMatchesCompile compares them.
//
//   - A document's ID is won by its complete version over an in-progress one,
//     else by the later arrival.
//   - An independent subsegment whose ID also appears embedded competes with
//     the embedded copy by the same rule (unless that copy is not rendered).
//   - Other independent subsegments hang under the entity whose ID is their
//     parent_id, at any depth; under a Lambda function segment, under its
//     Invocation subsegment when that holds their start.
//   - Parentless ones and those in a cycle are top-level orphans.

// ent is one entity of the current build. Entities are numbered in arrival
// order, then document (pre-)order, as Compile numbers them.
type ent struct {
	e *segment.Entity
	// id and start are copied from e: orderings read them often and the
	// entity itself is large.
	id    xrayid.SegmentID
	start float64
	doc   int32
	// parent is the enclosing entity in the same document, -1 for a root.
	parent int32
	// replacedBy is the independent document rendered in this embedded
	// entity's place, -1 if none.
	replacedBy int32
	// hidden: left out of the ID index (inside a replaced subtree when the
	// index was built); skip: not part of the resolved trace (replaced
	// subtree, or a document that lost). They differ only when a parent
	// loop undoes a replacement: the copy is rendered again, unindexed.
	hidden, skip bool
	// up is the entity this one hangs under in the resolved trace: the
	// enclosing entity, the attach point of an independent subsegment, or
	// for a real segment the entity its parent_id names (-1: none).
	up int32
	// node owns the entity (-1: none; -2: not yet known).
	node int32
	// segChild: some real segment names this entity as its parent_id.
	segChild bool
}

// doc is the resolution state of one input document.
type doc struct {
	seg                      *segment.Segment
	received                 int64
	firstSeen                int32 // first document with this document's ID
	root                     int32 // first entity
	n                        int32 // number of entities
	best, repl, attach, host int32
	live                     bool
	mark                     uint8
	independent, lambdaFn    bool
}

// complete is how Compile orders versions: a finished entity wins.
func (b *Builder) complete(g int32) bool { return !b.ents[g].e.InProgress }

// supersedes reports whether entity a wins over entity b.
func (b *Builder) supersedes(a, c int32) bool {
	if ca, cc := b.complete(a), b.complete(c); ca != cc {
		return ca
	}
	return a > c
}

// load flattens the documents into b.docs and b.ents.
func (b *Builder) load(docs []Doc) {
	for i := range docs {
		d := &docs[i]
		b.firstSeen(d.Received)
		s := d.Seg
		if s == nil || len(s.Entities) == 0 {
			continue
		}
		root := int32(len(b.ents))
		b.docs = append(b.docs, doc{seg: s, received: d.Received, root: root, n: int32(len(s.Entities)),
			best: -1, repl: -1, attach: -1, host: -1,
			independent: s.Independent, lambdaFn: !s.Independent && s.Entities[0].Origin == "AWS::Lambda::Function"})
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
			b.ents = append(b.ents, ent{e: e, id: e.ID, start: e.Start, doc: di, parent: p, replacedBy: -1, up: -1, node: -2})
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
	b.pickWinners()
	b.resolveEmbedded()
	b.indexEntities()
	b.place()
	b.breakCycles()
	b.render()
	b.link()
}

func (b *Builder) pickWinners() {
	w := b.ids
	for d := range b.docs {
		root := b.docs[d].root
		id := b.ents[root].id
		b.docs[d].firstSeen = int32(d)
		if x, ok := w[id]; ok {
			if !b.supersedes(root, b.docs[x].root) {
				continue
			}
			b.docs[d].firstSeen = b.docs[x].firstSeen
		}
		w[id] = int32(d)
	}
	for _, d := range w {
		b.docs[d].live = true
	}
}

// resolveEmbedded settles independent subsegments that also arrived
// embedded. b.ids still maps document IDs to winning documents.
func (b *Builder) resolveEmbedded() {
	contested := false
	for d := range b.docs {
		dv := &b.docs[d]
		if !dv.live {
			continue
		}
		for g := dv.root + 1; g < dv.root+dv.n; g++ {
			w, ok := b.ids[b.ents[g].id]
			if !ok || w == int32(d) || !b.docs[w].independent {
				continue
			}
			if x := b.docs[w].best; x < 0 || b.supersedes(g, x) {
				b.docs[w].best = g
				contested = true
			}
		}
	}
	if !contested {
		return
	}
	for w := range b.docs {
		ds := &b.docs[w]
		if x := ds.best; x >= 0 {
			if b.supersedes(ds.root, x) {
				ds.repl, b.ents[x].replacedBy = x, int32(w)
			} else {
				ds.live = false
			}
		}
	}
	// Decisions made against a copy that is not rendered after all are
	// undone, in document order.
	for w := range b.docs {
		ds := &b.docs[w]
		if x := ds.best; x >= 0 && b.shadowed(x) {
			if ds.repl >= 0 {
				b.ents[x].replacedBy = -1
			}
			ds.repl, ds.live = -1, true
		}
	}
}

// shadowed reports whether embedded entity g will not be rendered: its
// document lost or one of its ancestors is replaced.
func (b *Builder) shadowed(g int32) bool {
	if !b.docs[b.ents[g].doc].live {
		return true
	}
	for p := b.ents[g].parent; p >= 0; p = b.ents[p].parent {
		if b.ents[p].replacedBy >= 0 {
			return true
		}
	}
	return false
}

// indexEntities maps the ID of every rendered entity to it (the first wins).
func (b *Builder) indexEntities() {
	clear(b.ids)
	for d := range b.docs {
		dv := &b.docs[d]
		if !dv.live {
			continue
		}
		for g := dv.root; g < dv.root+dv.n; g++ {
			ev := &b.ents[g]
			if g != dv.root && (ev.replacedBy >= 0 || b.ents[ev.parent].hidden) {
				ev.hidden = true
				continue
			}
			if _, dup := b.ids[ev.id]; dup {
				b.dupIDs = true
			} else if ev.id != 0 {
				b.ids[ev.id] = g
			}
		}
	}
}

// render decides which entities the resolved trace holds, and marks those
// that a real segment names as its parent_id.
func (b *Builder) render() {
	for d := range b.docs {
		dv := &b.docs[d]
		for g := dv.root; g < dv.root+dv.n; g++ {
			ev := &b.ents[g]
			ev.skip = !dv.live || g != dv.root && (ev.replacedBy >= 0 || b.ents[ev.parent].skip)
		}
	}
	// Compile keys this by ID: with an ID rendered twice, both copies count.
	for d := range b.docs {
		if dv := &b.docs[d]; dv.live && !dv.independent && dv.seg.ParentID != 0 {
			if g, ok := b.ids[dv.seg.ParentID]; ok {
				b.ents[g].segChild = true
			}
		}
	}
	if !b.dupIDs {
		return
	}
	marked := b.marked[:0]
	for d := range b.docs {
		if dv := &b.docs[d]; dv.live && !dv.independent && dv.seg.ParentID != 0 {
			marked = append(marked, dv.seg.ParentID)
		}
	}
	slices.Sort(marked)
	for g := range b.ents {
		if ev := &b.ents[g]; !ev.skip {
			_, ev.segChild = slices.BinarySearch(marked, ev.id)
		}
	}
	b.marked = marked
}

func (b *Builder) lookup(id xrayid.SegmentID) (int32, bool) {
	g, ok := b.ids[id]
	return g, ok
}

// place decides where each live independent subsegment goes.
func (b *Builder) place() {
	lambda := false
	for d := range b.docs {
		ds := &b.docs[d]
		if !ds.live || !ds.independent {
			continue
		}
		if ds.repl >= 0 {
			ds.host = b.ents[ds.repl].doc
			continue
		}
		p, ok := b.lookup(ds.seg.ParentID)
		if !ok || b.ents[p].doc == int32(d) {
			continue // the parent never arrived: top-level
		}
		ds.attach, ds.host = p, b.ents[p].doc
		lambda = lambda || b.isLambdaRoot(p)
	}
	if lambda {
		b.toInvocations()
	}
}

// toInvocations moves subsegments attached to a Lambda function segment's
// root into the Invocation subsegment whose time range holds their start.
func (b *Builder) toInvocations() {
	b.invocs = b.invocs[:0]
	for d := range b.docs {
		dv := &b.docs[d]
		if !dv.live || dv.independent || !dv.lambdaFn {
			continue
		}
		for g := dv.root + 1; g < dv.root+dv.n; g++ {
			ev := &b.ents[g]
			if ev.parent != dv.root || ev.hidden && ev.replacedBy < 0 {
				continue
			}
			x := g
			if w := ev.replacedBy; w >= 0 {
				x = b.docs[w].root
			}
			if b.isInvocation(x) {
				b.invocs = append(b.invocs, invocation{fn: dv.root, ent: x})
			}
		}
	}
	for d := range b.docs {
		if a := b.docs[d].attach; a >= 0 && b.isLambdaRoot(a) && b.isInvocation(b.docs[d].root) {
			b.invocs = append(b.invocs, invocation{fn: a, ent: b.docs[d].root})
		}
	}
	for d := range b.docs {
		ds := &b.docs[d]
		root := ds.root
		if ds.attach < 0 || b.isInvocation(root) {
			continue
		}
		start := b.ents[root].e.Start
		for _, inv := range b.invocs {
			iv := b.ents[inv.ent].e
			if inv.fn != ds.attach || inv.ent == root || start < iv.Start || !iv.InProgress && start > iv.End {
				continue
			}
			ds.attach, ds.host = inv.ent, b.ents[inv.ent].doc
			break
		}
	}
}

type invocation struct{ fn, ent int32 }

func (b *Builder) isLambdaRoot(g int32) bool {
	dv := &b.docs[b.ents[g].doc]
	return dv.lambdaFn && dv.root == g
}

func (b *Builder) isInvocation(g int32) bool { return b.ents[g].e.Name == "Invocation" }

// breakCycles makes any document whose chain of hosts loops top-level.
func (b *Builder) breakCycles() {
	const (
		unseen = iota
		onPath
		done
	)
	for d := range b.docs {
		b.stack = b.stack[:0]
		x := int32(d)
		for x >= 0 && b.docs[x].mark == unseen {
			b.docs[x].mark = onPath
			b.stack = append(b.stack, x)
			x = b.docs[x].host
		}
		if x >= 0 && b.docs[x].mark == onPath {
			ds := &b.docs[x]
			if ds.repl >= 0 {
				// The embedded copy is rendered again, next to this one.
				b.ents[ds.repl].replacedBy = -1
				b.dupIDs = true
			}
			ds.repl, ds.attach, ds.host = -1, -1, -1
		}
		for _, y := range b.stack {
			b.docs[y].mark = done
		}
	}
}

// link sets every resolved entity's up pointer.
func (b *Builder) link() {
	for d := range b.docs {
		dv := &b.docs[d]
		if !dv.live {
			continue
		}
		for g := dv.root + 1; g < dv.root+dv.n; g++ {
			if ev := &b.ents[g]; !ev.skip {
				ev.up = ev.parent
			}
		}
		rv := &b.ents[dv.root]
		switch {
		case !dv.independent:
			// A segment naming itself or its own subsegment as parent
			// would loop; it is treated as having no parent.
			if p, ok := b.lookup(dv.seg.ParentID); ok && dv.seg.ParentID != 0 && b.ents[p].doc != int32(d) {
				rv.up = p
			}
		case dv.attach >= 0:
			rv.up = dv.attach
		case dv.repl >= 0:
			rv.up = b.ents[dv.repl].parent
		}
	}
}

// orphan reports whether live document d is an independent subsegment whose
// parent never arrived (or whose parents loop): it hangs under nothing.
func (b *Builder) orphan(d int32) bool {
	dv := &b.docs[d]
	return dv.independent && dv.attach < 0 && dv.repl < 0
}
