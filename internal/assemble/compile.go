// Package assemble turns the stored documents of a trace into what the X-Ray
// API returns: the read side (package summarize is the write side,
// docs/architecture.md).
//
// The store keeps every document as it arrived (duplicates, superseded
// in-progress versions, subsegments streamed on their own); Compile resolves
// them at read time into the top-level segments of BatchGetTraces, with
// streamed subsegments nested into their parents and inferred segments added
// for downstream calls. Segment documents, in-progress segments and inferred
// segments: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
// and https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-inferred;
// Lambda's segments: https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html.
package assemble

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/counterspy/counterspy/internal/resolve"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// CompileOptions tunes Compile.
type CompileOptions struct {
	// MaxTraceBytes caps the summed size of the compiled documents; 0 or less
	// means no cap. Past it the latest-arriving documents are left out, as if
	// they had never arrived (X-Ray rejects segments once a trace is full),
	// and Compiled.LimitExceeded is set.
	MaxTraceBytes int
}

// Compiled is one trace as BatchGetTraces returns it.
type Compiled struct {
	ID xrayid.TraceID
	// Duration is the last end minus the earliest start over every segment
	// and subsegment returned, inferred segments excluded, in seconds.
	// In-progress entities count with their start only.
	Duration      float64
	LimitExceeded bool
	// Segments holds one entry per top-level segment, real and inferred,
	// ordered by start time then ID.
	Segments []Segment
	// Skipped counts stored documents that could not be read (not a JSON
	// object, invalid JSON, no valid "id") and were left out.
	Skipped int
}

// Segment is one top-level document. Document is the stored bytes, shared
// with the store.Trace that was compiled, when nothing had to change; otherwise
// it is a new document with streamed subsegments spliced in, every other byte
// kept as sent.
type Segment struct {
	ID       xrayid.SegmentID
	Document []byte
}

// ErrNoDocuments is returned (wrapped) when a trace has no readable document.
var ErrNoDocuments = errors.New("no readable document")

var compilers = sync.Pool{New: func() any { return new(Compiler) }}

// Compile resolves the documents of one trace into the segments BatchGetTraces
// returns. It uses a pooled Compiler; see Compiler.Compile.
func Compile(t *store.Trace, opts CompileOptions) (*Compiled, error) {
	c := compilers.Get().(*Compiler)
	res, err := c.Compile(t, opts)
	c.release()
	compilers.Put(c)
	return res, err
}

// release drops what a pooled Compiler should not keep: references to the
// compiled trace's bytes, and buffers grown by an unusually large trace.
func (c *Compiler) release() {
	clear(c.docs)
	clear(c.out)
	c.r.Release()
	if cap(c.buf) > 1<<20 {
		c.buf = nil
	}
}

// Compiler compiles traces, keeping its working memory between calls. It is
// not safe for concurrent use; the zero value is ready.
type Compiler struct {
	// Scan results, one entry per readable document.
	docs    []docView
	ents    []entView
	members []memberView
	mstack  []memberView
	elems   []elemView
	estack  []elemView
	tmp     []byte

	// Resolution of the current build (package resolve), and what
	// rendering adds to it.
	r          resolve.Resolver
	es         []entState
	segParents map[xrayid.SegmentID]bool // parent_id of every real segment
	kids       []kid
	inferred   []int32 // entities that get an inferred segment

	minStart, maxEnd float64
	hasStart         bool

	// Rendered output of the current build.
	buf []byte
	out []outDoc
}

type outDoc struct {
	id    xrayid.SegmentID
	start float64
	alias []byte // stored bytes returned as they are, or
	off   int32  // a range of buf
	n     int32
}

// Compile resolves the documents of t by the rule of package resolve.
// Documents that cannot be read are skipped and counted in Compiled.Skipped;
// the error (wrapping ErrNoDocuments) is returned only when no document of t
// can be read. The result does not refer to c's memory; it may share bytes
// with t.
func (c *Compiler) Compile(t *store.Trace, opts CompileOptions) (*Compiled, error) {
	if t == nil {
		return nil, errors.New("assemble: compile: nil trace")
	}
	c.docs, c.ents, c.members, c.elems = c.docs[:0], c.ents[:0], c.members[:0], c.elems[:0]
	res := &Compiled{ID: t.ID}
	var firstErr error
	for i := range t.Records {
		if err := c.scanDoc(t.Records[i].Doc); err != nil {
			res.Skipped++
			if firstErr == nil {
				firstErr = fmt.Errorf("record %d (segment %s): %w", i, t.Records[i].ID, err)
			}
		}
	}
	if len(c.docs) == 0 {
		if firstErr == nil {
			firstErr = errors.New("trace has no records")
		}
		return nil, fmt.Errorf("assemble: compile trace %s: %w: %w", t.ID, ErrNoDocuments, firstErr)
	}

	n := len(c.docs)
	c.fillResolver()
	c.build(t.ID, n)
	if limit := opts.MaxTraceBytes; limit > 0 && c.size() > limit {
		// Keep the longest prefix of arrivals that fits. Zero documents
		// always fit; the size grows with the prefix, except for rare
		// shrinking updates, so the search is exact in practice and the
		// result always fits.
		res.LimitExceeded = true
		lo, hi := 0, n
		for hi-lo > 1 {
			mid := int(uint(lo+hi) / 2)
			if c.build(t.ID, mid); c.size() <= limit {
				lo = mid
			} else {
				hi = mid
			}
		}
		c.build(t.ID, lo)
	}
	c.finish(res)
	return res, nil
}

func (c *Compiler) size() int {
	n := 0
	for _, o := range c.out {
		n += len(o.alias) + int(o.n)
	}
	return n
}

// finish copies the current build into res, sorted, owning its rendered bytes.
func (c *Compiler) finish(res *Compiled) {
	if c.hasStart && c.maxEnd > c.minStart {
		res.Duration = c.maxEnd - c.minStart
	}
	slices.SortFunc(c.out, func(a, b outDoc) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	owned := slices.Clone(c.buf)
	res.Segments = make([]Segment, len(c.out))
	for i, o := range c.out {
		doc := o.alias
		if doc == nil {
			doc = owned[o.off : o.off+o.n : o.off+o.n]
		}
		res.Segments[i] = Segment{ID: o.id, Document: doc}
	}
}
