package assemble

import (
	"github.com/counterspy/counterspy/internal/xrayid"
)

// How documents are resolved (in_progress and independent subsegments:
// https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html;
// Lambda's function segment: https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html):
//
//   - Every document is keyed by its "id". A complete one supersedes an
//     in-progress one whatever the arrival order; otherwise the later arrival
//     wins. Identical duplicates therefore collapse.
//   - An independent subsegment ("type":"subsegment") whose ID also appears
//     embedded in another document competes with that copy by the same rule:
//     if it wins it takes the embedded copy's place, else it is dropped.
//     Should the winning embedded copy sit inside a subtree that is itself
//     replaced or dropped, the independent one is kept instead: resends in
//     odd shapes keep an extra copy rather than lose one.
//   - Other independent subsegments are nested under the entity whose "id"
//     equals their parent_id, at any depth and in any document, including
//     another independent subsegment. When that entity is the root of an
//     AWS::Lambda::Function segment that has an "Invocation" subsegment whose
//     time range holds the subsegment's start, they go under Invocation.
//   - Independent subsegments whose parent never arrived, or whose parents
//     form a cycle, are returned as top-level documents, unchanged.

// docState is the resolution of one document in the current build.
type docState struct {
	best   int32 // best embedded copy of this document's ID, -1 if none
	repl   int32 // embedded entity this document replaces, -1 if none
	attach int32 // entity this document is nested under, -1 if none
	host   int32 // document that contains this one, -1 for top-level
	live   bool
	mark   uint8 // cycle detection
}

// entState is the resolution of one entity in the current build.
type entState struct {
	replacedBy int32 // document rendered in this entity's place, -1 if none
	kidFirst   int32 // nested documents: kids[kidFirst : kidFirst+kidN]
	kidN       int32
	skip       bool // not rendered: inside a replaced subtree or a ghost
	dirty      bool // must be re-rendered
}

// kid is a document nested under entity ent.
type kid struct {
	ent, doc int32
	start    float64
	id       xrayid.SegmentID
}

// invocation is an "Invocation" subsegment directly under a Lambda function
// segment's root entity fn.
type invocation struct{ fn, ent int32 }

// build compiles the first k readable documents into c.out.
func (c *Compiler) build(trace xrayid.TraceID, k int) {
	c.resetBuild(k)
	c.pickWinners(k)
	c.resolveEmbedded(k)
	c.indexEntities(k)
	c.place(k)
	c.breakCycles(k)
	c.collectKids(k)
	c.walkAndRender(trace, k)
}

func (c *Compiler) resetBuild(k int) {
	c.ds = resize(c.ds, k)
	for i := range c.ds {
		c.ds[i] = docState{best: -1, repl: -1, attach: -1, host: -1}
	}
	nEnts := len(c.ents)
	if k < len(c.docs) {
		nEnts = int(c.docs[k].root)
	}
	c.es = resize(c.es, nEnts)
	for i := range c.es {
		c.es[i] = entState{replacedBy: -1}
	}
	c.winner = resetMap(c.winner)
	c.index = resetMap(c.index)
	c.segParents = resetMap(c.segParents)
	c.kids, c.invocs, c.inferred = c.kids[:0], c.invocs[:0], c.inferred[:0]
	c.buf, c.out = c.buf[:0], c.out[:0]
	c.minStart, c.maxEnd, c.hasStart = 0, 0, false
}

// supersedes reports whether entity a wins over entity b (rule 1). Entities
// are numbered in arrival order, then in document order.
func (c *Compiler) supersedes(a, b int32) bool {
	if ca, cb := c.ents[a].complete, c.ents[b].complete; ca != cb {
		return ca
	}
	return a > b
}

func (c *Compiler) pickWinners(k int) {
	for d := range int32(k) {
		root := c.docs[d].root
		id := c.ents[root].id
		if w, ok := c.winner[id]; ok && !c.supersedes(root, c.docs[w].root) {
			continue
		}
		c.winner[id] = d
	}
	for _, d := range c.winner {
		c.ds[d].live = true
	}
}

// resolveEmbedded settles independent subsegments that also arrived embedded.
func (c *Compiler) resolveEmbedded(k int) {
	contested := false
	for d := range int32(k) {
		if !c.ds[d].live {
			continue
		}
		root, n := c.docs[d].root, c.docs[d].nEnts
		for e := root + 1; e < root+n; e++ {
			ev := &c.ents[e]
			w, ok := c.winner[ev.id]
			if !ok || ev.ghost || w == d || !c.docs[w].independent {
				continue
			}
			if b := c.ds[w].best; b < 0 || c.supersedes(e, b) {
				c.ds[w].best = e
				contested = true
			}
		}
	}
	if !contested {
		return
	}
	for w := range int32(k) {
		if e := c.ds[w].best; e >= 0 {
			if c.supersedes(c.docs[w].root, e) {
				c.ds[w].repl, c.es[e].replacedBy = e, w
			} else {
				c.ds[w].live = false
			}
		}
	}
	// Decisions made against a copy that is not rendered after all are
	// undone, in document order.
	for w := range int32(k) {
		if e := c.ds[w].best; e >= 0 && c.shadowed(e) {
			if c.ds[w].repl >= 0 {
				c.es[e].replacedBy = -1
			}
			c.ds[w].repl, c.ds[w].live = -1, true
		}
	}
}

// shadowed reports whether embedded entity e will not be rendered: its
// document is dropped or one of its ancestors is replaced.
func (c *Compiler) shadowed(e int32) bool {
	if !c.ds[c.ents[e].doc].live {
		return true
	}
	for p := c.ents[e].parent; p >= 0; p = c.ents[p].parent {
		if c.es[p].replacedBy >= 0 {
			return true
		}
	}
	return false
}

// indexEntities maps every rendered entity's ID to it (the first one wins
// should an ID repeat) and notes the parent_id of every real segment.
func (c *Compiler) indexEntities(k int) {
	for d := range int32(k) {
		if !c.ds[d].live {
			continue
		}
		dv := &c.docs[d]
		if !dv.independent && dv.parentID != 0 {
			c.segParents[dv.parentID] = true
		}
		for e := dv.root; e < dv.root+dv.nEnts; e++ {
			ev := &c.ents[e]
			if e != dv.root && (ev.ghost || c.es[e].replacedBy >= 0 || c.es[ev.parent].skip) {
				c.es[e].skip = true
				continue
			}
			if _, dup := c.index[ev.id]; !dup && ev.id != 0 {
				c.index[ev.id] = e
			}
		}
	}
}

// place decides where each live independent subsegment goes.
func (c *Compiler) place(k int) {
	lambda := false
	for d := range int32(k) {
		ds, dv := &c.ds[d], &c.docs[d]
		if !ds.live || !dv.independent {
			continue
		}
		if ds.repl >= 0 {
			ds.host = c.ents[ds.repl].doc
			continue
		}
		p, ok := c.index[dv.parentID]
		if !ok || c.ents[p].doc == d {
			continue // the parent never arrived: top-level
		}
		ds.attach, ds.host = p, c.ents[p].doc
		lambda = lambda || c.isLambdaRoot(p)
	}
	if lambda {
		c.toInvocations(k)
	}
}

// toInvocations moves subsegments nested under a Lambda function segment's
// root into the Invocation subsegment whose time range holds their start
// (that is where X-Ray shows the function's own SDK subsegments:
// https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html).
func (c *Compiler) toInvocations(k int) {
	for d := range int32(k) {
		dv := &c.docs[d]
		if !c.ds[d].live || dv.independent || !dv.lambdaFn {
			continue
		}
		rv := &c.ents[dv.root]
		for el := rv.elems; el < rv.elems+rv.nElems; el++ {
			e := c.elems[el].ent
			if e < 0 || c.es[e].skip && c.es[e].replacedBy < 0 {
				continue
			}
			if w := c.es[e].replacedBy; w >= 0 {
				e = c.docs[w].root
			}
			if c.isInvocation(e) {
				c.invocs = append(c.invocs, invocation{fn: dv.root, ent: e})
			}
		}
	}
	for d := range int32(k) {
		if a := c.ds[d].attach; a >= 0 && c.isLambdaRoot(a) && c.isInvocation(c.docs[d].root) {
			c.invocs = append(c.invocs, invocation{fn: a, ent: c.docs[d].root})
		}
	}
	for d := range int32(k) {
		ds := &c.ds[d]
		root := c.docs[d].root
		if ds.attach < 0 || !c.ents[root].hasStart || c.isInvocation(root) {
			continue
		}
		start := c.ents[root].start
		for _, inv := range c.invocs {
			iv := &c.ents[inv.ent]
			if inv.fn != ds.attach || inv.ent == root || !iv.hasStart || start < iv.start ||
				iv.complete && start > iv.end {
				continue
			}
			ds.attach, ds.host = inv.ent, iv.doc
			break
		}
	}
}

func (c *Compiler) isLambdaRoot(e int32) bool {
	dv := &c.docs[c.ents[e].doc]
	return dv.lambdaFn && !dv.independent && dv.root == e
}

func (c *Compiler) isInvocation(e int32) bool {
	ev := &c.ents[e]
	return tokenIs(c.docs[ev.doc].raw, ev.name, "Invocation", &c.tmp)
}

// breakCycles makes any document whose chain of hosts loops top-level
// (only odd data loops: A's parent inside B and B's parent inside A).
func (c *Compiler) breakCycles(k int) {
	const (
		unseen = iota
		onPath
		done
	)
	for d := range int32(k) {
		c.stack = c.stack[:0]
		x := d
		for x >= 0 && c.ds[x].mark == unseen {
			c.ds[x].mark = onPath
			c.stack = append(c.stack, x)
			x = c.ds[x].host
		}
		if x >= 0 && c.ds[x].mark == onPath {
			ds := &c.ds[x]
			if ds.repl >= 0 {
				c.es[ds.repl].replacedBy = -1
			}
			ds.repl, ds.attach, ds.host = -1, -1, -1
		}
		for _, y := range c.stack {
			c.ds[y].mark = done
		}
	}
}

// collectKids groups nested documents by parent entity, ordered by start
// then ID so the output does not depend on arrival order.
func (c *Compiler) collectKids(k int) {
	for d := range int32(k) {
		if a := c.ds[d].attach; a >= 0 && c.ds[d].live {
			root := &c.ents[c.docs[d].root]
			c.kids = append(c.kids, kid{ent: a, doc: d, start: root.start, id: root.id})
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
