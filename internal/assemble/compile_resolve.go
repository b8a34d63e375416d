package assemble

import (
	"slices"

	"github.com/counterspy/counterspy/internal/resolve"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Which stored documents make the trace and where each hangs is the rule of
// package resolve, which summary.Build applies too: Compile describes its
// scanned documents to a resolve.Resolver (fillResolver) and renders its
// answer.

// entState is what rendering adds to the resolution of one entity.
type entState struct {
	kidFirst int32 // nested documents: kids[kidFirst : kidFirst+kidN]
	kidN     int32
	dirty    bool // must be re-rendered
}

// kid is a document nested under entity ent.
type kid struct {
	ent, doc int32
	start    float64
	id       xrayid.SegmentID
}

// fillResolver describes the scanned documents to c.r, once per Compile.
func (c *Compiler) fillResolver() {
	r := &c.r
	r.Reset()
	for i := range c.docs {
		dv := &c.docs[i]
		r.Docs = append(r.Docs, resolve.Doc{Root: dv.root, N: dv.nEnts, ParentID: dv.parentID,
			Independent: dv.independent, LambdaFn: dv.lambdaFn && !dv.independent})
	}
	for i := range c.ents {
		ev := &c.ents[i]
		r.Ents = append(r.Ents, resolve.Ent{ID: ev.id, Start: ev.start, End: ev.end, Doc: ev.doc, Parent: ev.parent,
			HasStart: ev.hasStart, Complete: ev.complete, Ghost: ev.ghost})
	}
	// Invocation is read on the roots of independent subsegments and the
	// direct children of a Lambda function segment's root, and only when
	// the trace has a Lambda function segment: only those names are
	// compared.
	if !slices.ContainsFunc(r.Docs, func(d resolve.Doc) bool { return d.LambdaFn }) {
		return
	}
	for i := range r.Docs {
		dv := &r.Docs[i]
		switch {
		case dv.Independent:
			c.markInvocation(dv.Root)
		case dv.LambdaFn:
			for e := dv.Root + 1; e < dv.Root+dv.N; e++ {
				if r.Ents[e].Parent == dv.Root {
					c.markInvocation(e)
				}
			}
		}
	}
}

func (c *Compiler) markInvocation(e int32) {
	ev := &c.ents[e]
	c.r.Ents[e].Invocation = tokenIs(c.docs[ev.doc].raw, ev.name, "Invocation", &c.tmp)
}

// build compiles the first k readable documents into c.out.
func (c *Compiler) build(trace xrayid.TraceID, k int) {
	c.r.Resolve(k)
	c.resetBuild()
	c.collectSegParents(k)
	c.collectKids(k)
	c.walkAndRender(trace, k)
}

func (c *Compiler) resetBuild() {
	c.es = resize(c.es, len(c.r.ES))
	clear(c.es)
	c.segParents = resetMap(c.segParents)
	c.kids, c.inferred = c.kids[:0], c.inferred[:0]
	c.buf, c.out = c.buf[:0], c.out[:0]
	c.minStart, c.maxEnd, c.hasStart = 0, 0, false
}

// collectSegParents notes the parent_id of every real segment: those
// subsegments get no inferred segment.
func (c *Compiler) collectSegParents(k int) {
	for d := range int32(k) {
		if dv := &c.docs[d]; c.r.DS[d].Live && !dv.independent && dv.parentID != 0 {
			c.segParents[dv.parentID] = true
		}
	}
}

// collectKids groups nested documents by parent entity, ordered by start
// then ID so the output does not depend on arrival order.
func (c *Compiler) collectKids(k int) {
	for d := range int32(k) {
		if ds := &c.r.DS[d]; ds.Attach >= 0 && ds.Live {
			root := &c.ents[c.docs[d].root]
			c.kids = append(c.kids, kid{ent: ds.Attach, doc: d, start: root.start, id: root.id})
		}
	}
	if len(c.kids) == 0 {
		return
	}
	sortKids(c.kids)
	for i := range c.kids {
		es := &c.es[c.kids[i].ent]
		if es.kidN == 0 {
			es.kidFirst = int32(i)
		}
		es.kidN++
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func resetMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return make(map[K]V)
	}
	clear(m)
	return m
}
