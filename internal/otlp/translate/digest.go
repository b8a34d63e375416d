package translate

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The translator fills the segment decoder's digest (segment.Entity and the
// document's header) while it writes a document, so that the document it has
// just written is not parsed again: parsing it cost about as much as writing
// it. The segment decoder stays the one definition of the digest: every
// segment built this way must equal what (*segment.Decoder).DecodeWritten
// makes of its Raw, which TestDigestMatchesDecoder and FuzzTranslate check.
// Whatever the digest cannot vouch for goes through the decoder instead:
// a string that is not valid UTF-8 (jsonenc writes U+FFFD for its bad
// bytes), a document over the size limit, a synthetic segment ID that
// collides with a span's, and the retries of a document the decoder refused.
//
// The digest's strings are the span's own: pdata copies every string out of
// the request body when it decodes it (string(buf[i:j])), so they stay valid
// after the request. A zero-copy decoding of the body (strings aliasing a
// reused buffer) would have to copy them here first.

// digest is the decoded form of the document being written.
type digest struct {
	on   bool // building it for the document being written
	slow bool // decode the document instead
	ents []segment.Entity
	cur  int32 // index in ents of the entity being written; -1 outside the root

	traceID     xrayid.TraceID
	parentID    xrayid.SegmentID
	independent bool
	links       []segment.Link

	synth   bool // the root is a synthetic service segment with ID synthID
	synthID [8]byte
}

// startDigest begins the digest of a document whose root is span r, unless the
// translator is retrying a refused document (single or trim mode), where
// the decoder decides.
func (t *Translator) startDigest(r int) {
	g := &t.dg
	*g = digest{on: !t.single && !t.trim && !t.noDigest, cur: -1}
	if g.on {
		// Entities escape into the result: a fresh slice per document,
		// sized for the root, its children and a service segment above
		// them (deeper spans grow it).
		n := 1 + len(t.children[r])
		if k := t.spans[r].span.Kind(); t.spans[r].entry && (k == ptrace.SpanKindClient || k == ptrace.SpanKindProducer) {
			n++
		}
		g.ents = make([]segment.Entity, 0, n)
	}
}

// beginEntity adds an entity nested in the current one and makes it
// current; endEntity(prev) goes back to the parent.
func (t *Translator) beginEntity() (prev int32) {
	g := &t.dg
	if !g.on {
		return 0
	}
	prev = g.cur
	g.cur = int32(len(g.ents))
	g.ents = append(g.ents, segment.Entity{Parent: prev})
	return prev
}

func (t *Translator) endEntity(prev int32) {
	if t.dg.on {
		t.dg.cur = prev
	}
}

// ent is the entity being written, or nil without a digest. The pointer is
// only good until the next beginEntity (nested entities grow the slice).
func (t *Translator) ent() *segment.Entity {
	if !t.dg.on {
		return nil
	}
	return &t.dg.ents[t.dg.cur]
}

// dstr is s as the decoder would read it back from the document, as long
// as jsonenc writes it unchanged; otherwise the document is decoded.
func (t *Translator) dstr(s string) string {
	if !utf8.ValidString(s) {
		t.dg.slow = true
	}
	return s
}

// digestSegment returns the digest as the decoded segment of raw, or false when
// the document has to be decoded.
func (t *Translator) digestSegment(raw []byte) (segment.Segment, bool) {
	g := &t.dg
	if !g.on || g.slow || len(raw) > MaxDocumentSize || len(g.ents) == 0 || g.synth && t.docIDs[g.synthID] {
		return segment.Segment{}, false
	}
	seg := segment.Segment{
		Raw:         raw,
		TraceID:     g.traceID,
		ParentID:    g.parentID,
		Independent: g.independent,
		Entities:    g.ents,
		Links:       g.links,
	}
	g.ents, g.links = nil, nil
	return seg, true
}

func segmentID(id [8]byte) xrayid.SegmentID {
	return xrayid.SegmentID(binary.BigEndian.Uint64(id[:]))
}

// appendSecondsValue is appendSeconds that also returns the number the
// decoder reads back. For times before 2106 the division is that number
// already: float64(us)/1e6 is the double nearest us/1e6, its six-decimal
// text is us/1e6 exactly (half its ulp is below 5e-7), and parsing that
// text gives the nearest double again. Later times are parsed.
func appendSecondsValue(b []byte, ns uint64) ([]byte, float64) {
	n := len(b)
	b = appendSeconds(b, ns)
	us := ns / 1000
	f := float64(us) / 1e6
	if us >= 1<<52 || f >= 1<<32 {
		f, _ = strconv.ParseFloat(string(b[n:]), 64)
	}
	return b, f
}
