// Package translate maps OpenTelemetry spans (OTLP, decoded with the
// collector's pdata) onto X-Ray segment documents, with the segment
// package's digest of each (filled in while writing, digest.go), so that
// everything downstream of decoding (summaries, filters, the service graph,
// BatchGetTraces, the console and the CLI) sees OTel data exactly as it sees
// X-Ray SDK segments.
//
// The mapping follows AWS's own: the awsxray exporter's translator in
// opentelemetry-collector-contrib (exporter/awsxrayexporter/internal/translator)
// and X-Ray's OTLP endpoint. docs/otlp.md has the table; each row is a case
// in translate_test.go.
//
// Spans of one resource that share a trace are kept together: a span whose
// parent is in the same request is nested in its parent's document as a
// subsegment; server and consumer spans and local roots start documents of
// their own (segments); other spans whose parent is elsewhere become
// independent subsegment documents ("type":"subsegment" with parent_id).
// Every span of the original is kept under metadata.otel of its entity, so
// nothing OTLP carried is lost.
//
// Trace IDs map as AWS maps them ("1-" + 8 hex + "-" + 24 hex) whatever
// their first four bytes hold: X-Ray accepts W3C-format (random) trace IDs
// since October 2023, and the ADOT collector skips the translator's
// timestamp check. The store places a trace whose epoch is implausible by
// its arrival time.
package translate

import (
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/segment"
)

// MaxDocumentSize is the largest document the translator hands to the
// segment decoder. It is above X-Ray's 64 kB because OTLP carries more per
// span and the lossless copy is kept; OTLP/gRPC's default message limit is
// 4 MiB, so a single span never comes near it.
const MaxDocumentSize = 4 << 20

// softDocSize is where a document stops taking nested spans: the remaining
// children become documents of their own, so one document stays small enough
// to decode, store and serve cheaply.
const softDocSize = 256 << 10

// maxNesting is the deepest a span is nested in its document; deeper spans
// start documents of their own (JSON nesting limits, recursion depth).
const maxNesting = 16

// Options tune a Translator.
type Options struct {
	// Annotations names span attributes indexed as annotations on every
	// span, besides those each span lists in aws.xray.annotations. A name
	// "otel.resource.K" indexes resource attribute K.
	Annotations []string
	// Now returns the time used when a span carries no timestamps at all.
	Now func() time.Time
}

// Reason codes for rejected spans, besides the segment decoder's codes.
const (
	// ReasonDecode is a document the segment decoder refused; the decoder's
	// own code is recorded instead when it has one.
	ReasonDecode = "InvalidSegment"
)

// Fix names count spans whose field was odd and was adjusted, not dropped.
const (
	FixTraceID    = "trace_id"    // all-zero trace ID replaced
	FixSpanID     = "span_id"     // all-zero span ID replaced
	FixTimestamps = "timestamps"  // missing start or end before start
	FixLinks      = "links"       // links beyond X-Ray's 20 kept in metadata only
	FixDeepValue  = "deep_value"  // attribute value nested too deep, kept as text
	FixDuplicate  = "duplicate"   // span ID seen twice in one document
	FixNonFinite  = "non_finite"  // NaN or infinite number written as text
	FixAnnotation = "annotation"  // annotation key rewritten to X-Ray's alphabet
	FixTooLarge   = "split"       // children moved out of a large document
	FixSplitDeep  = "split_depth" // children moved out of a deep document
	// FixSplitRefused counts documents the decoder refused whose spans
	// were then written one document each.
	FixSplitRefused = "split_refused"
	// FixTruncated counts spans refused on their own (too large) and
	// stored with strings and bytes over 4 KiB cut.
	FixTruncated = "truncated"
)

// Stats counts one Translate call.
type Stats struct {
	Spans     int // spans in the request
	Stored    int // spans inside the returned segments
	Documents int
	// Synthetic counts the service segments made for call spans without
	// parent: entities that stand for no span of their own.
	Synthetic int
	// Rejected counts spans in documents the decoder refused, by reason.
	Rejected map[string]int
	// Fixed counts adjusted fields, by Fix name.
	Fixed map[string]int
}

func (s *Stats) fix(name string) {
	if s.Fixed == nil {
		s.Fixed = map[string]int{}
	}
	s.Fixed[name]++
}

func (s *Stats) reject(reason string, n int) {
	if s.Rejected == nil {
		s.Rejected = map[string]int{}
	}
	s.Rejected[reason] += n
}

// Translator turns OTLP trace data into decoded segments. Not safe for
// concurrent use: keep one per goroutine (it reuses buffers).
type Translator struct {
	opts    Options
	indexed map[string]bool
	dec     *segment.Decoder

	buf   []byte
	stats *Stats

	// Per resource: the spans and their tree.
	spans    []spanRef
	byID     map[spanKey]int
	children [][]int
	done     []bool
	roots    []int
	// Per document: spans moved out to documents of their own.
	deferred   []int
	docSpans   int
	docSynth   int
	docMembers []int
	docIDs     map[[8]byte]bool
	// single writes spans without their children (a refused document's
	// spans, one by one); trim cuts long values (a refused span's retry).
	single, trim bool

	resource  pcommon.Resource
	resSchema string
	res       resourceInfo
	// timesFixed remembers the spans whose timestamps were counted as fixed.
	timesFixed []bool

	// sa indexes the attributes of the span being written.
	sa spanAttrs
	// dg is the decoded form of the document being written (digest.go);
	// noDigest turns it off, so that tests can compare with the decoder.
	dg       digest
	noDigest bool
}

type spanRef struct {
	span  ptrace.Span
	scope int // index of its ScopeSpans, to write a scope once per run
	ss    ptrace.ScopeSpans
	// fixed IDs (after replacing zero IDs)
	traceID [16]byte
	spanID  [8]byte
	// entry is startsSegment(span), read once.
	entry bool
	// parent is parentIndex, set once the resource's spans are all known.
	parent int
}

type spanKey struct {
	trace [16]byte
	span  [8]byte
}

// New returns a Translator.
func New(opts Options) *Translator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := &Translator{opts: opts, indexed: map[string]bool{}, dec: segment.NewDecoder(MaxDocumentSize), byID: map[spanKey]int{},
		docIDs: map[[8]byte]bool{}}
	for _, k := range opts.Annotations {
		t.indexed[k] = true
	}
	return t
}

// Translate appends the segments made from td to dst. It never fails as a
// whole: each span ends up in a returned segment or counted in
// Stats.Rejected.
func (t *Translator) Translate(dst []segment.Segment, td ptrace.Traces) ([]segment.Segment, Stats) {
	var st Stats
	t.stats = &st
	defer func() { t.stats = nil; t.resource = pcommon.Resource{} }()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		dst = t.resourceSpans(dst, rss.At(i))
	}
	return dst, st
}

func (t *Translator) resourceSpans(dst []segment.Segment, rs ptrace.ResourceSpans) []segment.Segment {
	t.spans = t.spans[:0]
	clear(t.byID)
	t.resource = rs.Resource()
	t.resSchema = rs.SchemaUrl()
	t.res = readResource(rs.Resource())
	sss := rs.ScopeSpans()
	for i := 0; i < sss.Len(); i++ {
		ss := sss.At(i)
		spans := ss.Spans()
		for j := 0; j < spans.Len(); j++ {
			sp := spans.At(j)
			ref := spanRef{span: sp, scope: i, ss: ss, traceID: sp.TraceID(), spanID: sp.SpanID(), entry: startsSegment(sp)}
			t.stats.Spans++
			if ref.traceID == ([16]byte{}) {
				// No trace to join: give the span a trace of its own, stable
				// for the same span so that a retried export lands in one place.
				ref.traceID = syntheticTraceID(sp)
				t.stats.fix(FixTraceID)
			}
			if ref.spanID == ([8]byte{}) {
				ref.spanID = syntheticSpanID(ref.traceID, sp, len(t.spans))
				t.stats.fix(FixSpanID)
			}
			k := spanKey{ref.traceID, ref.spanID}
			if _, dup := t.byID[k]; !dup {
				t.byID[k] = len(t.spans)
			}
			t.spans = append(t.spans, ref)
		}
	}
	n := len(t.spans)
	if n == 0 {
		return dst
	}
	t.children = resize(t.children, n)
	t.done = append(t.done[:0], make([]bool, n)...)
	t.timesFixed = append(t.timesFixed[:0], make([]bool, n)...)
	t.roots = t.roots[:0]
	for i := range t.spans {
		p := t.parentIndex(i)
		t.spans[i].parent = p
		if p < 0 {
			t.roots = append(t.roots, i)
			continue
		}
		t.children[p] = append(t.children[p], i)
	}
	for _, r := range t.roots {
		dst = t.document(dst, r)
	}
	// Spans whose parent chain loops back on itself have no root: each
	// breaks the loop by starting a document.
	for i := range t.spans {
		if !t.done[i] {
			dst = t.document(dst, i)
		}
	}
	return dst
}

// parentIndex returns the index of span i's parent when i is nested in it,
// or -1 when i starts a document.
func (t *Translator) parentIndex(i int) int {
	ref := &t.spans[i]
	if ref.entry {
		return -1
	}
	pid := ref.span.ParentSpanID()
	if pid.IsEmpty() {
		return -1
	}
	p, ok := t.byID[spanKey{ref.traceID, pid}]
	if !ok || p == i {
		return -1
	}
	return p
}

// startsSegment reports whether a span is a service's entry point: X-Ray
// makes segments of server and consumer spans and of local roots.
func startsSegment(sp ptrace.Span) bool {
	switch sp.Kind() {
	case ptrace.SpanKindServer, ptrace.SpanKindConsumer:
		return true
	}
	if v, ok := sp.Attributes().Get(attrAWSSpanKind); ok && v.Str() == "LOCAL_ROOT" {
		return true
	}
	return sp.ParentSpanID().IsEmpty()
}

func resize(s [][]int, n int) [][]int {
	if cap(s) < n {
		s = append(s[:cap(s)], make([][]int, n-cap(s))...)
	}
	s = s[:n]
	for i := range s {
		s[i] = s[i][:0]
	}
	return s
}

// document writes the document that starts at span r (and every span nested
// in it), decodes it and appends the result to dst. Children moved out of it
// (size or depth) are written as documents of their own afterwards.
//
// A document the decoder refuses costs as few spans as possible: its spans
// are written again one document each, and a span refused on its own is
// tried once more with long values cut (FixTruncated); only then is it
// counted as rejected.
func (t *Translator) document(dst []segment.Segment, r int) []segment.Segment {
	queue := []int{r}
	for len(queue) > 0 {
		r, queue = queue[0], queue[1:]
		if t.done[r] {
			continue
		}
		t.write(r)
		queue = append(queue, t.deferred...)
		var err error
		if dst, err = t.decode(dst); err == nil {
			continue
		}
		members := append([]int(nil), t.docMembers...)
		if len(members) > 1 {
			t.stats.fix(FixSplitRefused)
		}
		t.single = true
		for _, m := range members {
			t.done[m] = false
		}
		for _, m := range members {
			t.write(m)
			if dst, err = t.decode(dst); err == nil {
				continue
			}
			t.trim = true
			t.write(m)
			t.trim = false
			if dst, err = t.decode(dst); err == nil {
				t.stats.fix(FixTruncated)
				continue
			}
			reason := ReasonDecode
			if se, ok := err.(*segment.Error); ok {
				reason = se.Code
			}
			t.stats.reject(reason, t.docSpans)
		}
		t.single = false
	}
	return dst
}

// write writes the document starting at span r into t.buf.
func (t *Translator) write(r int) {
	t.deferred = t.deferred[:0]
	t.docMembers = t.docMembers[:0]
	t.docSpans = 0
	t.docSynth = 0
	clear(t.docIDs)
	t.done[r] = false
	t.startDigest(r)
	t.buf = t.writeDocument(t.buf[:0], r)
}

// decode appends the segment of the document in t.buf to dst, counting it
// as stored: the digest filled in while writing it, or else what the
// decoder makes of it. On error dst is unchanged and nothing is counted.
func (t *Translator) decode(dst []segment.Segment) ([]segment.Segment, error) {
	// The decoded segment keeps Raw: it needs bytes of its own.
	raw := make([]byte, len(t.buf))
	copy(raw, t.buf)
	if seg, ok := t.digestSegment(raw); ok {
		t.stats.Documents++
		t.stats.Stored += t.docSpans
		t.stats.Synthetic += t.docSynth
		return append(dst, seg), nil
	}
	n := len(dst)
	// The document is strict JSON by construction (jsonenc strings,
	// finite numbers; FuzzTranslate checks it), so the decoder's validation
	// pass is skipped.
	dst, err := t.dec.DecodeWritten(dst, raw)
	if err != nil {
		return dst, err
	}
	t.stats.Documents += len(dst) - n
	t.stats.Stored += t.docSpans
	t.stats.Synthetic += t.docSynth
	return dst, nil
}

// syntheticTraceID makes a trace ID for a span that came without one: the
// epoch part is the span's start second, the rest a hash of the span.
func syntheticTraceID(sp ptrace.Span) [16]byte {
	var id [16]byte
	binary.BigEndian.PutUint32(id[:4], uint32(time.Unix(0, int64(sp.StartTimestamp())).Unix()))
	h := fnv.New128a()
	sid := sp.SpanID()
	h.Write(sid[:])
	h.Write([]byte(sp.Name()))
	h.Write(strconv.AppendUint(nil, uint64(sp.StartTimestamp()), 10))
	sum := h.Sum(nil)
	copy(id[4:], sum)
	return id
}

// syntheticSpanID makes a non-zero span ID for a span that came without one,
// stable for the same span.
func syntheticSpanID(trace [16]byte, sp ptrace.Span, i int) [8]byte {
	h := fnv.New64a()
	h.Write(trace[:])
	h.Write([]byte(sp.Name()))
	h.Write(strconv.AppendUint(nil, uint64(sp.StartTimestamp()), 10))
	h.Write(strconv.AppendInt(nil, int64(i), 10))
	v := h.Sum64()
	if v == 0 {
		v = 1
	}
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], v)
	return id
}
