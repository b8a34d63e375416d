package translate

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Attribute names the mapping reads beyond the semantic conventions' own.
const (
	// attrAWSSpanKind "LOCAL_ROOT" marks a service's entry span (ADOT).
	attrAWSSpanKind = "aws.span.kind"
	// attrAnnotations lists the span's attributes to index (the awsxray
	// exporter's aws.xray.annotations).
	attrAnnotations = "aws.xray.annotations"
)

// role is where an entity sits in its document.
type role uint8

const (
	roleSegment     role = iota // the document is a segment
	roleIndependent             // the document is an independent subsegment
	roleNested                  // a subsegment inside another entity
)

// writeDocument writes the document that starts at span r.
func (t *Translator) writeDocument(b []byte, r int) []byte {
	sp := t.spans[r].span
	if !t.spans[r].entry {
		return t.writeEntity(b, r, 0, roleIndependent)
	}
	k := sp.Kind()
	if k == ptrace.SpanKindClient || k == ptrace.SpanKindProducer {
		// A call with no local entry span above it: as the awsxray
		// exporter does, a segment stands for the calling service and the
		// span becomes its subsegment, so the callee still gets a node.
		return t.writeServiceSegment(b, r)
	}
	return t.writeEntity(b, r, 0, roleSegment)
}

// writeServiceSegment writes a segment for the service of span r, holding r
// as its only direct subsegment.
func (t *Translator) writeServiceSegment(b []byte, r int) []byte {
	ref := &t.spans[r]
	sp := ref.span
	id := serviceSegmentID(ref.spanID)
	t.docSynth++
	start, end := t.times(r)
	prev := t.beginEntity()
	e := t.ent()
	name := sanitizeName(t.res.service, sp.Name())
	b = append(b, '{')
	b = strField(b, "name", name)
	b = hexField(b, "id", id[:])
	b = appendTraceID(key(b, "trace_id"), ref.traceID)
	pid := sp.ParentSpanID()
	if !pid.IsEmpty() {
		b = hexField(b, "parent_id", pid[:])
	}
	var ts, te float64
	b, ts = appendSecondsValue(key(b, "start_time"), start)
	b, te = appendSecondsValue(key(b, "end_time"), end)
	if e != nil {
		e.Name, e.ID, e.Start, e.End = name, segmentID(id), ts, te
		t.dg.traceID = ref.traceID
		t.dg.parentID = segmentID(pid)
		t.dg.synth, t.dg.synthID = true, id
	}
	b = t.segmentFields(b, &noAttrs, e)
	t.sa.index(sp.Attributes())
	fl := t.flags(sp, &t.sa)
	fl.digest(e)
	b = fl.append(b)
	b = append(key(b, "metadata"), '{')
	b = append(key(b, "otel"), '{')
	b = append(key(b, "synthetic"), "true"...)
	b = t.appendResource(b, t.resource, t.resSchema)
	b = append(b, '}', '}')
	b = append(key(b, "subsegments"), '[')
	b = t.writeEntity(b, r, 1, roleNested)
	t.endEntity(prev)
	return append(b, ']', '}')
}

// segmentFields writes what every segment carries about its service: the
// origin, the aws object (from the resource, plus a Lambda invocation's
// request ID and function ARN from the span, as the Lambda instrumentation
// sets them) and the service version.
func (t *Translator) segmentFields(b []byte, attrs *spanAttrs, e *segment.Entity) []byte {
	if t.res.origin != "" {
		b = strField(b, "origin", t.res.origin)
		if e != nil {
			e.Origin = t.res.origin
		}
	}
	reqID, hasReq := attrs.str(kFaaSInvocationID, kFaaSExecution, kAWSRequestID)
	arn, hasARN := attrs.str(kCloudResourceID, kFaaSID)
	hasARN = hasARN && !t.res.hasARN && t.res.origin == OriginLambda
	if len(t.res.aws) > 2 || hasReq || hasARN {
		b = append(key(b, "aws"), t.res.aws[:len(t.res.aws)-1]...)
		if hasReq {
			b = strField(b, "request_id", reqID)
		}
		if hasARN {
			b = strField(b, "function_arn", arn)
		}
		b = append(b, '}')
		if e != nil {
			e.AWS = t.res.awsDigest
			e.AWS.LogGroups = slices.Clone(e.AWS.LogGroups)
			if t.res.awsSlow {
				t.dg.slow = true
			}
			if hasReq {
				e.AWS.RequestID = t.dstr(reqID)
			}
			if hasARN {
				e.AWS.FunctionARN = t.dstr(arn)
			}
		}
	}
	if t.res.serviceVersion != "" {
		b = append(key(b, "service"), '{')
		b = append(strField(b, "version", t.res.serviceVersion), '}')
	}
	return b
}

// writeEntity writes span i as an entity, then its children.
func (t *Translator) writeEntity(b []byte, i, depth int, ro role) []byte {
	ref := &t.spans[i]
	sp := ref.span
	t.done[i] = true
	t.docSpans++
	t.docMembers = append(t.docMembers, i)
	t.docIDs[ref.spanID] = true
	t.sa.index(sp.Attributes())
	attrs := &t.sa // good until appendChildren, which indexes the children
	start, end := t.times(i)
	prev := t.beginEntity()
	e := t.ent()

	name := t.name(sp, attrs, ro)
	b = append(b, '{')
	b = strField(b, "name", name)
	b = hexField(b, "id", ref.spanID[:])
	if ro != roleNested {
		b = appendTraceID(key(b, "trace_id"), ref.traceID)
		pid := sp.ParentSpanID()
		if !pid.IsEmpty() {
			b = hexField(b, "parent_id", pid[:])
		}
		if e != nil {
			t.dg.traceID = ref.traceID
			t.dg.parentID = segmentID(pid)
			t.dg.independent = ro == roleIndependent
		}
	}
	if ro == roleIndependent {
		b = strField(b, "type", "subsegment")
	}
	var ts, te float64
	b, ts = appendSecondsValue(key(b, "start_time"), start)
	b, te = appendSecondsValue(key(b, "end_time"), end)
	if e != nil {
		e.Name, e.ID, e.Start, e.End = name, segmentID(ref.spanID), ts, te
	}
	if ro == roleSegment {
		b = t.segmentFields(b, attrs, e)
	} else if ns := namespace(sp, attrs); ns != "" {
		b = strField(b, "namespace", ns)
		if e != nil {
			e.Namespace = ns
		}
	}
	fl := t.flags(sp, attrs)
	fl.digest(e)
	b = fl.append(b)
	if v, ok := attrs.str(kEnduserID); ok {
		b = strField(b, "user", v)
		if e != nil {
			e.User = t.dstr(v)
		}
	}
	b = t.appendHTTP(b, sp, attrs, e)
	if ro != roleSegment {
		b = t.appendAWS(b, attrs, e)
	}
	b = t.appendSQL(b, attrs, e)
	b = t.appendCause(b, sp, ref.spanID, e)
	b = t.appendAnnotations(b, sp, attrs, ro != roleNested, e)
	b = t.appendLinks(b, sp, ro != roleNested)
	b = t.appendMetadata(b, i, ro != roleNested)
	// e is not good past here: nested entities grow the digest.
	b = t.appendChildren(b, i, depth)
	t.endEntity(prev)
	return append(b, '}')
}

func (t *Translator) appendChildren(b []byte, i, depth int) []byte {
	kids := t.children[i]
	if len(kids) == 0 || t.single {
		return b
	}
	b = append(key(b, "subsegments"), '[')
	wrote := false
	for _, c := range kids {
		if t.done[c] {
			continue
		}
		switch {
		case depth+1 >= maxNesting:
			t.stats.fix(FixSplitDeep)
		case len(b) > softDocSize:
			t.stats.fix(FixTooLarge)
		case t.docIDs[t.spans[c].spanID]:
			t.stats.fix(FixDuplicate)
		default:
			if wrote {
				b = append(b, ',')
			}
			wrote = true
			b = t.writeEntity(b, c, depth+1, roleNested)
			continue
		}
		t.deferred = append(t.deferred, c)
	}
	return append(b, ']')
}

// times returns the span's start and end in nanoseconds, fixed when one is
// missing or the end is before the start.
func (t *Translator) times(i int) (start, end uint64) {
	sp := t.spans[i].span
	start, end = uint64(sp.StartTimestamp()), uint64(sp.EndTimestamp())
	fixed := false
	if start == 0 {
		fixed = true
		start = end
		if start == 0 {
			start = uint64(t.opts.Now().UnixNano())
		}
	}
	if end < start {
		fixed = true
		end = start
	}
	if fixed && !t.timesFixed[i] {
		// Counted once per span, though a span's times are read twice when
		// a service segment wraps it.
		t.timesFixed[i] = true
		t.stats.fix(FixTimestamps)
	}
	return start, end
}

// name picks the entity name as the awsxray exporter does: segments are
// named after their service, subsegments after what they call.
func (t *Translator) name(sp ptrace.Span, a *spanAttrs, ro role) string {
	k := sp.Kind()
	if ro == roleSegment {
		if v, ok := a.str(kAWSLocalService); ok {
			return sanitizeName(v, sp.Name())
		}
		return sanitizeName(t.res.service, sp.Name())
	}
	if k == ptrace.SpanKindClient || k == ptrace.SpanKindProducer || k == ptrace.SpanKindConsumer {
		if v, ok := a.str(kAWSRemoteService); ok {
			if isAWSAPI(a) {
				v = strings.TrimPrefix(strings.TrimPrefix(v, "AWS.SDK."), "AWS::")
			}
			return sanitizeName(v, sp.Name())
		}
	}
	if v, ok := a.str(kPeerService); ok {
		return sanitizeName(v, sp.Name())
	}
	if v, ok := a.str(kAWSService); ok {
		return sanitizeName(v, sp.Name())
	}
	if isAWSAPI(a) {
		if v, ok := a.str(kRPCService); ok {
			return sanitizeName(v, sp.Name())
		}
	}
	if db, ok := a.str(kDBNamespace, kDBName); ok {
		if host := dbHost(a); host != "" {
			db += "@" + host
		}
		return sanitizeName(db, sp.Name())
	}
	if v, ok := a.str(kRPCService); ok {
		return sanitizeName(v, sp.Name())
	}
	if k == ptrace.SpanKindClient || k == ptrace.SpanKindProducer {
		if v, ok := a.str(kServerAddress, kHTTPHost, kNetPeerName); ok {
			return sanitizeName(v, sp.Name())
		}
		if u, ok := a.str(kURLFull, kHTTPURL); ok {
			if h := urlHost(u); h != "" {
				return sanitizeName(h, sp.Name())
			}
		}
	}
	return sanitizeName(sp.Name(), "")
}

func isAWSAPI(a *spanAttrs) bool {
	v, ok := a.get(kRPCSystem)
	return ok && v.Str() == "aws-api"
}

// namespace is "aws" for AWS SDK calls, "remote" for other outgoing calls
// and for database calls, else none.
func namespace(sp ptrace.Span, a *spanAttrs) string {
	if isAWSAPI(a) {
		return "aws"
	}
	if _, ok := a.get(kAWSService); ok {
		return "aws"
	}
	switch sp.Kind() {
	case ptrace.SpanKindClient:
		return "remote"
	case ptrace.SpanKindProducer, ptrace.SpanKindConsumer:
		if _, ok := a.get(kAWSRemoteService); ok {
			return "remote"
		}
	}
	if isSQL(a) {
		return "remote"
	}
	return ""
}

// sanitizeName keeps the characters X-Ray allows in a segment name (Unicode
// letters and digits, spaces and _ . : / % & # = + \ - @) and its 200-character
// limit; an empty result falls back to alt, then to "span".
func sanitizeName(s, alt string) string {
	clean := func(s string) string {
		ok := true
		for _, r := range s {
			if !nameRune(r) {
				ok = false
				break
			}
		}
		if !ok {
			s = strings.Map(func(r rune) rune {
				if nameRune(r) {
					return r
				}
				return -1
			}, s)
		}
		if utf8.RuneCountInString(s) > segment.MaxNameLength {
			r := []rune(s)
			s = string(r[:segment.MaxNameLength])
		}
		return strings.TrimSpace(s)
	}
	if c := clean(s); c != "" {
		return c
	}
	if c := clean(alt); c != "" {
		return c
	}
	return "span"
}

func nameRune(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' {
		return true
	}
	return strings.ContainsRune(`_.:/%&#=+\-@`, r)
}

// flagSet is the error, fault and throttle flags of an entity.
type flagSet struct{ err, fault, throttle bool }

// digest sets the flags on e (when not nil).
func (f flagSet) digest(e *segment.Entity) {
	if e != nil {
		e.Error, e.Fault, e.Throttle = f.err, f.fault, f.throttle
	}
}

func (f flagSet) append(b []byte) []byte {
	if f.err {
		b = append(key(b, "error"), "true"...)
	}
	if f.fault {
		b = append(key(b, "fault"), "true"...)
	}
	if f.throttle {
		b = append(key(b, "throttle"), "true"...)
	}
	return b
}

// flags derives error/fault/throttle as the translator's makeCause does: an
// HTTP status decides when there is one (429 throttle and error, 4xx error,
// 5xx fault); otherwise an error status is a fault.
func (t *Translator) flags(sp ptrace.Span, a *spanAttrs) flagSet {
	var f flagSet
	if st, ok := a.int(kHTTPResponseStatusCode, kHTTPStatusCode); ok && st >= 400 && st < 600 {
		switch {
		case st == 429:
			f.err, f.throttle = true, true
		case st < 500:
			f.err = true
		default:
			f.fault = true
		}
		return f
	}
	if sp.Status().Code() == ptrace.StatusCodeError {
		f.fault = true
	}
	return f
}

func appendTraceID(b []byte, id [16]byte) []byte {
	b = append(b, '"', '1', '-')
	b = hex.AppendEncode(b, id[:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, id[4:])
	return append(b, '"')
}

// serviceSegmentID is the ID of the segment made for a call span with no
// entry span: derived from the span's, so a retried export makes the same.
func serviceSegmentID(span [8]byte) [8]byte {
	h := fnv.New64a()
	h.Write([]byte("service-segment"))
	h.Write(span[:])
	v := h.Sum64()
	if v == 0 {
		v = 1
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

// appendAnnotations indexes the attributes named in aws.xray.annotations and
// in Options.Annotations (and, on a document's root, "otel.resource.K"
// names). Only strings, numbers and booleans can be annotations; keys keep
// only the letters, digits and underscores X-Ray's filters accept.
func (t *Translator) appendAnnotations(b []byte, sp ptrace.Span, attrs *spanAttrs, root bool, e *segment.Entity) []byte {
	a := sp.Attributes()
	listed := attrs.strings(kAWSXRayAnnotations)
	if len(t.indexed) == 0 && len(listed) == 0 {
		return b
	}
	wantKey := func(k string) bool {
		if t.indexed[k] {
			return true
		}
		for _, l := range listed {
			if l == k {
				return true
			}
		}
		return false
	}
	start := len(b)
	b = append(key(b, "annotations"), '{')
	n := 0
	add := func(k string, v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		default:
			return
		}
		fk := annotationKey(k)
		if fk != k {
			t.stats.fix(FixAnnotation)
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(jsonenc.AppendString(b, fk), ':')
		if v.Type() == pcommon.ValueTypeStr {
			b = jsonenc.AppendString(b, v.Str())
		} else {
			b = t.appendValue(b, v, 0)
		}
		n++
		if e != nil {
			t.digestAnnotation(e, fk, v)
		}
	}
	a.Range(func(k string, v pcommon.Value) bool {
		if k != attrAnnotations && wantKey(k) {
			add(k, v)
		}
		return true
	})
	if root {
		t.resource.Attributes().Range(func(k string, v pcommon.Value) bool {
			if wantKey("otel.resource." + k) {
				add("otel.resource."+k, v)
			}
			return true
		})
	}
	if n == 0 {
		if e != nil {
			e.Annotations = nil
		}
		return b[:start]
	}
	return append(b, '}')
}

// digestAnnotation adds annotation k = v to e as the decoder reads it from
// the document: a key written twice keeps its first place and its last
// value; numbers are read back as floats (a non-finite one is text).
func (t *Translator) digestAnnotation(e *segment.Entity, k string, v pcommon.Value) {
	a := segment.Annotation{Key: k}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.Type, a.String = segment.AnnotationString, t.dstr(v.Str())
	case pcommon.ValueTypeInt:
		a.Type, a.Number = segment.AnnotationNumber, float64(v.Int())
	case pcommon.ValueTypeDouble:
		if f := v.Double(); math.IsNaN(f) || math.IsInf(f, 0) {
			a.Type, a.String = segment.AnnotationString, strconv.FormatFloat(f, 'g', -1, 64)
		} else {
			a.Type, a.Number = segment.AnnotationNumber, f
		}
	case pcommon.ValueTypeBool:
		a.Type, a.Bool = segment.AnnotationBool, v.Bool()
	}
	for i := range e.Annotations {
		if e.Annotations[i].Key == k {
			a.Key = e.Annotations[i].Key
			e.Annotations[i] = a
			return
		}
	}
	e.Annotations = append(e.Annotations, a)
}

// annotationKey maps a key to X-Ray's annotation alphabet (letters, digits,
// underscore), as the awsxray exporter's fixAnnotationKey does; 250
// characters at most.
func annotationKey(k string) string {
	out := []byte(k)
	for i, c := range out {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
			out[i] = '_'
		}
	}
	if len(out) > segment.MaxAnnotationKeyLength {
		out = out[:segment.MaxAnnotationKeyLength]
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}

// appendLinks writes the span's links as X-Ray trace links (at most the 20
// X-Ray takes; all of them stay in metadata.otel.links).
func (t *Translator) appendLinks(b []byte, sp ptrace.Span, root bool) []byte {
	ls := sp.Links()
	if ls.Len() == 0 {
		return b
	}
	start := len(b)
	b = append(key(b, "links"), '[')
	n := 0
	for i := 0; i < ls.Len(); i++ {
		l := ls.At(i)
		tid, sid := l.TraceID(), l.SpanID()
		if tid.IsEmpty() || sid.IsEmpty() {
			continue
		}
		if n == segment.MaxLinks {
			t.stats.fix(FixLinks)
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		if root && t.dg.on {
			// Only a document's root carries the segment's links.
			t.dg.links = append(t.dg.links, segment.Link{TraceID: xrayid.TraceID(tid), ID: segmentID(sid)})
		}
		b = append(b, '{')
		b = appendTraceID(key(b, "trace_id"), tid)
		b = hexField(b, "id", sid[:])
		if l.Attributes().Len() > 0 {
			b = t.appendMap(key(b, "attributes"), l.Attributes(), 0)
		}
		b = append(b, '}')
	}
	if n == 0 {
		return b[:start]
	}
	return append(b, ']')
}

// appendMetadata writes metadata.otel: the span as OTLP had it, so that
// nothing is lost (docs/otlp.md, "Lossless copy").
func (t *Translator) appendMetadata(b []byte, i int, root bool) []byte {
	ref := &t.spans[i]
	sp := ref.span
	b = append(key(b, "metadata"), '{')
	b = append(key(b, "otel"), '{')
	b = strField(b, "name", t.cut(sp.Name()))
	b = strField(b, "kind", sp.Kind().String())
	// IDs the document already shows are not repeated: a nested span has
	// its document's trace and its parent entity's ID as parent; the span
	// ID is the entity's "id" unless it had to be made up.
	tid, sid := sp.TraceID(), sp.SpanID()
	shown := !root && ref.parent >= 0
	if !shown || tid != ref.traceID {
		b = hexField(b, "trace_id", tid[:])
	}
	if sid != ref.spanID {
		b = hexField(b, "span_id", sid[:])
	}
	if pid := sp.ParentSpanID(); !pid.IsEmpty() && !shown {
		b = hexField(b, "parent_span_id", pid[:])
	}
	if ts := sp.TraceState().AsRaw(); ts != "" {
		b = strField(b, "trace_state", t.cut(ts))
	}
	if f := sp.Flags(); f != 0 {
		b = intField(b, "flags", int64(f))
	}
	b = intField(b, "start_time_unix_nano", int64(sp.StartTimestamp()))
	b = intField(b, "end_time_unix_nano", int64(sp.EndTimestamp()))
	if st := sp.Status(); st.Code() != ptrace.StatusCodeUnset || st.Message() != "" {
		b = append(key(b, "status"), '{')
		b = strField(b, "code", st.Code().String())
		if st.Message() != "" {
			b = strField(b, "message", t.cut(st.Message()))
		}
		b = append(b, '}')
	}
	if sp.Attributes().Len() > 0 {
		b = t.appendMap(key(b, "attributes"), sp.Attributes(), 0)
	}
	if n := sp.DroppedAttributesCount(); n > 0 {
		b = intField(b, "dropped_attributes_count", int64(n))
	}
	if evs := sp.Events(); evs.Len() > 0 {
		b = append(key(b, "events"), '[')
		for j := 0; j < evs.Len(); j++ {
			ev := evs.At(j)
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = strField(b, "name", t.cut(ev.Name()))
			b = intField(b, "time_unix_nano", int64(ev.Timestamp()))
			if ev.Attributes().Len() > 0 {
				b = t.appendMap(key(b, "attributes"), ev.Attributes(), 0)
			}
			if n := ev.DroppedAttributesCount(); n > 0 {
				b = intField(b, "dropped_attributes_count", int64(n))
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if n := sp.DroppedEventsCount(); n > 0 {
		b = intField(b, "dropped_events_count", int64(n))
	}
	if ls := sp.Links(); ls.Len() > 0 {
		b = append(key(b, "links"), '[')
		for j := 0; j < ls.Len(); j++ {
			l := ls.At(j)
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			ltid, lsid := l.TraceID(), l.SpanID()
			b = hexField(b, "trace_id", ltid[:])
			b = hexField(b, "span_id", lsid[:])
			if ts := l.TraceState().AsRaw(); ts != "" {
				b = strField(b, "trace_state", ts)
			}
			if f := l.Flags(); f != 0 {
				b = intField(b, "flags", int64(f))
			}
			if l.Attributes().Len() > 0 {
				b = t.appendMap(key(b, "attributes"), l.Attributes(), 0)
			}
			if n := l.DroppedAttributesCount(); n > 0 {
				b = intField(b, "dropped_attributes_count", int64(n))
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if n := sp.DroppedLinksCount(); n > 0 {
		b = intField(b, "dropped_links_count", int64(n))
	}
	// The scope is written where it changes: on a document's root and on a
	// nested span whose scope differs from its parent's.
	if root || t.parentScope(i) != ref.scope {
		b = t.appendScope(b, ref.ss)
	}
	if root {
		b = t.appendResource(b, t.resource, t.resSchema)
	}
	return append(b, '}', '}')
}

func (t *Translator) appendScope(b []byte, ss ptrace.ScopeSpans) []byte {
	sc := ss.Scope()
	b = append(key(b, "scope"), '{')
	b = strField(b, "name", sc.Name())
	if sc.Version() != "" {
		b = strField(b, "version", sc.Version())
	}
	if sc.Attributes().Len() > 0 {
		b = t.appendMap(key(b, "attributes"), sc.Attributes(), 0)
	}
	if n := sc.DroppedAttributesCount(); n > 0 {
		b = intField(b, "dropped_attributes_count", int64(n))
	}
	if u := ss.SchemaUrl(); u != "" {
		b = strField(b, "schema_url", u)
	}
	return append(b, '}')
}

// parentScope is the scope of the span named as span i's parent, or -1.
func (t *Translator) parentScope(i int) int {
	ref := &t.spans[i]
	if ref.parent >= 0 {
		return t.spans[ref.parent].scope
	}
	// A span under a service segment starts its document: its parent
	// may still be in the request.
	if p, ok := t.byID[spanKey{ref.traceID, ref.span.ParentSpanID()}]; ok {
		return t.spans[p].scope
	}
	return -1
}
