package segment

import (
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// MaxNameLength is the longest accepted name, in characters (X-Ray's limit; the
// Go SDK truncates to it).
const MaxNameLength = 200

// MaxLinks is the most span links one segment may carry.
const MaxLinks = 20

// entityState tracks what one entity object held, for the checks that can only
// run once every key has been seen.
type entityState struct {
	hasName, hasID, hasStart, hasEnd, inProgress bool
	subsegments                                  []*fastjson.Value
}

// decodeEntity decodes the segment or subsegment o into a new entity, then its
// nested subsegments depth-first. hdr is non-nil only for a document's root.
//
// Entities are appended to d.ents, which the nested calls grow: hold indexes
// into it, never pointers, across a recursive call.
func (d *Decoder) decodeEntity(o *fastjson.Object, parent, pos int32, hdr *docHeader) *Error {
	idx := int32(len(d.ents))
	d.ents = append(d.ents, Entity{Parent: parent})
	d.pos = append(d.pos, pos)

	var st entityState
	var e *Error
	var drop []string
	o.Visit(func(k []byte, v *fastjson.Value) {
		// Visit has no early exit; the first error wins.
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		fe := d.entityField(idx, k, v, &st, hdr)
		if fe == nil {
			return
		}
		if structural(k) {
			e = fe
			return
		}
		// An optional field: keep the entity without it (repair.go).
		if d.repairField(idx, o, k, v, &st, hdr, fe) {
			drop = append(drop, string(k))
		}
	})
	if e != nil {
		return e
	}
	for _, k := range drop {
		delAll(o, k)
	}
	if e := d.checkEntity(idx, &st, hdr); e != nil {
		return e
	}
	var bad []int
	for i, sv := range st.subsegments {
		so, err := sv.Object()
		if err != nil {
			e := d.typeErr(idx, indexed("subsegments", i), "an object", sv)
			d.noteRepair(idx, indexed("subsegments", i), Dropped, reasonOf(e))
			bad = append(bad, i)
			continue
		}
		// A subsegment that cannot be kept is dropped with its own
		// subsegments; the entity holding it stays (repair.go).
		nEnts, nRepairs, nIDs := len(d.ents), len(d.repairs), len(d.ids.list)
		if e := d.decodeEntity(so, idx, int32(i), nil); e != nil {
			d.ids.truncate(nIDs)
			d.ents, d.pos, d.repairs = d.ents[:nEnts], d.pos[:nEnts], d.repairs[:nRepairs]
			d.noteRepair(idx, indexed("subsegments", i), Dropped, e.Message)
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		// Deleted after the loop: st.subsegments shares the array's storage.
		if sv := o.Get("subsegments"); sv != nil {
			for k := len(bad) - 1; k >= 0; k-- {
				sv.Del(strconv.Itoa(bad[k]))
			}
		}
	}
	return nil
}

// entityField decodes one key of an entity object. null values never get
// here: they mean absent.
func (d *Decoder) entityField(idx int32, k []byte, v *fastjson.Value, st *entityState, hdr *docHeader) *Error {
	ent := &d.ents[idx]
	var e *Error
	switch string(k) {
	case "name":
		if e = d.name(idx, v); e == nil {
			st.hasName = true
		}
	case "id":
		if ent.ID, e = d.segmentID(idx, "id", v); e == nil {
			st.hasID = true
		}
	case "start_time":
		if ent.Start, e = d.time(idx, "start_time", v); e == nil {
			st.hasStart = true
		}
	case "end_time":
		if ent.End, e = d.time(idx, "end_time", v); e == nil {
			st.hasEnd = true
		}
	case "in_progress":
		st.inProgress, e = d.boolean(idx, "in_progress", v)
	case "namespace":
		ent.Namespace, e = d.internedString(idx, "namespace", v)
	case "origin":
		ent.Origin, e = d.internedString(idx, "origin", v)
	case "user":
		ent.User, e = d.str(idx, "user", v)
	case "resource_arn":
		ent.ResourceARN, e = d.str(idx, "resource_arn", v)
	case "error":
		ent.Error, e = d.boolean(idx, "error", v)
	case "fault":
		ent.Fault, e = d.boolean(idx, "fault", v)
	case "throttle":
		ent.Throttle, e = d.boolean(idx, "throttle", v)
	case "traced":
		// The Node SDK moves http.request.traced here; either place counts.
		var b bool
		b, e = d.boolean(idx, "traced", v)
		ent.Traced = ent.Traced || b
	case "http":
		e = d.http(idx, v)
	case "aws":
		e = d.aws(idx, v)
	case "sql":
		ent.SQL, e = d.sql(idx, v)
	case "cause":
		e = d.cause(idx, v)
	case "annotations":
		ent.Annotations, e = d.annotations(idx, v)
	case "metadata":
		// Metadata is opaque (namespace → anything); only its shape is checked.
		if v.Type() != fastjson.TypeObject {
			e = d.typeErr(idx, "metadata", "an object", v)
		}
	case "subsegments":
		// Decoded after this entity's own fields, to keep pre-order indexes.
		if v.Type() != fastjson.TypeArray {
			return d.typeErr(idx, "subsegments", "an array", v)
		}
		st.subsegments, _ = v.Array()
	case "precursor_ids":
		ent.PrecursorIDs, e = d.precursorIDs(idx, v)
	case "trace_id":
		var t xrayid.TraceID
		if t, e = d.traceID(idx, "trace_id", v); e == nil && hdr != nil {
			hdr.traceID, hdr.hasTraceID = t, true
		}
		// Embedded subsegments may repeat the trace ID (Go and Python SDKs
		// do); it must be well formed but is otherwise ignored.
	case "parent_id":
		var p xrayid.SegmentID
		if p, e = d.segmentID(idx, "parent_id", v); e == nil && hdr != nil {
			hdr.parentID = p
		}
		// Embedded subsegments' parent_id is ignored: the Go SDK writes the
		// root segment's ID there even at deeper levels.
	case "type":
		var independent bool
		if independent, e = d.entityType(idx, v); e == nil && hdr != nil {
			hdr.independent = independent
		}
	case "links":
		// Trace links only count on a document's root, where the trace
		// linking documentation puts them; elsewhere they are ignored.
		if hdr != nil {
			hdr.links, e = d.links(idx, v)
		}
	}
	return e
}

// checkEntity enforces required fields and cross-field rules once every key of
// entity idx has been seen.
func (d *Decoder) checkEntity(idx int32, st *entityState, hdr *docHeader) *Error {
	switch {
	case !st.hasName:
		return d.missing(idx, "name", "")
	case !st.hasID:
		return d.missing(idx, "id", "")
	case !st.hasStart:
		return d.missing(idx, "start_time", "")
	}
	if hdr != nil {
		if !hdr.hasTraceID {
			return d.missing(idx, "trace_id", "")
		}
		if d.elem >= 0 && !hdr.independent {
			return d.missing(idx, "type", `: an array document holds independent subsegments ("type":"subsegment")`)
		}
		if hdr.independent && hdr.parentID == 0 {
			return d.missing(idx, "parent_id", " for an independent subsegment")
		}
	}
	ent := &d.ents[idx]
	switch {
	case st.hasEnd:
		// An end time means the work finished, whatever in_progress says
		// (Python sends "in_progress": false next to it; a stale true is
		// treated the same way).
		if ent.End < ent.Start {
			return d.errf(CodeInvalidSegment, idx, "end_time", "%s is before start_time %s", formatSeconds(ent.End), formatSeconds(ent.Start))
		}
	case st.inProgress:
		ent.InProgress = true
	default:
		return d.missing(idx, "end_time", " unless in_progress is true")
	}
	if !d.ids.add(ent.ID) {
		return d.errf(CodeInvalidSegment, idx, "id", "%s appears more than once in the document", ent.ID)
	}
	return nil
}

func (d *Decoder) name(idx int32, v *fastjson.Value) *Error {
	b, e := stringValue(v)
	if e != nil {
		return d.at(idx, "name", e)
	}
	if len(b) == 0 {
		return d.errf(CodeInvalidSegment, idx, "name", "must not be empty")
	}
	// The allowed character set is not enforced: SDKs sanitize names in
	// different ways, and X-Ray accepts what they send.
	if len(b) > MaxNameLength {
		if n := utf8.RuneCount(b); n > MaxNameLength {
			return d.errf(CodeInvalidSegment, idx, "name", "is %d characters; the limit is %d", n, MaxNameLength)
		}
	}
	d.ents[idx].Name = d.intern(b)
	return nil
}

// entityType checks the type field; only "subsegment" exists.
func (d *Decoder) entityType(idx int32, v *fastjson.Value) (bool, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return false, d.at(idx, "type", e)
	}
	if string(b) != "subsegment" {
		return false, d.errf(CodeInvalidSegment, idx, "type", `must be "subsegment", found %q`, clip(b))
	}
	return true, nil
}

func (d *Decoder) precursorIDs(idx int32, v *fastjson.Value) ([]xrayid.SegmentID, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, d.typeErr(idx, "precursor_ids", "an array", v)
	}
	if len(arr) == 0 {
		return nil, nil
	}
	ids := make([]xrayid.SegmentID, len(arr))
	for i, iv := range arr {
		id, e := segmentIDValue(iv)
		if e != nil {
			return nil, d.at(idx, indexed("precursor_ids", i), e)
		}
		ids[i] = id
	}
	return ids, nil
}

func (d *Decoder) links(idx int32, v *fastjson.Value) ([]Link, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, d.typeErr(idx, "links", "an array", v)
	}
	if len(arr) > MaxLinks {
		return nil, d.errf(CodeInvalidSegment, idx, "links", "has %d links; the limit is %d", len(arr), MaxLinks)
	}
	if len(arr) == 0 {
		return nil, nil
	}
	links := make([]Link, len(arr))
	for i, lv := range arr {
		lo, err := lv.Object()
		if err != nil {
			return nil, d.typeErr(idx, indexed("links", i), "an object", lv)
		}
		// attributes (and anything else) are not needed for linking.
		tv, iv := lo.Get("trace_id"), lo.Get("id")
		if tv == nil || tv.Type() == fastjson.TypeNull {
			return nil, d.missing(idx, indexed("links", i)+".trace_id", "")
		}
		if iv == nil || iv.Type() == fastjson.TypeNull {
			return nil, d.missing(idx, indexed("links", i)+".id", "")
		}
		var e *Error
		if links[i].TraceID, e = traceIDValue(tv); e != nil {
			return nil, d.at(idx, indexed("links", i)+".trace_id", e)
		}
		if links[i].ID, e = segmentIDValue(iv); e != nil {
			return nil, d.at(idx, indexed("links", i)+".id", e)
		}
	}
	return links, nil
}
