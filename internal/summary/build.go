package summary

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/counterspy/counterspy/internal/resolve"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Doc is one stored document of a trace.
type Doc struct {
	Seg *segment.Segment
	// Received is when the document arrived, Unix nanoseconds.
	Received int64
}

var builders = sync.Pool{New: func() any { return new(Builder) }}

// Build computes the summary of trace id from its documents, given in
// arrival order with duplicates and superseded versions included (they are
// resolved by package resolve, as assemble.Compile resolves them).
// prevRevision is the revision of the summary this one replaces (0 for a new
// trace). It uses a pooled Builder.
func Build(id xrayid.TraceID, docs []Doc, prevRevision uint32) *Summary {
	b := builders.Get().(*Builder)
	s := b.Build(id, docs, prevRevision)
	b.release()
	builders.Put(b)
	return s
}

// Builder computes summaries, keeping its working memory between calls. It
// is not safe for concurrent use; the zero value is ready.
type Builder struct {
	id   xrayid.TraceID
	docs []doc
	ents []ent
	// rs resolves the trace (package resolve); docs and ents are indexed
	// as its Docs and Ents.
	rs     resolve.Resolver
	marked []xrayid.SegmentID
	stack  []int32

	seen        bool
	first, last int64
	entry       int32 // the entry segment's entity, -1 if none

	g graphScratch
	t traceScratch
	r rcScratch
}

// Build computes the summary of trace id; see the package-level Build. The
// result shares no memory with b, and none with docs but strings. Revision
// is prevRevision+1 (it stays at the maximum once there).
func (b *Builder) Build(id xrayid.TraceID, docs []Doc, prevRevision uint32) *Summary {
	b.reset(id)
	s := &Summary{TraceID: id, Revision: prevRevision + 1, Documents: uint32(min(uint64(len(docs)), math.MaxUint32)), Entry: -1}
	if prevRevision == math.MaxUint32 {
		s.Revision = prevRevision
	}
	b.load(docs)
	s.FirstSeen, s.LastSeen = b.first, b.last
	b.resolve()
	b.graph(s)
	b.traceLevel(s)
	b.rootCauses(s)
	return s
}

func (b *Builder) reset(id xrayid.TraceID) {
	b.id = id
	b.docs, b.ents, b.stack = b.docs[:0], b.ents[:0], b.stack[:0]
	b.seen, b.first, b.last, b.entry = false, 0, 0, -1
	b.g.reset()
	b.t.reset()
	b.r.reset()
}

// release drops references to the documents of the last build, and memory
// an unusually large trace made the Builder grow, before pooling. (A Builder
// used directly keeps them until its next Build.)
func (b *Builder) release() {
	clear(b.docs)
	clear(b.ents)
	b.g.release()
	b.t.release()
	b.r.release()
	b.rs.Release()
	const big = 1 << 14
	if cap(b.ents) > big {
		b.docs, b.ents = nil, nil
	}
}

// owner returns the node that owns resolved entity g: the node of the real
// segment it ultimately hangs under, or -1. Real segment roots must already
// have their node.
func (b *Builder) owner(g int32) int32 {
	b.stack = b.stack[:0]
	x := g
	node := int32(-1)
	for steps := 0; x >= 0 && steps <= len(b.ents); steps++ {
		ev := &b.ents[x]
		if ev.node != -2 {
			node = ev.node
			break
		}
		if b.isSegmentRoot(x) {
			break // a real segment without a node: cannot happen
		}
		b.stack = append(b.stack, x)
		x = ev.up
	}
	for _, y := range b.stack {
		b.ents[y].node = node
	}
	return node
}

// isSegmentRoot reports whether g is the root of a real (not independent)
// segment document.
func (b *Builder) isSegmentRoot(g int32) bool {
	dv := &b.rs.Docs[b.rs.Ents[g].Doc]
	return dv.Root == g && !dv.Independent
}

// byStart orders entities by start time, then ID, then arrival.
func (b *Builder) byStart(x, y int32) int {
	ex, ey := &b.rs.Ents[x], &b.rs.Ents[y]
	return cmp.Or(cmp.Compare(ex.Start, ey.Start), cmp.Compare(ex.ID, ey.ID), cmp.Compare(x, y))
}

func (b *Builder) sortByStart(s []int32) { slices.SortFunc(s, b.byStart) }

func callOf(e *segment.Entity) Call {
	return Call{ID: e.ID, Start: e.Start, End: e.End, InProgress: e.InProgress,
		Error: e.Error, Fault: e.Fault, Throttle: e.Throttle, Status: e.HTTP.Status}
}

func httpOf(h *segment.HTTP) HTTP {
	return HTTP{URL: h.URL, Method: h.Method, UserAgent: h.UserAgent, ClientIP: h.ClientIP, Status: h.Status}
}

// aggregate computes the precomputed flags and response time of a node's
// requests or an edge's calls. Decoding recomputes them with it too.
func aggregate(calls []Call) (ok, isErr, fault, throttle bool, rt float64) {
	for i := range calls {
		c := &calls[i]
		isErr, fault, throttle = isErr || c.Error, fault || c.Fault, throttle || c.Throttle
		if c.InProgress {
			continue
		}
		ok = ok || !c.Error && !c.Fault && !c.Throttle
		rt = max(rt, c.End-c.Start)
	}
	return
}

func (n *Node) aggregate() {
	n.Ok, n.Error, n.Fault, n.Throttle, n.ResponseTime = aggregate(n.Requests)
}

func (e *Edge) aggregate() {
	e.Ok, e.Error, e.Fault, e.Throttle, e.ResponseTime = aggregate(e.Calls)
}

// carve cuts the next n elements off *buf, capacity-limited so an append
// to one piece cannot overwrite the next. n == 0 gives nil.
func carve[T any](buf *[]T, n int) []T {
	if n == 0 {
		return nil
	}
	s := (*buf)[:n:n]
	*buf = (*buf)[n:]
	return s
}

// growTo returns s with length n, reusing its memory when it can.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
