package segment

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Keeping what can be kept: a document whose structure is sound (trace ID,
// ID, name, times, the nesting of its subsegments) is accepted even when an
// optional field is malformed, as X-Ray accepts it. Numbers and booleans
// sent as strings are normalized where the field's type is known (the X-Ray
// SDK for Node sends "http": {"response": {"status": ""}} after a network
// error; other SDKs and exporters send "200" or "true"); anything else
// malformed is dropped: the leaf if the decoder knows the field's shape
// (an HTTP status, one annotation), else the whole optional field. The
// stored document is the repaired one, with a note of every repair under
// metadata.counterspy.ingest_repairs (docs/ingest.md), so the trace shows
// what was changed and why; Segment.Repairs lists them for metrics.

// Repair is one change made to a document so that it could be kept.
type Repair struct {
	// Field is the field relative to its entity, e.g.
	// "http.response.status" (what metrics count by).
	Field string
	// Path is the field's path from the document root, e.g.
	// "subsegments[0].http.response.status".
	Path string
	// Action is "normalized" or "dropped".
	Action string
	// Reason says what was wrong.
	Reason string
}

// Metric is the series that counts this repair on /metrics, for documents
// received over protocol ("udp" or "api").
func (r Repair) Metric(protocol string) string {
	return `counterspy_segment_fields_repaired_total{protocol="` + protocol + `",field=` + strconv.Quote(r.Field) + `,action="` + r.Action + `"}`
}

// Repair actions.
const (
	Normalized = "normalized"
	Dropped    = "dropped"
)

// maxRepairs bounds the notes of one document; past it fields are still
// dropped, without a note each.
const maxRepairs = 64

// MetadataNamespace is the metadata namespace repair notes go under.
const MetadataNamespace = "counterspy"

// structural keys are what a document cannot be kept without: an error in
// one rejects it.
func structural(k []byte) bool {
	switch string(k) {
	case "name", "id", "start_time", "end_time", "in_progress", "trace_id", "parent_id", "type", "subsegments":
		return true
	}
	return false
}

func (d *Decoder) noteRepair(idx int32, field, action, reason string) {
	d.repairs = append(d.repairs, Repair{Field: field, Path: d.fieldPath(idx, field), Action: action, Reason: reason})
}

// noteRepairAt is noteRepair for a field whose path names more than the
// field (an annotation's key).
func (d *Decoder) noteRepairAt(idx int32, field, path, action, reason string) {
	d.repairs = append(d.repairs, Repair{Field: field, Path: d.fieldPath(idx, path), Action: action, Reason: reason})
}

// repairField is called when optional key k of entity idx (object o) did
// not decode: it normalizes what it can and decodes again, else drops the
// field. It returns the keys to delete from o once its Visit is over.
func (d *Decoder) repairField(idx int32, o *fastjson.Object, k []byte, v *fastjson.Value, st *entityState, hdr *docHeader, first *Error) (drop bool) {
	if len(d.repairs) >= maxRepairs {
		return true
	}
	key := string(k)
	d.resetField(idx, key)
	switch key {
	case "http":
		if d.repairHTTP(idx, v) {
			d.resetField(idx, key)
			if d.entityField(idx, k, v, st, hdr) == nil {
				return false
			}
			d.resetField(idx, key)
		}
	case "error", "fault", "throttle", "traced":
		if b, ok := boolString(v); ok {
			d.noteRepair(idx, key, Normalized, "a boolean sent as the string "+strconv.Quote(string(mustString(v))))
			o.Set(key, d.boolValue(b))
			if d.entityField(idx, k, o.Get(key), st, hdr) == nil {
				return false
			}
			d.resetField(idx, key)
		}
	case "annotations":
		if d.repairAnnotations(idx, v) && d.entityField(idx, k, v, st, hdr) == nil {
			return false
		}
		d.resetField(idx, key)
	}
	d.noteRepair(idx, key, Dropped, reasonOf(first))
	return true
}

// reasonOf is an error's message without the path the repair note has.
func reasonOf(e *Error) string {
	if i := strings.LastIndex(e.Message, ": "); i >= 0 {
		return e.Message[i+2:]
	}
	return e.Message
}

// resetField clears what a failed decode of key left in entity idx.
func (d *Decoder) resetField(idx int32, key string) {
	ent := &d.ents[idx]
	switch key {
	case "http":
		ent.HTTP = HTTP{}
	case "aws":
		ent.AWS = AWS{}
	case "sql":
		ent.SQL = nil
	case "cause":
		ent.Cause = Cause{}
	case "annotations":
		ent.Annotations = nil
	case "precursor_ids":
		ent.PrecursorIDs = nil
	case "namespace":
		ent.Namespace = ""
	case "origin":
		ent.Origin = ""
	case "user":
		ent.User = ""
	case "resource_arn":
		ent.ResourceARN = ""
	case "error":
		ent.Error = false
	case "fault":
		ent.Fault = false
	case "throttle":
		ent.Throttle = false
	}
	// "traced" and http.request.traced both set Traced: it is recomputed
	// from what decodes, and a failed one never set it.
}

// repairHTTP normalizes or drops the malformed leaves of an http object;
// it reports whether it changed anything (a second decode may then pass).
func (d *Decoder) repairHTTP(idx int32, v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	changed := false
	if rv := o.Get("request"); rv != nil && rv.Type() != fastjson.TypeNull {
		ro, err := rv.Object()
		if err != nil {
			o.Del("request")
			d.noteRepair(idx, "http.request", Dropped, "expected an object, found "+typeName(rv))
			changed = true
		} else {
			for _, f := range []string{"method", "url", "user_agent", "client_ip"} {
				if fv := ro.Get(f); fv != nil && fv.Type() != fastjson.TypeNull && fv.Type() != fastjson.TypeString {
					delAll(ro, f)
					d.noteRepair(idx, "http.request."+f, Dropped, "expected a string, found "+typeName(fv))
					changed = true
				}
			}
			for _, f := range []string{"x_forwarded_for", "traced"} {
				changed = d.repairBool(idx, ro, "http.request.", f) || changed
			}
		}
	}
	if rv := o.Get("response"); rv != nil && rv.Type() != fastjson.TypeNull {
		ro, err := rv.Object()
		if err != nil {
			o.Del("response")
			d.noteRepair(idx, "http.response", Dropped, "expected an object, found "+typeName(rv))
			return true
		}
		for _, f := range []string{"status", "content_length"} {
			fv := ro.Get(f)
			if fv == nil || fv.Type() == fastjson.TypeNull {
				continue
			}
			if _, e := intValue(fv); e == nil {
				continue
			}
			if fv.Type() == fastjson.TypeString {
				s := strings.TrimSpace(string(mustString(fv)))
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					ro.Set(f, d.arena.NewNumberString(strconv.FormatInt(n, 10)))
					d.noteRepair(idx, "http.response."+f, Normalized, "an integer sent as the string "+strconv.Quote(string(clip(mustString(fv)))))
					changed = true
					continue
				}
			}
			delAll(ro, f)
			d.noteRepair(idx, "http.response."+f, Dropped, "expected an integer, found "+describe(fv))
			changed = true
		}
	}
	return changed
}

// repairBool normalizes a boolean sent as "true"/"false", or drops it.
func (d *Decoder) repairBool(idx int32, o *fastjson.Object, prefix, f string) bool {
	fv := o.Get(f)
	if fv == nil || fv.Type() == fastjson.TypeNull || fv.Type() == fastjson.TypeTrue || fv.Type() == fastjson.TypeFalse {
		return false
	}
	if b, ok := boolString(fv); ok {
		o.Set(f, d.boolValue(b))
		d.noteRepair(idx, prefix+f, Normalized, "a boolean sent as the string "+strconv.Quote(string(mustString(fv))))
		return true
	}
	delAll(o, f)
	d.noteRepair(idx, prefix+f, Dropped, "expected a boolean, found "+describe(fv))
	return true
}

// repairAnnotations drops the annotations that cannot be indexed (an empty
// or over-long key, a value that is not a string, number or boolean),
// keeping the others.
func (d *Decoder) repairAnnotations(idx int32, v *fastjson.Value) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	var bad []string
	o.Visit(func(k []byte, av *fastjson.Value) {
		reason := ""
		switch {
		case len(k) == 0:
			reason = "keys must not be empty"
		case len([]rune(string(k))) > MaxAnnotationKeyLength:
			reason = "key longer than " + strconv.Itoa(MaxAnnotationKeyLength) + " characters"
		default:
			if _, e := d.annotationValue(av); e != nil {
				reason = e.Message
			}
		}
		if reason != "" {
			bad = append(bad, string(k))
			path := annotationPath(k)
			if len(k) == 0 {
				path = `annotations[""]`
			}
			d.noteRepairAt(idx, "annotations", path, Dropped, reason)
		}
	})
	for _, k := range bad {
		delAll(o, k)
	}
	return len(bad) > 0
}

func delAll(o *fastjson.Object, k string) {
	for o.Get(k) != nil {
		o.Del(k)
	}
}

func (d *Decoder) boolValue(b bool) *fastjson.Value {
	if b {
		return d.arena.NewTrue()
	}
	return d.arena.NewFalse()
}

func boolString(v *fastjson.Value) (bool, bool) {
	if v.Type() != fastjson.TypeString {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(string(mustString(v)))) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func mustString(v *fastjson.Value) []byte {
	b, _ := v.StringBytes()
	return b
}

// describe names a value for a note: strings are quoted (clipped), other
// values named by type.
func describe(v *fastjson.Value) string {
	if v.Type() == fastjson.TypeString {
		return "the string " + strconv.Quote(string(clip(mustString(v))))
	}
	return typeName(v)
}

// noteRepairs records the repairs in the document's metadata and returns
// the repaired document's bytes.
func (d *Decoder) noteRepairs(o *fastjson.Object) []byte {
	list := d.arena.NewArray()
	for i, r := range d.repairs {
		e := d.arena.NewObject()
		e.Set("path", d.arena.NewString(r.Path))
		e.Set("action", d.arena.NewString(r.Action))
		e.Set("reason", d.arena.NewString(r.Reason))
		list.SetArrayItem(i, e)
	}
	md := o.Get("metadata")
	if md == nil || md.Type() != fastjson.TypeObject {
		md = d.arena.NewObject()
		o.Set("metadata", md)
	}
	mo, _ := md.Object()
	ns := mo.Get(MetadataNamespace)
	if ns == nil || ns.Type() != fastjson.TypeObject {
		ns = d.arena.NewObject()
		mo.Set(MetadataNamespace, ns)
	}
	ns.Set("ingest_repairs", list)
	return appendObject(nil, o)
}
