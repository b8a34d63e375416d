package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// A frame value is a codec byte followed by the codec's encoding of the
// payload. The payload of codecZstd (version 1) is, before compression:
//
//	uvarint nRuns, uvarint nRecords
//	per run:    uvarint count, traceRef
//	per record: uvarint len(doc)
//	per record: segmentRef
//	varint base = min(received), then per record: uvarint(received − base)
//	the documents, concatenated
//
// A run is one trace's consecutive records; records are sorted by trace.
// IDs are stored by reference when the document contains them (it nearly
// always does): uvarint(offset+1) of their text form in the document (the
// run's first document for a trace ID), else 0 followed by the raw bytes (16
// for a trace ID, 8 for a segment ID). This saves 8 random, incompressible
// bytes per record, and the trace IDs make a frame self-describing.
//
// Columns come before documents because they are small and alike: zstd
// compresses them best side by side.
const codecZstd byte = 1

// Frame size limits. Decoding refuses frames that claim more: a corrupted or
// hostile value must not make the reader allocate without bound.
const (
	maxDocSize      = 32 << 20
	maxFrameRawSize = 64 << 20
)

// errCorrupt marks data that cannot be what this build wrote: frames, index
// and summary values.
var errCorrupt = errors.New("corrupt data")

// run is one trace's records inside a frame: recs[start : start+count].
type run struct {
	start, count int
	trace        idRef
}

// frameRecord is a record inside a decoded frame; doc aliases the payload.
type frameRecord struct {
	received int64
	doc      []byte
	id       idRef
}

// idRef is an ID as stored: raw bytes, or the offset+1 of its text in a
// document. References are resolved only for the records a lookup returns.
type idRef struct {
	off uint64
	raw []byte
}

// frame is a decoded frame.
type frame struct {
	runs []run
	recs []frameRecord
}

// trace returns the trace ID of run i.
func (f *frame) trace(i int) (xrayid.TraceID, error) {
	r := f.runs[i].trace
	if r.raw != nil {
		return xrayid.TraceID(r.raw), nil
	}
	doc := f.recs[f.runs[i].start].doc
	if r.off > uint64(len(doc)) || uint64(len(doc))-r.off < xrayid.TraceIDLen-1 {
		return xrayid.TraceID{}, fmt.Errorf("%w: run %d: trace ID reference %d outside its %d-byte document", errCorrupt, i, r.off, len(doc))
	}
	id, err := xrayid.ParseTraceID(doc[r.off-1 : r.off-1+xrayid.TraceIDLen])
	if err != nil {
		return xrayid.TraceID{}, fmt.Errorf("%w: run %d: trace ID reference: %v", errCorrupt, i, err)
	}
	return id, nil
}

// segmentID returns the segment ID of record i. The zero ID is valid here:
// the writer stores whatever ID the record carried.
func (f *frame) segmentID(i int) (xrayid.SegmentID, error) {
	r, doc := f.recs[i].id, f.recs[i].doc
	if r.raw != nil {
		return xrayid.SegmentID(binary.BigEndian.Uint64(r.raw)), nil
	}
	if r.off > uint64(len(doc)) || uint64(len(doc))-r.off < 15 {
		return 0, fmt.Errorf("%w: record %d: segment ID reference %d outside its %d-byte document", errCorrupt, i, r.off, len(doc))
	}
	var b [8]byte
	if err := hexDecode(b[:], doc[r.off-1:r.off-1+16]); err != nil {
		return 0, fmt.Errorf("%w: record %d: segment ID reference: %v", errCorrupt, i, err)
	}
	return xrayid.SegmentID(binary.BigEndian.Uint64(b[:])), nil
}

// appendPayload appends the uncompressed payload of recs, which must be
// sorted by trace ID, and returns the trace of each run in order.
func appendPayload(dst []byte, recs []*store.Record, runs []xrayid.TraceID) ([]byte, []xrayid.TraceID) {
	runs = runs[:0]
	counts := make([]int, 0, 8)
	firsts := make([]int, 0, 8)
	for i, r := range recs {
		if i == 0 || r.TraceID != recs[i-1].TraceID {
			runs = append(runs, r.TraceID)
			counts = append(counts, 0)
			firsts = append(firsts, i)
		}
		counts[len(counts)-1]++
	}

	dst = binary.AppendUvarint(dst, uint64(len(runs)))
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	var text [xrayid.TraceIDLen]byte
	for i, id := range runs {
		dst = binary.AppendUvarint(dst, uint64(counts[i]))
		dst = appendRef(dst, recs[firsts[i]].Doc, id.Append(text[:0]), id[:])
	}
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, uint64(len(r.Doc)))
	}
	var hexID [16]byte
	var rawID [8]byte
	for _, r := range recs {
		binary.BigEndian.PutUint64(rawID[:], uint64(r.ID))
		dst = appendRef(dst, r.Doc, r.ID.Append(hexID[:0]), rawID[:])
	}
	base := recs[0].Received
	for _, r := range recs[1:] {
		base = min(base, r.Received)
	}
	dst = binary.AppendVarint(dst, base)
	for _, r := range recs {
		// Wrapping subtraction: the difference from the minimum always fits.
		dst = binary.AppendUvarint(dst, uint64(r.Received)-uint64(base))
	}
	for _, r := range recs {
		dst = append(dst, r.Doc...)
	}
	return dst, runs
}

// appendRef writes where text occurs in doc, or raw when it does not.
func appendRef(dst, doc, text, raw []byte) []byte {
	if i := bytes.Index(doc, text); i >= 0 {
		return binary.AppendUvarint(dst, uint64(i)+1)
	}
	return append(append(dst, 0), raw...)
}

// decodePayload parses an uncompressed payload. The frame's documents alias
// p. ID references are checked when resolved, by frame.trace and
// frame.segmentID.
func decodePayload(p []byte) (*frame, error) {
	d := payloadReader{b: p}
	nRuns := d.count("run count", len(p))
	nRecs := d.count("record count", len(p))
	if d.err == nil && (nRuns > nRecs || (nRecs > 0 && nRuns == 0)) {
		d.fail("%d runs for %d records", nRuns, nRecs)
	}
	if d.err != nil {
		return nil, d.err
	}
	f := &frame{runs: make([]run, nRuns), recs: make([]frameRecord, nRecs)}
	start := 0
	for i := range f.runs {
		n := d.count("run length", nRecs-start)
		if n == 0 && d.err == nil {
			d.fail("run %d is empty", i)
		}
		f.runs[i] = run{start: start, count: n, trace: d.ref(16)}
		start += n
	}
	if d.err == nil && start != nRecs {
		d.fail("runs cover %d of %d records", start, nRecs)
	}
	docLens := make([]int, nRecs)
	total := 0
	for i := range docLens {
		docLens[i] = d.count("document length", len(p))
		total += docLens[i]
	}
	for i := range f.recs {
		f.recs[i].id = d.ref(8)
	}
	base := d.varint()
	for i := range f.recs {
		f.recs[i].received = int64(uint64(base) + d.uvarint())
	}
	if d.err != nil {
		return nil, d.err
	}
	docs := d.b
	if total != len(docs) {
		return nil, fmt.Errorf("%w: documents take %d bytes, %d remain", errCorrupt, total, len(docs))
	}
	for i, n := range docLens {
		f.recs[i].doc = docs[:n:n]
		docs = docs[n:]
	}
	return f, nil
}

func hexDecode(dst, src []byte) error {
	for i := range dst {
		hi, ok1 := hexValue(src[2*i])
		lo, ok2 := hexValue(src[2*i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("%q is not lowercase hex", src)
		}
		dst[i] = hi<<4 | lo
	}
	return nil
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// payloadReader reads varints and remembers the first error, so that parsing
// code reads straight through and checks once.
type payloadReader struct {
	b   []byte
	err error
}

func (d *payloadReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
	}
}

func (d *payloadReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint with %d bytes left", len(d.b))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *payloadReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint with %d bytes left", len(d.b))
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a uvarint that must not exceed limit.
func (d *payloadReader) count(what string, limit int) int {
	v := d.uvarint()
	if v > uint64(limit) {
		d.fail("%s %d exceeds %d", what, v, limit)
		return 0
	}
	return int(v)
}

// ref reads an ID reference: an offset+1, or 0 and n raw bytes.
func (d *payloadReader) ref(n int) idRef {
	off := d.uvarint()
	if off != 0 || d.err != nil {
		return idRef{off: off}
	}
	if len(d.b) < n {
		d.fail("raw ID needs %d bytes, %d left", n, len(d.b))
		return idRef{}
	}
	raw := d.b[:n:n]
	d.b = d.b[n:]
	return idRef{raw: raw}
}
