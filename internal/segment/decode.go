package segment

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Decoder decodes documents. Not safe for concurrent use: keep one per
// goroutine; it reuses its buffers. The zero value uses MaxDocumentSize.
type Decoder struct {
	maxSize int
	parser  fastjson.Parser

	// ents is the Entities slice of the document being decoded: allocated
	// per document at its exact size, since it escapes into the result.
	ents []Entity

	// Scratch space reused across documents; nothing here escapes.
	pos  []int32 // pos[i]: index of entity i in its parent's subsegments array, for error paths
	ids  idSet
	anns annotationKeys
	num  []byte // raw text of the number being parsed
	strs internTable

	// repairs are the repairs made to the document being decoded, and
	// arena holds the values they put in it (repair.go).
	repairs []Repair
	arena   fastjson.Arena

	// The document element being decoded, for error paths and the error's ID.
	elem int // index in an array document, or -1 for an object document
	root *fastjson.Object
}

var errControlChar = errors.New("a string holds a raw control character")

// NewDecoder returns a decoder that rejects documents longer than maxSize
// bytes; maxSize <= 0 means MaxDocumentSize.
func NewDecoder(maxSize int) *Decoder {
	if maxSize <= 0 {
		maxSize = MaxDocumentSize
	}
	return &Decoder{maxSize: maxSize}
}

// Decode validates doc and appends the segments it holds to dst: one for a
// segment or independent subsegment document, one per element for a JSON array
// of subsegments. On a rejected document it returns dst unchanged and a *Error.
//
// Segment.Raw aliases doc for object documents, less any surrounding
// whitespace (callers give Decode a slice they own and will not modify); for
// array documents it aliases each element's bytes. Every other field of the
// result is independent of doc and of d.
func (d *Decoder) Decode(dst []Segment, doc []byte) ([]Segment, error) {
	return d.decode(dst, doc, true)
}

// DecodeWritten is Decode for a document this program wrote itself with an
// encoder that only emits strict JSON (the OTLP translator): it skips the
// strict-JSON validation pass, which costs about a quarter of decoding such
// a document, and decodes it exactly as Decode does otherwise. Documents
// from outside must go through Decode.
func (d *Decoder) DecodeWritten(dst []Segment, doc []byte) ([]Segment, error) {
	return d.decode(dst, doc, false)
}

func (d *Decoder) decode(dst []Segment, doc []byte, validate bool) ([]Segment, error) {
	limit := d.maxSize
	if limit <= 0 {
		limit = MaxDocumentSize
	}
	if len(doc) > limit {
		return dst, &Error{Code: CodeSegmentTooLarge,
			Message: fmt.Sprintf("document is %d bytes; the limit is %d", len(doc), limit)}
	}
	// The parser alone is lenient (it takes NaN, bare control characters,
	// malformed numbers); the validator makes sure we never store, and later
	// serve, a document that strict JSON clients cannot read.
	if validate {
		if err := fastjson.ValidateBytes(doc); err != nil {
			return dst, invalidJSON(doc, err)
		}
		// fastjson v1.6.10's validator only checks the part of a string after
		// its last escape sequence for raw control characters; strings without
		// escapes are fully checked, so only documents with a backslash need a
		// second look.
		if bytes.IndexByte(doc, '\\') >= 0 && controlInString(doc) {
			return dst, invalidJSON(doc, errControlChar)
		}
	}
	v, err := d.parser.ParseBytes(doc)
	if err != nil {
		return dst, parseFailure(doc, err)
	}
	d.ids.reset()
	d.strs.reset()
	d.root = nil
	defer d.release()

	switch v.Type() {
	case fastjson.TypeObject:
		d.elem = -1
		o, _ := v.Object()
		seg, e := d.decodeDocument(o, trimSpace(doc))
		if e != nil {
			return dst, e
		}
		return append(dst, seg), nil
	case fastjson.TypeArray:
		return d.decodeArray(dst, v, doc)
	default:
		return dst, &Error{Code: CodeInvalidSegment,
			Message: "document must be a JSON object or an array of subsegment objects, found " + typeName(v)}
	}
}

// decodeArray decodes a PutTraceSegments array of independent subsegments.
// It is all or nothing: one bad element rejects the document.
func (d *Decoder) decodeArray(dst []Segment, v *fastjson.Value, doc []byte) ([]Segment, error) {
	elems, _ := v.Array()
	if len(elems) == 0 {
		return dst, &Error{Code: CodeInvalidSegment, Message: "document is an empty array; expected subsegment objects"}
	}
	spans := splitArray(doc, make([]span, 0, len(elems)))
	orig := dst
	// reject returns dst as the caller gave it, and drops the references the
	// elements decoded so far left in its spare capacity.
	reject := func(e *Error) ([]Segment, error) {
		clear(dst[len(orig):])
		return orig, e
	}
	for i, ev := range elems {
		d.elem = i
		d.root = nil
		o, err := ev.Object()
		if err != nil || i >= len(spans) {
			return reject(&Error{Code: CodeInvalidSegment,
				Message: fmt.Sprintf("[%d]: expected a subsegment object, found %s", i, typeName(ev))})
		}
		seg, e := d.decodeDocument(o, doc[spans[i].start:spans[i].end])
		if e != nil {
			return reject(e)
		}
		dst = append(dst, seg)
	}
	return dst, nil
}

// docHeader collects the fields that only matter on a document's root.
type docHeader struct {
	traceID     xrayid.TraceID
	parentID    xrayid.SegmentID
	hasTraceID  bool
	independent bool
	links       []Link
}

// decodeDocument decodes one segment or independent subsegment object.
func (d *Decoder) decodeDocument(o *fastjson.Object, raw []byte) (Segment, *Error) {
	d.root = o
	// Entities escape into the result, so they get a fresh slice per
	// document. Sizing it with a walk of the parse tree is cheaper than
	// filling reused scratch space and copying the ~560-byte entities out
	// (and clearing it after), which costs write barriers while the GC runs.
	d.ents = make([]Entity, 0, countEntities(o))
	d.pos = d.pos[:0]
	d.repairs = d.repairs[:0]
	d.arena.Reset()
	var hdr docHeader
	if e := d.decodeEntity(o, -1, 0, &hdr); e != nil {
		return Segment{}, e
	}
	ents := d.ents
	d.ents = nil
	var repairs []Repair
	if len(d.repairs) > 0 {
		// The document is stored as repaired, with a note of the repairs.
		raw = d.noteRepairs(o)
		repairs = append(repairs, d.repairs...)
	}
	return Segment{
		Repairs:     repairs,
		Raw:         raw,
		TraceID:     hdr.traceID,
		ParentID:    hdr.parentID,
		Independent: hdr.independent,
		Entities:    ents,
		Links:       hdr.links,
	}, nil
}

// release drops the decoder's references to the last document, so an idle
// decoder does not pin it.
func (d *Decoder) release() {
	d.ents = nil
	d.root = nil
}

// countEntities counts o and its nested subsegments. It is only a capacity
// hint: shapes decodeEntity rejects are counted loosely.
func countEntities(o *fastjson.Object) int {
	n := 1
	if sv := o.Get("subsegments"); sv != nil {
		subs, _ := sv.Array()
		for _, s := range subs {
			if so, err := s.Object(); err == nil {
				n += countEntities(so)
			}
		}
	}
	return n
}
