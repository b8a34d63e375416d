package summary

import (
	"cmp"
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
)

// Root causes (https://docs.aws.amazon.com/xray/latest/api/API_FaultRootCause.html,
// API_ResponseTimeRootCause.html). The trace is a tree: every resolved entity hangs
// under the entity it is nested in or attached to, a real segment under the
// entity its parent_id names, and an inferred segment (virtual here) under
// the subsegment that made it. Walking it from the entry segment (then from
// any other parentless segment):
//
//   - a fault (error) root cause is an entity with the flag none of whose
//     children has it, wherever it is: a failure handled upstream is still a
//     root cause, only not ClientImpacting (the walk's root lacks the flag);
//   - the response-time root cause descends from the entry segment into the
//     longest child while it covers at least half of the entry's response
//     time.
//
// Services is the path of services from the walk's root down to the root
// cause's service, each with its EntityPath, as AWS returns them; so the
// root-cause service is the last one. Exceptions are listed on the root-cause
// entity only. Identical root causes (parallel calls failing alike) are kept
// once, and at most MaxRootCauses are kept per list.

// MaxRootCauses bounds each root-cause list.
const MaxRootCauses = 20

// MinCoverage is the share of the entry's response time a child must take
// for the response-time root cause to descend into it.
const MinCoverage = 0.5

const (
	kindFault uint8 = iota
	kindError
	kindTime
)

type rcScratch struct {
	first  []int32
	kids   []int32
	seen   []bool
	frames []frame
	path   []int32
	covs   []float64
	rcs    []rc
	svcs   []rcSvc
	ents   []rcEnt
	// excByID indexes the trace's exceptions by ID, built on first use.
	excByID map[string][]segment.Exception
	indexed bool
}

type frame struct{ t, next int32 }

// rc is one root cause: services svcs[svc0:svc0+nsvc].
type rc struct {
	kind       uint8
	impact     bool
	svc0, nsvc int32
}

type rcSvc struct{ node, ent0, nent int32 }

type rcEnt struct {
	t   int32
	cov float64
	exc bool // list the entity's exceptions
}

func (r *rcScratch) reset() {
	r.first, r.kids, r.frames, r.path, r.covs = r.first[:0], r.kids[:0], r.frames[:0], r.path[:0], r.covs[:0]
	r.rcs, r.svcs, r.ents = r.rcs[:0], r.svcs[:0], r.ents[:0]
	r.indexed = false
	clear(r.excByID)
}

// release drops references to the last build's exceptions.
func (r *rcScratch) release() {
	if len(r.excByID) > 1024 {
		r.excByID = nil
	}
	clear(r.excByID)
}

// Tree indexes: entities are 0..len(b.ents)-1, then the inferred segment of
// b.g.infs[k] is len(b.ents)+k.

func (b *Builder) treeEnt(t int32) *segment.Entity {
	if n := int32(len(b.ents)); t >= n {
		return b.ents[b.g.infs[t-n]].e
	}
	return b.ents[t].e
}

func (b *Builder) treeNode(t int32) int32 {
	if n := int32(len(b.ents)); t >= n {
		return b.g.infNode[t-n]
	}
	return b.ents[t].node
}

func (b *Builder) treeID(t int32) uint64 {
	if n := int32(len(b.ents)); t >= n {
		return uint64(segment.InferredSegmentID(b.rs.Ents[b.g.infs[t-n]].ID))
	}
	return uint64(b.rs.Ents[t].ID)
}

func has(e *segment.Entity, kind uint8) bool {
	if kind == kindFault {
		return e.Fault
	}
	return e.Error || e.Throttle
}

func (b *Builder) rootCauses(s *Summary) {
	if len(b.g.segs) == 0 {
		return
	}
	b.tree()
	if b.entry >= 0 {
		b.walk(b.entry)
	}
	for _, x := range b.g.segs {
		if up := b.ents[x].up; x != b.entry && (up < 0 || b.owner(up) < 0) {
			b.walk(x)
		}
	}
	b.responseTime(s)
	b.emitRootCauses(s)
}

// tree builds the children lists, each ordered by start time then ID.
func (b *Builder) tree() {
	r := &b.r
	n := int32(len(b.ents))
	total := n + int32(len(b.g.infs))
	r.first = growTo(r.first, int(total)+1)
	clear(r.first)
	parent := func(t int32) int32 {
		if t >= n {
			return b.g.infs[t-n]
		}
		if b.ents[t].skip {
			return -1
		}
		return b.ents[t].up
	}
	for t := range total {
		if p := parent(t); p >= 0 {
			r.first[p+1]++
		}
	}
	for t := range total {
		r.first[t+1] += r.first[t]
	}
	r.kids = growTo(r.kids, int(r.first[total]))
	fill := growTo(r.path, int(total))
	copy(fill, r.first[:total])
	for t := range total {
		if p := parent(t); p >= 0 {
			r.kids[fill[p]] = t
			fill[p]++
		}
	}
	r.path = fill[:0]
	for t := range total {
		if k := r.kids[r.first[t]:r.first[t+1]]; len(k) > 1 {
			slices.SortFunc(k, b.treeCmp)
		}
	}
	r.seen = growTo(r.seen, int(total))
	clear(r.seen)
}

func (b *Builder) treeCmp(x, y int32) int {
	return cmp.Or(cmp.Compare(b.treeStart(x), b.treeStart(y)), cmp.Compare(b.treeID(x), b.treeID(y)), cmp.Compare(x, y))
}

func (b *Builder) treeStart(t int32) float64 {
	if n := int32(len(b.ents)); t >= n {
		return b.rs.Ents[b.g.infs[t-n]].Start
	}
	return b.rs.Ents[t].Start
}

func (b *Builder) children(t int32) []int32 { return b.r.kids[b.r.first[t]:b.r.first[t+1]] }

// walk visits the tree under root depth first, recording fault and error
// root causes with the path that leads to them.
func (b *Builder) walk(root int32) {
	r := &b.r
	if r.seen[root] {
		return
	}
	re := b.treeEnt(root)
	r.frames = append(r.frames[:0], frame{t: root, next: r.first[root]})
	r.seen[root] = true
	b.check(re, root)
	for len(r.frames) > 0 {
		f := &r.frames[len(r.frames)-1]
		if f.next == r.first[f.t+1] {
			r.frames = r.frames[:len(r.frames)-1]
			continue
		}
		c := r.kids[f.next]
		f.next++
		if r.seen[c] {
			continue
		}
		r.seen[c] = true
		r.frames = append(r.frames, frame{t: c, next: r.first[c]})
		b.check(re, c)
	}
}

// check records t (the last frame) as a root cause of the kinds it is one of.
func (b *Builder) check(root *segment.Entity, t int32) {
	e := b.treeEnt(t)
	for _, kind := range [2]uint8{kindFault, kindError} {
		if !has(e, kind) || b.anyChildHas(t, kind) {
			continue
		}
		r := &b.r
		r.path = r.path[:0]
		for _, f := range r.frames {
			r.path = append(r.path, f.t)
		}
		b.addRootCause(kind, has(root, kind), r.path, nil)
	}
}

func (b *Builder) anyChildHas(t int32, kind uint8) bool {
	for _, c := range b.children(t) {
		if has(b.treeEnt(c), kind) {
			return true
		}
	}
	return false
}

// responseTime follows the longest child from the entry segment.
func (b *Builder) responseTime(s *Summary) {
	r := &b.r
	if b.entry < 0 || s.ResponseTime <= 0 {
		return
	}
	rt := s.ResponseTime
	r.path, r.covs = append(r.path[:0], b.entry), append(r.covs[:0], 1)
	for cur := b.entry; len(r.path) <= len(r.seen); {
		best, dur := int32(-1), 0.0
		for _, c := range b.children(cur) {
			if e := b.treeEnt(c); !e.InProgress && (best < 0 || e.End-e.Start > dur) {
				best, dur = c, e.End-e.Start
			}
		}
		if best < 0 || dur/rt < MinCoverage {
			break
		}
		r.path, r.covs = append(r.path, best), append(r.covs, dur/rt)
		cur = best
	}
	b.addRootCause(kindTime, true, r.path, r.covs)
}

// addRootCause records the root cause at the end of path (tree indexes from
// the walk's root), unless an identical one is known or the list is full.
func (b *Builder) addRootCause(kind uint8, impact bool, path []int32, covs []float64) {
	r := &b.r
	count := 0
	for i := range r.rcs {
		if r.rcs[i].kind == kind {
			count++
		}
	}
	if count >= MaxRootCauses {
		return
	}
	svc0, ent0 := len(r.svcs), len(r.ents)
	for i, t := range path {
		node := b.treeNode(t)
		if node < 0 {
			continue // cannot happen: walks start at owned segments
		}
		if len(r.svcs) == svc0 || r.svcs[len(r.svcs)-1].node != node {
			r.svcs = append(r.svcs, rcSvc{node: node, ent0: int32(len(r.ents))})
		}
		r.svcs[len(r.svcs)-1].nent++
		ce := rcEnt{t: t, exc: kind != kindTime && i == len(path)-1}
		if covs != nil {
			ce.cov = covs[i]
		}
		r.ents = append(r.ents, ce)
	}
	cur := rc{kind: kind, impact: impact, svc0: int32(svc0), nsvc: int32(len(r.svcs) - svc0)}
	for i := range r.rcs {
		if r.rcs[i].kind == kind && b.sameRootCause(&r.rcs[i], &cur) {
			r.svcs, r.ents = r.svcs[:svc0], r.ents[:ent0]
			return
		}
	}
	r.rcs = append(r.rcs, cur)
}

func (b *Builder) sameRootCause(x, y *rc) bool {
	r := &b.r
	if x.impact != y.impact || x.nsvc != y.nsvc {
		return false
	}
	for i := range x.nsvc {
		sx, sy := &r.svcs[x.svc0+i], &r.svcs[y.svc0+i]
		if sx.node != sy.node || sx.nent != sy.nent {
			return false
		}
		for j := range sx.nent {
			ex, ey := &r.ents[sx.ent0+j], &r.ents[sy.ent0+j]
			if ex.cov != ey.cov || ex.exc != ey.exc || b.entityName(ex.t) != b.entityName(ey.t) ||
				b.remote(ex.t) != b.remote(ey.t) {
				return false
			}
			if ex.exc && !sameExceptions(b.exceptions(ex.t), b.exceptions(ey.t)) {
				return false
			}
		}
	}
	return true
}

func (b *Builder) entityName(t int32) string { return b.treeEnt(t).Name }

// remote: a downstream call (or the inferred segment standing for its
// callee), or an entity whose exceptions a downstream service caused.
func (b *Builder) remote(t int32) bool {
	e := b.treeEnt(t)
	if e.Namespace == "aws" || e.Namespace == "remote" {
		return true
	}
	xs := b.exceptions(t)
	for i := range xs {
		if xs[i].Remote {
			return true
		}
	}
	return false
}

// exceptions returns an entity's exceptions; for a cause that only names
// an exception recorded elsewhere in the trace, that exception.
func (b *Builder) exceptions(t int32) []segment.Exception {
	c := &b.treeEnt(t).Cause
	if len(c.Exceptions) > 0 || c.ExceptionID == "" {
		return c.Exceptions
	}
	r := &b.r
	if !r.indexed {
		r.indexed = true
		if r.excByID == nil {
			r.excByID = make(map[string][]segment.Exception)
		}
		for x := range b.ents {
			if b.ents[x].skip {
				continue
			}
			xs := b.ents[x].e.Cause.Exceptions
			for i := range xs {
				if _, dup := r.excByID[xs[i].ID]; !dup {
					r.excByID[xs[i].ID] = xs[i : i+1]
				}
			}
		}
	}
	return r.excByID[c.ExceptionID]
}

func sameExceptions(x, y []segment.Exception) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].Type != y[i].Type || x[i].Message != y[i].Message {
			return false
		}
	}
	return true
}

func (b *Builder) emitRootCauses(s *Summary) {
	r := &b.r
	if len(r.rcs) == 0 {
		return
	}
	nexc := 0
	for _, ce := range r.ents {
		if ce.exc {
			nexc += len(b.exceptions(ce.t))
		}
	}
	rcs := make([]RootCause, len(r.rcs))
	svcs := make([]RootCauseService, len(r.svcs))
	ents := make([]RootCauseEntity, len(r.ents))
	excs := make([]RootCauseException, nexc)
	var count [3]int
	for _, x := range r.rcs {
		count[x.kind]++
	}
	s.FaultRootCauses = carve(&rcs, count[kindFault])
	s.ErrorRootCauses = carve(&rcs, count[kindError])
	s.ResponseTimeRootCauses = carve(&rcs, count[kindTime])
	var next [3]int
	for _, x := range r.rcs {
		var out *RootCause
		switch x.kind {
		case kindFault:
			out = &s.FaultRootCauses[next[x.kind]]
		case kindError:
			out = &s.ErrorRootCauses[next[x.kind]]
		default:
			out = &s.ResponseTimeRootCauses[next[x.kind]]
		}
		next[x.kind]++
		out.ClientImpacting = x.impact
		out.Services = carve(&svcs, int(x.nsvc))
		for i := range out.Services {
			sv := &r.svcs[x.svc0+int32(i)]
			n := &s.Nodes[sv.node]
			o := &out.Services[i]
			o.Name, o.Names, o.Type, o.AccountID, o.Inferred = n.Name, n.Names, n.Type, n.AccountID, n.Inferred
			o.EntityPath = carve(&ents, int(sv.nent))
			for j := range o.EntityPath {
				ce := &r.ents[sv.ent0+int32(j)]
				oe := &o.EntityPath[j]
				oe.Name, oe.Remote, oe.Coverage = b.entityName(ce.t), b.remote(ce.t), ce.cov
				if ce.exc {
					xs := b.exceptions(ce.t)
					oe.Exceptions = carve(&excs, len(xs))
					for k := range xs {
						oe.Exceptions[k] = RootCauseException{Name: xs[k].Type, Message: xs[k].Message}
					}
				}
			}
		}
	}
}
