package assemble

import (
	"cmp"
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Rendering splices bytes: an entity that needs no change is copied as
// stored; one that receives nested documents is rewritten member by member,
// copying each member's bytes and the separators between them, so numbers,
// escapes, unknown fields and whitespace all survive. Only what is inserted
// is new. (A parse-and-marshal library would rewrite any string it had read
// or any object it had updated, and fastjson would then emit Go escapes such
// as \v that are not JSON.)

// walkAndRender visits what the current build returns, accumulating Duration
// and inferred segments, then renders the top-level documents into c.out.
func (c *Compiler) walkAndRender(trace xrayid.TraceID, k int) {
	for d := range int32(k) {
		if ds := &c.r.DS[d]; ds.Live && ds.Host < 0 {
			c.walk(c.docs[d].root, !c.docs[d].independent)
		}
	}
	for d := range int32(k) {
		if ds := &c.r.DS[d]; !ds.Live || ds.Host >= 0 {
			continue
		}
		dv := &c.docs[d]
		root := &c.ents[dv.root]
		o := outDoc{id: root.id, start: root.start}
		if c.es[dv.root].dirty {
			off := len(c.buf)
			c.renderEntity(dv.root, false)
			o.off, o.n = int32(off), int32(len(c.buf)-off)
		} else {
			o.alias = dv.raw
		}
		c.out = append(c.out, o)
	}
	for _, e := range c.inferred {
		if ev := &c.ents[e]; !c.segParents[ev.id] {
			off := len(c.buf)
			c.renderInferred(trace, e)
			c.out = append(c.out, outDoc{id: segment.InferredSegmentID(ev.id), start: ev.start, off: int32(off), n: int32(len(c.buf) - off)})
		}
	}
}

// walk visits entity e and everything rendered inside it, and marks the
// entities that must be re-rendered. segRoot is true for a real segment's
// root, which never yields an inferred segment.
func (c *Compiler) walk(e int32, segRoot bool) {
	ev := &c.ents[e]
	if ev.hasStart {
		end := ev.start
		if ev.complete {
			end = max(end, ev.end)
		}
		if !c.hasStart {
			c.minStart, c.maxEnd, c.hasStart = ev.start, end, true
		}
		c.minStart, c.maxEnd = min(c.minStart, ev.start), max(c.maxEnd, end)
	}
	if !segRoot && ev.id != 0 && ev.hasStart && ev.name.ok() && c.inferKind(ev) != segment.InferNone {
		c.inferred = append(c.inferred, e)
	}
	dirty := ev.strip
	for el := ev.elems; el < ev.elems+ev.nElems; el++ {
		sub := c.elems[el].ent
		if sub < 0 {
			continue
		}
		if w := c.r.ES[sub].ReplacedBy; w >= 0 {
			c.walk(c.docs[w].root, false)
			dirty = true
			continue
		}
		c.walk(sub, false)
		dirty = dirty || c.es[sub].dirty
	}
	es := c.es[e]
	for _, kd := range c.kids[es.kidFirst : es.kidFirst+es.kidN] {
		c.walk(c.docs[kd.doc].root, false)
		dirty = true
	}
	c.es[e].dirty = dirty
}

// renderEntity appends entity e to c.buf. nested drops the members that only
// an independent document carries (type, trace_id, parent_id): nested, it
// reads like a subsegment the SDK had sent embedded.
func (c *Compiler) renderEntity(e int32, nested bool) {
	ev := &c.ents[e]
	b := c.docs[ev.doc].raw
	if !c.es[e].dirty && !nested {
		c.buf = append(c.buf, ev.obj.of(b)...)
		return
	}
	hasKids := c.es[e].kidN > 0
	addSubs := hasKids && !ev.subs.ok()
	last := int32(-1)
	for m := range ev.nMembers {
		mv := c.members[ev.members+m]
		if nested && mv.flags&mNested != 0 || hasKids && mv.flags&mBadSubs != 0 || mv.flags&mInternal != 0 {
			continue
		}
		switch {
		case last < 0 && m == 0:
			c.buf = append(c.buf, b[ev.obj.s:mv.key.s]...)
		case last < 0:
			c.buf = append(c.buf, '{')
		case last == m-1:
			c.buf = append(c.buf, b[c.members[ev.members+last].val.e:mv.key.s]...)
		default:
			c.buf = append(c.buf, ',')
		}
		if mv.flags&mSubs != 0 && mv.val == ev.subs {
			c.buf = append(c.buf, b[mv.key.s:mv.val.s]...)
			c.renderSubs(e)
		} else {
			c.buf = append(c.buf, b[mv.key.s:mv.val.e]...)
		}
		last = m
	}
	if addSubs {
		if last >= 0 {
			c.buf = append(c.buf, ',')
		} else {
			c.buf = append(c.buf, '{')
		}
		c.buf = append(c.buf, `"subsegments":[`...)
		c.renderKids(e)
		c.buf = append(c.buf, ']')
	}
	switch {
	case last >= 0 && last == ev.nMembers-1:
		c.buf = append(c.buf, b[c.members[ev.members+last].val.e:ev.obj.e]...)
	case last < 0 && !addSubs:
		c.buf = append(c.buf, '{', '}')
	default:
		c.buf = append(c.buf, '}')
	}
}

// renderSubs appends e's subsegments array with replaced elements swapped
// and nested documents appended.
func (c *Compiler) renderSubs(e int32) {
	ev := &c.ents[e]
	b := c.docs[ev.doc].raw
	hasKids := c.es[e].kidN > 0
	if ev.nElems == 0 {
		if !hasKids {
			c.buf = append(c.buf, ev.subs.of(b)...)
			return
		}
		c.buf = append(c.buf, '[')
		c.renderKids(e)
		c.buf = append(c.buf, ']')
		return
	}
	prev := ev.subs.s + 1 // just past '['
	c.buf = append(c.buf, '[')
	for el := ev.elems; el < ev.elems+ev.nElems; el++ {
		ew := c.elems[el]
		c.buf = append(c.buf, b[prev:ew.s.s]...)
		switch {
		case ew.ent < 0:
			c.buf = append(c.buf, ew.s.of(b)...)
		case c.r.ES[ew.ent].ReplacedBy >= 0:
			c.renderEntity(c.docs[c.r.ES[ew.ent].ReplacedBy].root, true)
		default:
			c.renderEntity(ew.ent, false)
		}
		prev = ew.s.e
	}
	if hasKids {
		c.buf = append(c.buf, ',')
		c.renderKids(e)
	}
	c.buf = append(c.buf, b[prev:ev.subs.e]...)
}

func (c *Compiler) renderKids(e int32) {
	es := c.es[e]
	for i, kd := range c.kids[es.kidFirst : es.kidFirst+es.kidN] {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.renderEntity(c.docs[kd.doc].root, true)
	}
}

// renderInferred appends the inferred segment of subsegment e
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-inferred):
// its times, http, aws, sql, flags and cause are copied as sent.
func (c *Compiler) renderInferred(trace xrayid.TraceID, e int32) {
	ev := &c.ents[e]
	b := c.docs[ev.doc].raw
	buf := append(c.buf, `{"id":"`...)
	buf = segment.InferredSegmentID(ev.id).Append(buf)
	buf = append(buf, `","name":`...)
	buf = append(buf, ev.name.of(b)...)
	buf = append(buf, `,"start_time":`...)
	buf = append(buf, ev.startRaw.of(b)...)
	if ev.complete {
		buf = append(buf, `,"end_time":`...)
		buf = append(buf, ev.endRaw.of(b)...)
	} else {
		buf = append(buf, `,"in_progress":true`...)
	}
	buf = append(buf, `,"parent_id":"`...)
	buf = ev.id.Append(buf)
	buf = append(buf, `","inferred":true`...)
	for _, f := range [...]struct {
		key string
		val span
	}{
		{`,"http":`, ev.http}, {`,"aws":`, ev.aws}, {`,"sql":`, ev.sql},
		{`,"error":`, ev.errV}, {`,"fault":`, ev.fault}, {`,"throttle":`, ev.thr},
		{`,"cause":`, ev.cause},
	} {
		if f.val.ok() {
			buf = append(buf, f.key...)
			buf = append(buf, f.val.of(b)...)
		}
	}
	buf = append(buf, `,"trace_id":"`...)
	buf = trace.Append(buf)
	buf = append(buf, `","origin":"`...)
	if kind := c.inferKind(ev); kind == segment.InferAWS {
		// AWS::<name>: the name token's content is already JSON-escaped.
		buf = append(buf, "AWS::"...)
		buf = append(buf, b[ev.name.s+1:ev.name.e-1]...)
	} else {
		buf = append(buf, kind.NodeType()...)
	}
	c.buf = append(buf, `"}`...)
}

func sortKids(kids []kid) {
	slices.SortFunc(kids, func(a, b kid) int {
		return cmp.Or(cmp.Compare(a.ent, b.ent), cmp.Compare(a.start, b.start), cmp.Compare(a.id, b.id))
	})
}

// inferKind classifies entity ev by X-Ray's inference rule
// (segment.ClassifyInferred), reading its fields from the raw document.
func (c *Compiler) inferKind(ev *entView) segment.InferKind {
	b := c.docs[ev.doc].raw
	return segment.ClassifyInferred(tokenIs(b, ev.namespace, "aws", &c.tmp), tokenIs(b, ev.namespace, "remote", &c.tmp),
		ev.table.ok(), ev.queue.ok(), ev.bucket.ok(), ev.hasSQL)
}
