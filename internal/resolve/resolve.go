// Package resolve is the trace-resolution rule, written once: given the
// stored documents of a trace in arrival order (duplicates, superseded
// in-progress versions, subsegments streamed on their own), which copies make
// up the trace and where each one hangs.
//
// The read side (assemble.Compile, on byte spans of the stored documents) and
// the write side (summary.Build, on decoded entities) both describe their
// documents to a Resolver as flat Doc and Ent records and read its answer, so
// a trace's summary describes exactly the trace BatchGetTraces returns.
//
// The rule (in_progress and independent subsegments:
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
//     form a cycle, are top-level documents, unchanged.
package resolve

import "github.com/counterspy/counterspy/internal/xrayid"

// Doc is one readable document, as the caller describes it.
type Doc struct {
	// Root is the document's root entity; its entities are
	// Resolver.Ents[Root : Root+N], in document pre-order.
	Root, N  int32
	ParentID xrayid.SegmentID
	// Independent: "type":"subsegment".
	Independent bool
	// LambdaFn: a real segment (not Independent) with origin
	// AWS::Lambda::Function.
	LambdaFn bool
}

// Ent is one segment or subsegment object of a document. Entities are
// numbered in arrival order, then document pre-order: a later number is a
// later arrival.
type Ent struct {
	ID         xrayid.SegmentID
	Start, End float64
	// Doc is the document holding the entity; Parent the enclosing entity
	// in the same document (an earlier number), -1 for the root.
	Doc, Parent int32
	HasStart    bool
	// Complete: the entity has an end time (which wins over
	// in_progress: true, as on ingest).
	Complete bool
	// Ghost: inside a subsegments array that a repeated key overrides; it
	// is never part of the trace.
	Ghost bool
	// Invocation: named "Invocation". It is read only on the direct
	// children of a Lambda function segment's root and on the roots of
	// independent subsegments; a caller may leave it unset elsewhere.
	Invocation bool
}

// DocState is the resolution of one document.
type DocState struct {
	// Live: the document is part of the trace (it won its ID).
	Live bool
	// Repl is the embedded entity this independent document is rendered
	// in place of, -1 if none.
	Repl int32
	// Attach is the entity this independent document is nested under, -1
	// if none.
	Attach int32
	// Host is the document that contains this one (through Repl or
	// Attach), -1 for a top-level document.
	Host int32
	// First is the first arrival among the documents with this document's
	// ID that this one superseded in turn (itself if none): where a resend
	// ranks.
	First int32

	best int32 // best embedded copy of this document's ID, -1 if none
	mark uint8 // cycle detection
}

// EntState is the resolution of one entity.
type EntState struct {
	// ReplacedBy is the independent document rendered in this embedded
	// entity's place, -1 if none.
	ReplacedBy int32
	// Hidden: not indexed by ID, and not rendered unless a parent loop
	// undoes the replacement that hid it (then ReplacedBy is -1 again): a
	// ghost, a replaced entity or inside a hidden subtree.
	Hidden bool
}

// Resolver resolves traces, keeping its working memory between calls. The
// caller fills Docs and Ents, calls Resolve, then reads DS and ES (indexed
// like Docs and Ents) and Lookup. It is not safe for concurrent use; the zero
// value is ready.
type Resolver struct {
	Docs []Doc
	Ents []Ent

	DS []DocState
	ES []EntState
	// DupIDs: some ID names more than one entity of the resolved trace.
	DupIDs bool

	// ids maps document IDs to winning documents, then (from
	// indexEntities on) entity IDs to indexed entities.
	ids    map[xrayid.SegmentID]int32
	invocs []invocation
	stack  []int32
}

// invocation is an "Invocation" subsegment ent directly under a Lambda
// function segment's root entity fn.
type invocation struct{ fn, ent int32 }

// Reset empties Docs and Ents for the next trace.
func (r *Resolver) Reset() { r.Docs, r.Ents = r.Docs[:0], r.Ents[:0] }

// Release drops what a pooled Resolver should not keep: memory an unusually
// large trace made it grow.
func (r *Resolver) Release() {
	const big = 1 << 14
	if cap(r.Ents) > big {
		*r = Resolver{}
	}
}

// Resolve resolves the first k documents (and their entities), as if the
// later ones had never arrived.
func (r *Resolver) Resolve(k int) {
	r.reset(k)
	r.pickWinners(k)
	r.resolveEmbedded(k)
	r.indexEntities(k)
	r.place(k)
	r.breakCycles(k)
}

// Lookup returns the indexed entity with ID id: of the resolved trace's
// entities with that ID, the first in number order, hidden ones left out.
// Valid after Resolve.
func (r *Resolver) Lookup(id xrayid.SegmentID) (int32, bool) {
	e, ok := r.ids[id]
	return e, ok
}

func (r *Resolver) reset(k int) {
	r.DS = resize(r.DS, k) // set in pickWinners
	nEnts := len(r.Ents)
	if k < len(r.Docs) {
		nEnts = int(r.Docs[k].Root)
	}
	r.ES = resize(r.ES, nEnts)
	for i := range r.ES {
		r.ES[i] = EntState{ReplacedBy: -1}
	}
	if r.ids == nil {
		r.ids = make(map[xrayid.SegmentID]int32)
	}
	clear(r.ids)
	r.invocs, r.stack, r.DupIDs = r.invocs[:0], r.stack[:0], false
}

// supersedes reports whether entity a wins over entity b (the first rule).
func (r *Resolver) supersedes(a, b int32) bool {
	if ca, cb := r.Ents[a].Complete, r.Ents[b].Complete; ca != cb {
		return ca
	}
	return a > b
}

func (r *Resolver) pickWinners(k int) {
	for d := range int32(k) {
		r.DS[d] = DocState{best: -1, Repl: -1, Attach: -1, Host: -1, First: d}
		root := r.Docs[d].Root
		id := r.Ents[root].ID
		if w, ok := r.ids[id]; ok {
			if !r.supersedes(root, r.Docs[w].Root) {
				continue
			}
			r.DS[d].First = r.DS[w].First
		}
		r.ids[id] = d
	}
	for _, d := range r.ids {
		r.DS[d].Live = true
	}
}

// resolveEmbedded settles independent subsegments that also arrived
// embedded. r.ids still maps document IDs to winning documents.
func (r *Resolver) resolveEmbedded(k int) {
	contested := false
	for d := range int32(k) {
		if !r.DS[d].Live {
			continue
		}
		root, n := r.Docs[d].Root, r.Docs[d].N
		for e := root + 1; e < root+n; e++ {
			ev := &r.Ents[e]
			w, ok := r.ids[ev.ID]
			if !ok || ev.Ghost || w == d || !r.Docs[w].Independent {
				continue
			}
			if b := r.DS[w].best; b < 0 || r.supersedes(e, b) {
				r.DS[w].best = e
				contested = true
			}
		}
	}
	if !contested {
		return
	}
	for w := range int32(k) {
		ds := &r.DS[w]
		if e := ds.best; e >= 0 {
			if r.supersedes(r.Docs[w].Root, e) {
				ds.Repl, r.ES[e].ReplacedBy = e, w
			} else {
				ds.Live = false
			}
		}
	}
	// Decisions made against a copy that is not rendered after all are
	// undone, in document order.
	for w := range int32(k) {
		ds := &r.DS[w]
		if e := ds.best; e >= 0 && r.shadowed(e) {
			if ds.Repl >= 0 {
				r.ES[e].ReplacedBy = -1
			}
			ds.Repl, ds.Live = -1, true
		}
	}
}

// shadowed reports whether embedded entity e will not be rendered: its
// document lost or one of its ancestors is replaced.
func (r *Resolver) shadowed(e int32) bool {
	if !r.DS[r.Ents[e].Doc].Live {
		return true
	}
	for p := r.Ents[e].Parent; p >= 0; p = r.Ents[p].Parent {
		if r.ES[p].ReplacedBy >= 0 {
			return true
		}
	}
	return false
}

// indexEntities maps the ID of every rendered entity to it (the first one
// wins should an ID repeat).
func (r *Resolver) indexEntities(k int) {
	clear(r.ids)
	for d := range int32(k) {
		if !r.DS[d].Live {
			continue
		}
		dv := &r.Docs[d]
		for e := dv.Root; e < dv.Root+dv.N; e++ {
			ev := &r.Ents[e]
			if e != dv.Root && (ev.Ghost || r.ES[e].ReplacedBy >= 0 || r.ES[ev.Parent].Hidden) {
				r.ES[e].Hidden = true
				continue
			}
			if _, dup := r.ids[ev.ID]; dup {
				r.DupIDs = true
			} else if ev.ID != 0 {
				r.ids[ev.ID] = e
			}
		}
	}
}

// place decides where each live independent subsegment goes.
func (r *Resolver) place(k int) {
	lambda := false
	for d := range int32(k) {
		ds, dv := &r.DS[d], &r.Docs[d]
		if !ds.Live || !dv.Independent {
			continue
		}
		if ds.Repl >= 0 {
			ds.Host = r.Ents[ds.Repl].Doc
			continue
		}
		p, ok := r.ids[dv.ParentID]
		if !ok || r.Ents[p].Doc == d {
			continue // the parent never arrived: top-level
		}
		ds.Attach, ds.Host = p, r.Ents[p].Doc
		lambda = lambda || r.isLambdaRoot(p)
	}
	if lambda {
		r.toInvocations(k)
	}
}

// toInvocations moves subsegments nested under a Lambda function segment's
// root into the Invocation subsegment whose time range holds their start
// (that is where X-Ray shows the function's own SDK subsegments:
// https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html).
func (r *Resolver) toInvocations(k int) {
	for d := range int32(k) {
		dv := &r.Docs[d]
		if !r.DS[d].Live || !dv.LambdaFn {
			continue
		}
		for e := dv.Root + 1; e < dv.Root+dv.N; e++ {
			if r.Ents[e].Parent != dv.Root || r.ES[e].Hidden && r.ES[e].ReplacedBy < 0 {
				continue
			}
			x := e
			if w := r.ES[e].ReplacedBy; w >= 0 {
				x = r.Docs[w].Root
			}
			if r.Ents[x].Invocation {
				r.invocs = append(r.invocs, invocation{fn: dv.Root, ent: x})
			}
		}
	}
	for d := range int32(k) {
		if a := r.DS[d].Attach; a >= 0 && r.isLambdaRoot(a) && r.Ents[r.Docs[d].Root].Invocation {
			r.invocs = append(r.invocs, invocation{fn: a, ent: r.Docs[d].Root})
		}
	}
	for d := range int32(k) {
		ds := &r.DS[d]
		root := r.Docs[d].Root
		if ds.Attach < 0 || !r.Ents[root].HasStart || r.Ents[root].Invocation {
			continue
		}
		start := r.Ents[root].Start
		for _, in := range r.invocs {
			iv := &r.Ents[in.ent]
			if in.fn != ds.Attach || in.ent == root || !iv.HasStart || start < iv.Start ||
				iv.Complete && start > iv.End {
				continue
			}
			ds.Attach, ds.Host = in.ent, iv.Doc
			break
		}
	}
}

func (r *Resolver) isLambdaRoot(e int32) bool {
	dv := &r.Docs[r.Ents[e].Doc]
	return dv.LambdaFn && dv.Root == e
}

// breakCycles makes any document whose chain of hosts loops top-level
// (only odd data loops: A's parent inside B and B's parent inside A).
func (r *Resolver) breakCycles(k int) {
	const (
		unseen = iota
		onPath
		done
	)
	for d := range int32(k) {
		r.stack = r.stack[:0]
		x := d
		for x >= 0 && r.DS[x].mark == unseen {
			r.DS[x].mark = onPath
			r.stack = append(r.stack, x)
			x = r.DS[x].Host
		}
		if x >= 0 && r.DS[x].mark == onPath {
			ds := &r.DS[x]
			if ds.Repl >= 0 {
				// The embedded copy is rendered again, next to this one.
				r.ES[ds.Repl].ReplacedBy = -1
				r.DupIDs = true
			}
			ds.Repl, ds.Attach, ds.Host = -1, -1, -1
		}
		for _, y := range r.stack {
			r.DS[y].mark = done
		}
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
